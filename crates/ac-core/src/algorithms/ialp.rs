//! iALP, offline: the policy is pre-trained in the world the preference
//! model imagines, then deployed.
//!
//! 1. Logged transitions (s, a, r, s') of the training users, optionally: a
//!    few epochs of TD(0) actor-critic steps, y = r + gamma (1 - done) V(s'),
//!    A = y - V(s). Without a reward model this is the whole algorithm: the
//!    "offline pre-training on logs only" baseline.
//! 2. The imagined world (`imagined.rs`): users start from the logged states
//!    of training users, are rewarded by r_phi (the reward model learnt from
//!    the LLM's preferences, mapped onto the logged feedback's scale by an
//!    isotonic fit on the logs) and leave by the environment's quit model
//!    (boredom with a category, low satisfaction, a cap). The same batched
//!    environment and the same A2C as online train the policy there for
//!    `episodes` episodes: the one place the policy can learn what keeps users
//!    (diversity, when to change the subject), which logged users never show.
//!
//! Nothing here reads the simulator's reward function: r_phi knows only the
//! LLM's labels and the logged feedback.

use crate::a2c::{A2c, A2cConfig};
use crate::compute::build_backend;
use crate::encoder::StateEncoder;
use crate::gae::standardize;
use crate::imagined::{Calibrated, ImaginedWorld, UserModel};
use crate::net::{AcBackend, UpdateBatch};
use crate::policy::{Policy, PolicyMeta};
use crate::reward_model::RewardModel;
use ialp_sim::error::check_range;
use ialp_sim::logged::LoggedData;
use ialp_sim::{
    default_quit, AnyWorld, BatchConfig, BatchEnv, Error, QuitSpec, Result, Rng, VecEnv,
};
use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct IalpConfig {
    /// Networks, optimiser, discount and losses, as online.
    pub a2c: A2cConfig,
    /// Step 1, passes over the logs (0 = none); each draws
    /// `transitionsPerEpoch` logged transitions, in minibatches of `batchSize`.
    pub epochs: usize,
    pub transitions_per_epoch: usize,
    pub batch_size: usize,
    /// Step 2, A2C in the imagined world until `episodes` imagined episodes
    /// have ended or `steps` imagined user-steps were taken, whichever comes
    /// first (`episodes` 0 = logs only; `steps` 0 = no step budget).
    pub episodes: usize,
    pub steps: usize,
    /// Imagined users stepped together.
    pub users: usize,
    /// Random items already in an imagined user's observation at arrival, as
    /// online (the environment's default, 3).
    pub warm_start: usize,
    /// Map r_phi's scores onto the logged feedback's scale (isotonic fit on
    /// the logs); off, the imagined rewards are r_phi's probabilities.
    pub calibrate: bool,
    /// The quit model imagined users leave by; fields left out take the
    /// environment's defaults.
    pub quit: QuitSpec,
    pub seed: u64,
}

impl Default for IalpConfig {
    fn default() -> Self {
        IalpConfig {
            a2c: A2cConfig::default(),
            epochs: 0,
            transitions_per_epoch: 8192,
            batch_size: 256,
            episodes: 3000,
            steps: 0,
            users: 64,
            warm_start: BatchConfig::default().warm_start,
            calibrate: true,
            quit: QuitSpec::default(),
            seed: 0,
        }
    }
}

/// Logged transitions the calibration of r_phi reads at most.
const CALIBRATION_ROWS: usize = 20_000;
/// Most imagined episodes one pre-training may ask for.
pub const MAX_EPISODES: usize = 10_000_000;

impl IalpConfig {
    pub fn validate(&self) -> Result<()> {
        self.a2c.validate()?;
        use ialp_sim::limits::{check_int, MAX_BATCH, MAX_EPOCHS, MAX_TRANSITIONS};
        check_int("ialp.epochs", self.epochs, 0, MAX_EPOCHS)?;
        check_int(
            "ialp.transitionsPerEpoch",
            self.transitions_per_epoch,
            1,
            MAX_TRANSITIONS,
        )?;
        check_int("ialp.batchSize", self.batch_size, 1, MAX_BATCH)?;
        check_range(
            "ialp.episodes",
            self.episodes as f64,
            0.0,
            MAX_EPISODES as f64,
        )?;
        check_range("ialp.steps", self.steps as f64, 0.0, 1e12)?;
        check_range("ialp.users", self.users as f64, 1.0, 65_536.0)?;
        check_range("ialp.warmStart", self.warm_start as f64, 0.0, 4096.0)?;
        // the imagined world's rollout buffer holds nSteps x users transitions
        let rows = ialp_sim::limits::checked_product(
            "a2c.nSteps x ialp.users",
            &[self.a2c.n_steps, self.users],
            MAX_TRANSITIONS,
        )?;
        // each update passes its rows through both towers
        self.a2c.net.check_rows("a2c.nSteps x ialp.users", rows)?;
        self.a2c.net.check_rows("ialp.batchSize", self.batch_size)
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct PretrainStats {
    pub epochs: usize,
    pub updates: u64,
    pub logged_transitions: usize,
    /// Imagined user-steps the policy trained on.
    pub augmented_transitions: usize,
    pub imagined_episodes: usize,
    /// Mean imagined return of the last tenth of the imagined episodes.
    pub imagined_return: Option<f32>,
    /// Mean total loss of the last epoch or update.
    pub last_loss: f32,
}

/// Transitions of one epoch, rows of H items each.
#[derive(Default)]
struct Batch {
    hist_items: Vec<u32>,
    hist_rewards: Vec<f32>,
    actions: Vec<u32>,
    rewards: Vec<f32>,
    dones: Vec<u8>,
}

/// The state after (item, reward): the history shifted left by one.
fn shifted(
    items: &[u32],
    rewards: &[f32],
    item: u32,
    reward: f32,
    out_i: &mut Vec<u32>,
    out_r: &mut Vec<f32>,
) {
    out_i.extend_from_slice(&items[1..]);
    out_i.push(item);
    out_r.extend_from_slice(&rewards[1..]);
    out_r.push(reward);
}

/// One pass of TD(0) actor-critic steps over the transitions of `b`, in a
/// shuffled order; returns the mean loss and the number of steps.
fn logged_epoch(
    cfg: &IalpConfig,
    net: &mut dyn AcBackend,
    encoder: &StateEncoder,
    b: &Batch,
    h: usize,
    rng: &mut Rng,
) -> Result<(f32, u64)> {
    let od = encoder.out_dim();
    let rows = b.actions.len();
    let mut order: Vec<usize> = (0..rows).collect();
    for i in (1..rows).rev() {
        order.swap(i, rng.below(i as u32 + 1) as usize);
    }
    let (mut loss_sum, mut batches) = (0f32, 0u64);
    for chunk in order.chunks(cfg.batch_size) {
        let m = chunk.len();
        let (mut si, mut sr, mut ni, mut nr) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for &j in chunk {
            let (items, rewards) = (
                &b.hist_items[j * h..(j + 1) * h],
                &b.hist_rewards[j * h..(j + 1) * h],
            );
            si.extend_from_slice(items);
            sr.extend_from_slice(rewards);
            shifted(items, rewards, b.actions[j], b.rewards[j], &mut ni, &mut nr);
        }
        let (mut xs, mut xn) = (vec![0f32; m * od], vec![0f32; m * od]);
        encoder.encode(&si, &sr, &mut xs)?;
        encoder.encode(&ni, &nr, &mut xn)?;
        let view = |x| ArrayView2::from_shape((m, od), x).map_err(|e| Error::new(e.to_string()));
        let vs = net.values(view(&xs)?);
        let vn = net.values(view(&xn)?);
        let gamma = cfg.a2c.gamma;
        // y = r + gamma (1 - done) V(s'); A = y - V(s)
        let returns: Vec<f32> = chunk
            .iter()
            .enumerate()
            .map(|(k, &j)| b.rewards[j] + gamma * (1.0 - b.dones[j] as f32) * vn[k])
            .collect();
        let mut adv: Vec<f32> = returns.iter().zip(vs.iter()).map(|(y, v)| y - v).collect();
        if cfg.a2c.normalize_advantages {
            standardize(&mut adv);
        }
        let actions: Vec<u32> = chunk.iter().map(|&j| b.actions[j]).collect();
        let s = net.update(
            &UpdateBatch {
                obs: &xs,
                actions: &actions,
                advantages: &adv,
                returns: &returns,
            },
            &cfg.a2c.loss,
        );
        if !s.total.is_finite() {
            return Err(Error::new(format!(
                "iALP pre-training on the logs diverged (lower a2c.adam.lr = {})",
                cfg.a2c.adam.lr
            )));
        }
        loss_sum += s.total;
        batches += 1;
    }
    Ok((loss_sum / batches.max(1) as f32, batches))
}

/// The batched environment of the world `model` imagines over `world`'s
/// items, with `world`'s quit model (as `cfg.quit` amends it).
pub fn imagined_env(
    cfg: &IalpConfig,
    world: &AnyWorld,
    logged: &LoggedData,
    model: Box<dyn UserModel>,
) -> Result<Box<dyn VecEnv>> {
    let imagined = ImaginedWorld::new(world.clone(), model, logged)?;
    let quit = cfg.quit.resolve(&default_quit(world.env_name()));
    let batch = BatchConfig {
        batch_size: cfg.users,
        history: logged.history,
        warm_start: cfg.warm_start.min(logged.history),
        auto_reset: true,
        seed: cfg.seed,
        threads: 1,
    };
    Ok(Box::new(BatchEnv::new(Arc::new(imagined), quit, batch)?))
}

/// Pre-trains a policy on `logged` transitions of `world` and, when
/// `reward_model` is given, in the world it imagines. `progress(step, loss)`
/// (after every epoch, then every imagined update) returning false stops.
pub fn pretrain(
    cfg: &IalpConfig,
    world: &AnyWorld,
    logged: &LoggedData,
    reward_model: Option<&RewardModel>,
    progress: &mut dyn FnMut(usize, f32) -> bool,
) -> Result<(Policy, PretrainStats)> {
    let model: Option<Box<dyn UserModel>> = match reward_model {
        None => None,
        Some(rm) => {
            check_fits(rm, world, logged.history)?;
            Some(Box::new(if cfg.calibrate && !logged.is_empty() {
                Calibrated::on_logs(rm.clone(), logged, CALIBRATION_ROWS)?
            } else {
                Calibrated {
                    model: rm.clone(),
                    calibration: None,
                }
            }))
        }
    };
    pretrain_with(cfg, world, logged, model, progress)
}

fn check_fits(rm: &RewardModel, world: &AnyWorld, h: usize) -> Result<()> {
    let n = world.world().n_items();
    if rm.encoder.history != h || rm.encoder.n_items != n {
        return Err(Error::new(format!(
            "reward model was fitted for {} items and history {}, the data has {n} and {h}",
            rm.encoder.n_items, rm.encoder.history
        )));
    }
    Ok(())
}

/// As [`pretrain`], with any model of users imagining the world.
pub fn pretrain_with(
    cfg: &IalpConfig,
    world: &AnyWorld,
    logged: &LoggedData,
    model: Option<Box<dyn UserModel>>,
    progress: &mut dyn FnMut(usize, f32) -> bool,
) -> Result<(Policy, PretrainStats)> {
    cfg.validate()?;
    if logged.is_empty() {
        return Err(Error::new("iALP pre-training: no logged transitions"));
    }
    let imagine = model.is_some() && cfg.episodes > 0;
    if cfg.epochs == 0 && !imagine {
        return Err(Error::new(
            "iALP pre-training: nothing to learn from (ialp.epochs is 0 and there is no imagined world: give a reward model and ialp.episodes > 0)",
        ));
    }
    let h = logged.history;
    let w = world.world();
    let encoder = StateEncoder::new(h, w.n_items(), w.item_features().to_vec())?;
    let mut net = build_backend(
        &cfg.a2c,
        encoder.out_dim(),
        encoder.item_features.clone(),
        w.n_items(),
        cfg.seed,
    )?;
    let mut rng = Rng::stream(cfg.seed, 0x1A_1900_0000_0000);
    let mut stats = PretrainStats {
        logged_transitions: logged.len(),
        ..Default::default()
    };
    // 1. the logs
    for epoch in 0..cfg.epochs {
        let n = cfg.transitions_per_epoch.min(logged.len());
        let mut b = Batch::default();
        for _ in 0..n {
            let t = rng.below(logged.len() as u32) as usize;
            b.hist_items
                .extend_from_slice(&logged.hist_items[t * h..(t + 1) * h]);
            b.hist_rewards
                .extend_from_slice(&logged.hist_rewards[t * h..(t + 1) * h]);
            b.actions.push(logged.actions[t]);
            b.rewards.push(logged.rewards[t]);
            b.dones.push(logged.dones[t]);
        }
        let (loss, updates) = logged_epoch(cfg, net.as_mut(), &encoder, &b, h, &mut rng)?;
        stats.epochs = epoch + 1;
        stats.updates += updates;
        stats.last_loss = loss;
        if !progress(epoch + 1, loss) {
            break;
        }
    }
    // 2. the imagined world: A2C as online
    let (encoder, net) = match model.filter(|_| imagine) {
        None => (encoder, net),
        Some(model) => {
            let mut env = imagined_env(cfg, world, logged, model)?;
            let mut learner =
                A2c::with_backend(cfg.a2c.clone(), env.as_ref(), encoder, net, cfg.seed)?;
            let mut returns = Vec::new();
            let budget = if cfg.steps == 0 {
                usize::MAX
            } else {
                cfg.steps
            };
            while returns.len() < cfg.episodes && stats.augmented_transitions < budget {
                let loss = learner.train_rollout(env.as_mut())?;
                stats.updates += 1;
                stats.augmented_transitions += cfg.a2c.n_steps * cfg.users;
                stats.last_loss = loss.total;
                returns.extend(env.drain_episodes().iter().map(|e| e.total_reward));
                if !progress(cfg.epochs + stats.updates as usize, loss.total) {
                    break;
                }
            }
            returns.truncate(cfg.episodes);
            stats.imagined_episodes = returns.len();
            let tail = &returns[returns.len() - returns.len() / 10..];
            stats.imagined_return =
                (!tail.is_empty()).then(|| tail.iter().sum::<f32>() / tail.len() as f32);
            (learner.encoder, learner.backend)
        }
    };
    let meta = PolicyMeta {
        env: world.env_name().to_string(),
        source: world.source(),
        fingerprint: world.fingerprint(),
        n_items: w.n_items(),
        history: h,
        net: cfg.a2c.net.clone(),
        training: serde_json::json!({
            "algorithm": if imagine { "ialp" } else { "offline-ac-logs" },
            "config": cfg,
            "stats": &stats,
        }),
        created_with: format!("ialp-ac-core {}", env!("CARGO_PKG_VERSION")),
    };
    Ok((Policy::new(meta, encoder, net.params())?, stats))
}
