//! iALP, offline: interaction-augmented actor-critic pre-training.
//!
//! The policy learns from two kinds of transitions (s, a, r, s'):
//! - logged ones, the users' real histories (`ialp_sim::logged`);
//! - augmented ones, the policy's exploration in a world the LLM imagines:
//!   short rollouts that start from states of the logs, take actions drawn
//!   from the current policy, are rewarded by the reward model r_phi learnt
//!   from the LLM's preferences (`reward_model.rs`), move to s' = s followed by
//!   (a, r_phi(s, a)), and end where the environment's quit model (boredom
//!   with a category, low satisfaction) says the user would leave: the one
//!   thing logged histories cannot teach, since logged users never quit on a
//!   recommendation. A rollout cut at `rolloutSteps` is not an ending (its
//!   last transition bootstraps from V(s')).
//!
//! Each minibatch takes one actor-critic step: TD(0) targets
//! y = r + gamma (1 - done) V(s'), advantages y - V(s), and the same policy,
//! value and entropy losses as online A2C. Without a reward model this is the
//! "offline pre-training on logs only" baseline.

use crate::a2c::A2cConfig;
use crate::compute::build_backend;
use crate::encoder::StateEncoder;
use crate::gae::standardize;
use crate::net::{AcBackend, UpdateBatch};
use crate::policy::{choose_actions, Policy, PolicyMeta};
use crate::reward_model::RewardModel;
use ialp_sim::error::check_min;
use ialp_sim::logged::LoggedData;
use ialp_sim::{default_quit, AnyWorld, Error, QuitSpec, Result, Rng};
use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct IalpConfig {
    /// Networks, optimiser, discount and losses (`nSteps` is unused offline).
    pub a2c: A2cConfig,
    /// Passes; each draws `transitionsPerEpoch` logged transitions.
    pub epochs: usize,
    pub transitions_per_epoch: usize,
    pub batch_size: usize,
    /// Augmented transitions per logged one (0 = logs only).
    pub augment: usize,
    /// Length cap of an imagined rollout (1 = one-step augmentation).
    pub rollout_steps: usize,
    /// The quit model imagined rollouts end by; fields left out take the
    /// environment's defaults.
    pub quit: QuitSpec,
    pub seed: u64,
}

impl Default for IalpConfig {
    fn default() -> Self {
        IalpConfig {
            a2c: A2cConfig::default(),
            epochs: 10,
            transitions_per_epoch: 8192,
            batch_size: 256,
            augment: 1,
            rollout_steps: 8,
            quit: QuitSpec::default(),
            seed: 0,
        }
    }
}

impl IalpConfig {
    pub fn validate(&self) -> Result<()> {
        self.a2c.validate()?;
        check_min("ialp.epochs", self.epochs, 1)?;
        check_min("ialp.transitionsPerEpoch", self.transitions_per_epoch, 1)?;
        check_min("ialp.batchSize", self.batch_size, 1)?;
        check_min("ialp.rolloutSteps", self.rollout_steps, 1)
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PretrainStats {
    pub epochs: usize,
    pub updates: u64,
    pub logged_transitions: usize,
    pub augmented_transitions: usize,
    /// Mean total loss of the last epoch.
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

/// Appends about `want` imagined transitions to `b`: rollouts of up to
/// `cfg.rollout_steps` steps from random logged states, in batches, until
/// `want` are made. Returns how many were made.
#[allow(clippy::too_many_arguments)]
fn imagine(
    cfg: &IalpConfig,
    world: &AnyWorld,
    encoder: &StateEncoder,
    net: &dyn AcBackend,
    rm: &RewardModel,
    logged: &LoggedData,
    want: usize,
    rng: &mut Rng,
    b: &mut Batch,
) -> Result<usize> {
    let (h, od, w) = (logged.history, encoder.out_dim(), world.world());
    let mut quit = cfg.quit.resolve(&default_quit(world.env_name()));
    quit.validate()?;
    // the cap is the rollout's, and a cut rollout is not an ending
    quit.max_steps = usize::MAX;
    let win = quit.window;
    let rollouts = want.div_ceil(cfg.rollout_steps).max(1);
    let mut made = 0;
    // state of each live rollout: its history and its quit window
    let (mut items, mut rewards) = (
        Vec::with_capacity(rollouts * h),
        Vec::with_capacity(rollouts * h),
    );
    for _ in 0..rollouts {
        let t = rng.below(logged.len() as u32) as usize;
        items.extend_from_slice(&logged.hist_items[t * h..(t + 1) * h]);
        rewards.extend_from_slice(&logged.hist_rewards[t * h..(t + 1) * h]);
    }
    let mut live: Vec<usize> = (0..rollouts).collect();
    let mut win_cats = vec![0u32; rollouts * win];
    let mut win_rewards = vec![0f32; rollouts * win];
    for step in 0..cfg.rollout_steps {
        if live.is_empty() || made >= want {
            break;
        }
        let m = live.len();
        let (mut si, mut sr) = (Vec::with_capacity(m * h), Vec::with_capacity(m * h));
        for &k in &live {
            si.extend_from_slice(&items[k * h..(k + 1) * h]);
            sr.extend_from_slice(&rewards[k * h..(k + 1) * h]);
        }
        let mut x = vec![0f32; m * od];
        encoder.encode(&si, &sr, &mut x)?;
        let view = ArrayView2::from_shape((m, od), &x).map_err(|e| Error::new(e.to_string()))?;
        let (logits, _) = net.forward(view);
        let acts = choose_actions(&logits, rng, false);
        let r = rm.score(&si, &sr, &acts)?;
        let mut next_live = Vec::with_capacity(m);
        for (j, &k) in live.iter().enumerate() {
            let (a, ra) = (acts[j], r[j]);
            let cat = w.item_category(a as usize);
            win_cats[k * win + step % win] = cat;
            win_rewards[k * win + step % win] = ra;
            let filled = (step + 1).min(win);
            let done = quit.should_quit(
                &win_cats[k * win..(k + 1) * win],
                &win_rewards[k * win..(k + 1) * win],
                filled,
                cat,
                step + 1,
            );
            b.hist_items.extend_from_slice(&si[j * h..(j + 1) * h]);
            b.hist_rewards.extend_from_slice(&sr[j * h..(j + 1) * h]);
            b.actions.push(a);
            b.rewards.push(ra);
            b.dones.push(done as u8);
            made += 1;
            // the rollout moves on to s' = s followed by (a, r)
            items.copy_within(k * h + 1..(k + 1) * h, k * h);
            items[(k + 1) * h - 1] = a;
            rewards.copy_within(k * h + 1..(k + 1) * h, k * h);
            rewards[(k + 1) * h - 1] = ra;
            if !done {
                next_live.push(k);
            }
        }
        live = next_live;
    }
    Ok(made)
}

/// Pre-trains a policy on `logged` transitions of `world`, augmented with
/// r_phi when `reward_model` is given. `progress(epoch, loss)` returning false stops.
pub fn pretrain(
    cfg: &IalpConfig,
    world: &AnyWorld,
    logged: &LoggedData,
    reward_model: Option<&RewardModel>,
    progress: &mut dyn FnMut(usize, f32) -> bool,
) -> Result<(Policy, PretrainStats)> {
    cfg.validate()?;
    if logged.is_empty() {
        return Err(Error::new("iALP pre-training: no logged transitions"));
    }
    let h = logged.history;
    let w = world.world();
    let encoder = StateEncoder::new(h, w.n_items(), w.item_features().to_vec())?;
    if let Some(rm) = reward_model {
        if rm.encoder.history != h || rm.encoder.n_items != w.n_items() {
            return Err(Error::new(format!(
                "reward model was fitted for {} items and history {}, the data has {} and {h}",
                rm.encoder.n_items,
                rm.encoder.history,
                w.n_items()
            )));
        }
    }
    let mut net = build_backend(
        &cfg.a2c,
        encoder.out_dim(),
        encoder.item_features.clone(),
        w.n_items(),
        cfg.seed,
    )?;
    let mut rng = Rng::stream(cfg.seed, 0x1A_1900_0000_0000);
    let od = encoder.out_dim();
    let mut stats = PretrainStats {
        logged_transitions: logged.len(),
        ..Default::default()
    };
    for epoch in 0..cfg.epochs {
        // 1. a sample of logged transitions
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
        // 2. augmentation: the policy explores from logged states, r_phi rewards it
        if let (Some(rm), true) = (reward_model, cfg.augment > 0) {
            stats.augmented_transitions += imagine(
                cfg,
                world,
                &encoder,
                net.as_ref(),
                rm,
                logged,
                n * cfg.augment,
                &mut rng,
                &mut b,
            )?;
        }
        // 3. minibatches in a shuffled order, one actor-critic step each
        let rows = b.actions.len();
        let mut order: Vec<usize> = (0..rows).collect();
        for i in (1..rows).rev() {
            order.swap(i, rng.below(i as u32 + 1) as usize);
        }
        let (mut loss_sum, mut batches) = (0f32, 0usize);
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
            let vs = net.values(
                ArrayView2::from_shape((m, od), &xs).map_err(|e| Error::new(e.to_string()))?,
            );
            let vn = net.values(
                ArrayView2::from_shape((m, od), &xn).map_err(|e| Error::new(e.to_string()))?,
            );
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
                    "iALP pre-training diverged in epoch {} (lower a2c.adam.lr = {})",
                    epoch + 1,
                    cfg.a2c.adam.lr
                )));
            }
            loss_sum += s.total;
            batches += 1;
            stats.updates += 1;
        }
        stats.epochs = epoch + 1;
        stats.last_loss = loss_sum / batches.max(1) as f32;
        if !progress(epoch + 1, stats.last_loss) {
            break;
        }
    }
    let meta = PolicyMeta {
        env: world.env_name().to_string(),
        source: world.source(),
        fingerprint: world.fingerprint(),
        n_items: w.n_items(),
        history: h,
        net: cfg.a2c.net.clone(),
        training: serde_json::json!({
            "algorithm": if reward_model.is_some() && cfg.augment > 0 { "ialp" } else { "offline-ac-logs" },
            "config": cfg,
            "stats": &stats,
        }),
        created_with: format!("ialp-ac-core {}", env!("CARGO_PKG_VERSION")),
    };
    Ok((Policy::new(meta, encoder, net.params())?, stats))
}
