//! Online advantage actor-critic (A2C, Mnih et al. 2016) on a batched simulator:
//! collect T steps from B users, estimate advantages with GAE, take one
//! gradient step on the policy loss, the value loss and the entropy bonus.

use crate::buffer::RolloutBuffer;
use crate::compute::build_backend;
use crate::encoder::StateEncoder;
use crate::gae::{gae, standardize};
use crate::net::{AcBackend, LossStats, UpdateBatch};
use crate::policy::{choose_actions, Policy, PolicyMeta};
use ialp_sim::{AnyWorld, EpisodeStat, Error, Result, Rng, VecEnv};
use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

pub use crate::config::{A2cConfig, TrainConfig, UserPool};

/// Reported after every update.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    pub updates: u64,
    pub env_steps: u64,
    pub episodes: usize,
    pub target_episodes: usize,
    pub loss: LossStats,
    /// Mean return of the episodes that finished during this update (the live
    /// learning curve); None when none did.
    pub recent_return: Option<f32>,
}

/// The parts of one training iteration, in the order they run, for profiling
/// ([`A2c::train_rollout_marked`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Part {
    /// `VecEnv::step`: the simulated users answer.
    Stepping,
    /// Observing the batch and encoding it into the networks' inputs.
    Encoding,
    /// The networks' forward pass and drawing the actions.
    Acting,
    /// Storing the step, GAE and the last values.
    Advantages,
    /// Gradients, clipping and Adam.
    Update,
}

impl Part {
    pub const ALL: [Part; 5] = [
        Part::Stepping,
        Part::Encoding,
        Part::Acting,
        Part::Advantages,
        Part::Update,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Part::Stepping => "stepping",
            Part::Encoding => "encoding",
            Part::Acting => "forward+sampling",
            Part::Advantages => "buffer+gae",
            Part::Update => "backward+optimiser",
        }
    }
}

pub struct TrainOutcome {
    pub policy: Policy,
    /// Training episodes in the order they finished (the online learning curve).
    pub episodes: Vec<EpisodeStat>,
    pub updates: u64,
    pub env_steps: u64,
}

/// What an action selector sees of the current step (B rows each).
pub struct StepContext<'a> {
    /// Encoded states, B x in_dim.
    pub obs: &'a [f32],
    /// Raw observations, B x H.
    pub hist_items: &'a [u32],
    pub hist_rewards: &'a [f32],
    /// The learner's critic values V(s).
    pub values: &'a [f32],
}

/// Chooses the executed actions of a rollout step from the learner's logits.
pub trait ActionSelector {
    fn select(
        &mut self,
        ctx: &StepContext,
        logits: &Array2<f32>,
        rng: &mut Rng,
    ) -> Result<Vec<u32>>;
    /// True when `select` only samples from the learner's own policy, so the
    /// learner may draw the actions itself, fused with its forward pass
    /// (`AcBackend::act`: the same actions, without a logits matrix).
    fn samples_own_policy(&self) -> bool {
        false
    }
    /// Called after the step with what was executed and how users responded.
    fn observe(&mut self, _actions: &[u32], _rewards: &[f32], _dones: &[u8]) {}
    /// Called after every update.
    fn after_update(&mut self, _progress: &Progress) {}
    /// True when the learner should start again from its initial weights
    /// (asked after every update, after `after_update`).
    fn restart_learner(&mut self) -> bool {
        false
    }
}

/// Plain A2C: sample from the learner's own policy.
pub struct Sampler;

impl ActionSelector for Sampler {
    fn select(
        &mut self,
        _ctx: &StepContext,
        logits: &Array2<f32>,
        rng: &mut Rng,
    ) -> Result<Vec<u32>> {
        Ok(choose_actions(logits, rng, false))
    }

    fn samples_own_policy(&self) -> bool {
        true
    }
}

pub struct A2c {
    pub cfg: A2cConfig,
    pub backend: Box<dyn AcBackend>,
    pub encoder: StateEncoder,
    rng: Rng,
    buf: RolloutBuffer,
    hist_items: Vec<u32>,
    hist_rewards: Vec<f32>,
    obs: Vec<f32>,
    /// Per-step buffers, reused: one uniform, action, value, reward, done per user.
    uniforms: Vec<f32>,
    actions: Vec<u32>,
    values: Vec<f32>,
    rewards: Vec<f32>,
    dones: Vec<u8>,
}

impl A2c {
    /// An A2C learner for `env` on the backend `cfg.compute` names.
    pub fn new(cfg: A2cConfig, env: &dyn VecEnv, seed: u64) -> Result<Self> {
        cfg.validate()?;
        let encoder =
            StateEncoder::new(env.history(), env.n_items(), env.item_features().to_vec())?;
        let backend = build_backend(
            &cfg,
            encoder.out_dim(),
            encoder.item_features.clone(),
            env.n_items(),
            seed,
        )?;
        Self::with_backend(cfg, env, encoder, backend, seed)
    }

    /// The network and optimiser as A2C from scratch with `seed` starts them
    /// (its initial weights, fresh Adam moments); the random stream and the
    /// buffers go on, so a restart does not replay earlier draws.
    pub fn restart(&mut self, env: &dyn VecEnv, seed: u64) -> Result<()> {
        self.backend = build_backend(
            &self.cfg,
            self.encoder.out_dim(),
            self.encoder.item_features.clone(),
            env.n_items(),
            seed,
        )?;
        Ok(())
    }

    pub fn with_backend(
        cfg: A2cConfig,
        env: &dyn VecEnv,
        encoder: StateEncoder,
        backend: Box<dyn AcBackend>,
        seed: u64,
    ) -> Result<Self> {
        let (b, h) = (env.batch_size(), env.history());
        Ok(A2c {
            buf: RolloutBuffer::new(cfg.n_steps, b, encoder.out_dim()),
            rng: Rng::stream(seed, 0xA2C_0000_0000),
            hist_items: vec![0; b * h],
            hist_rewards: vec![0.0; b * h],
            obs: vec![0.0; b * encoder.out_dim()],
            uniforms: vec![0.0; b],
            actions: vec![0; b],
            values: vec![0.0; b],
            rewards: vec![0.0; b],
            dones: vec![0; b],
            cfg,
            backend,
            encoder,
        })
    }

    fn encode_current(&mut self, env: &dyn VecEnv) -> Result<()> {
        env.observe(&mut self.hist_items, &mut self.hist_rewards)?;
        self.encoder
            .encode(&self.hist_items, &self.hist_rewards, &mut self.obs)
    }

    /// Collects one rollout of T steps from `env` and updates the networks.
    pub fn train_rollout(&mut self, env: &mut dyn VecEnv) -> Result<LossStats> {
        self.train_rollout_with(env, &mut Sampler)
    }

    /// As `train_rollout`, with `selector` choosing the executed actions (the
    /// learner still updates on them as its own).
    pub fn train_rollout_with(
        &mut self,
        env: &mut dyn VecEnv,
        selector: &mut dyn ActionSelector,
    ) -> Result<LossStats> {
        self.train_rollout_marked(env, selector, &mut |_| {})
    }

    /// As `train_rollout_with`, calling `mark(part)` as each part of the
    /// iteration ends (a profiler takes the time between calls).
    pub fn train_rollout_marked(
        &mut self,
        env: &mut dyn VecEnv,
        selector: &mut dyn ActionSelector,
        mark: &mut dyn FnMut(Part),
    ) -> Result<LossStats> {
        let b = env.batch_size();
        let od = self.encoder.out_dim();
        if self.actions.len() != b {
            return Err(Error::new(format!(
                "the environment's batch size {b} differs from the learner's {}",
                self.actions.len()
            )));
        }
        let fused = selector.samples_own_policy();
        self.buf.clear();
        mark(Part::Advantages);
        self.encode_current(env)?;
        mark(Part::Encoding);
        for _ in 0..self.cfg.n_steps {
            let view = ArrayView2::from_shape((b, od), &self.obs)
                .map_err(|e| Error::new(e.to_string()))?;
            if fused {
                // one uniform per user in order, as `choose_actions` draws them
                self.uniforms
                    .iter_mut()
                    .for_each(|u| *u = self.rng.uniform());
                self.backend.act_recorded(
                    view,
                    &self.uniforms,
                    &mut self.actions,
                    &mut self.values,
                );
            } else {
                let (logits, values) = self.backend.forward(view);
                self.values
                    .copy_from_slice(values.as_slice().expect("contiguous"));
                let ctx = StepContext {
                    obs: &self.obs,
                    hist_items: &self.hist_items,
                    hist_rewards: &self.hist_rewards,
                    values: &self.values,
                };
                let actions = selector.select(&ctx, &logits, &mut self.rng)?;
                if actions.len() != b {
                    return Err(Error::new(format!(
                        "the action selector chose {} actions for {b} users",
                        actions.len()
                    )));
                }
                self.actions.copy_from_slice(&actions);
            }
            mark(Part::Acting);
            env.step(&self.actions, &mut self.rewards, &mut self.dones)?;
            selector.observe(&self.actions, &self.rewards, &self.dones);
            mark(Part::Stepping);
            self.buf.push(
                &self.obs,
                &self.actions,
                &self.rewards,
                &self.dones,
                &self.values,
            )?;
            mark(Part::Advantages);
            self.encode_current(env)?;
            mark(Part::Encoding);
        }
        let view =
            ArrayView2::from_shape((b, od), &self.obs).map_err(|e| Error::new(e.to_string()))?;
        let last_values = self.backend.values(view);
        let (mut adv, returns) = gae(
            &self.buf.rewards,
            &self.buf.values,
            &self.buf.dones,
            last_values.as_slice().expect("contiguous"),
            self.cfg.gamma,
            self.cfg.gae_lambda,
        );
        if self.cfg.normalize_advantages {
            standardize(&mut adv);
        }
        let batch = UpdateBatch {
            obs: &self.buf.obs,
            actions: &self.buf.actions,
            advantages: &adv,
            returns: &returns,
        };
        mark(Part::Advantages);
        let stats = if fused {
            self.backend.update_recorded(&batch, &self.cfg.loss)
        } else {
            self.backend.update(&batch, &self.cfg.loss)
        };
        mark(Part::Update);
        if !stats.total.is_finite() {
            return Err(Error::new(format!(
                "training diverged: the loss became {} (lower the learning rate a2c.adam.lr = {})",
                stats.total, self.cfg.adam.lr
            )));
        }
        Ok(stats)
    }

    pub fn policy(&self, env: &dyn VecEnv, training: serde_json::Value) -> Result<Policy> {
        let meta = PolicyMeta {
            env: env.name().to_string(),
            source: String::new(),
            fingerprint: String::new(),
            n_items: env.n_items(),
            history: env.history(),
            net: self.cfg.net.clone(),
            training,
            created_with: format!("ialp-ac-core {}", env!("CARGO_PKG_VERSION")),
        };
        Policy::new(meta, self.encoder.clone(), self.backend.params())
    }
}

/// Trains online A2C on `world` as `cfg` says. `progress` is called after every
/// update; returning false stops early (the outcome then holds what was learnt so far).
pub fn train(
    cfg: &TrainConfig,
    world: &AnyWorld,
    progress: &mut dyn FnMut(&Progress) -> bool,
) -> Result<TrainOutcome> {
    train_from(cfg, world, None, progress)
}

/// As [`train`], starting from the weights of `init` (A-iALP_ft: fine-tuning a
/// pre-trained policy online) when given.
pub fn train_from(
    cfg: &TrainConfig,
    world: &AnyWorld,
    init: Option<&Policy>,
    progress: &mut dyn FnMut(&Progress) -> bool,
) -> Result<TrainOutcome> {
    train_from_with(cfg, world, init, &mut Sampler, progress)
}

/// As [`train_from`], with `selector` choosing the executed actions.
pub fn train_from_with(
    cfg: &TrainConfig,
    world: &AnyWorld,
    init: Option<&Policy>,
    selector: &mut dyn ActionSelector,
    progress: &mut dyn FnMut(&Progress) -> bool,
) -> Result<TrainOutcome> {
    cfg.validate()?;
    let mut spec = cfg.env.clone();
    spec.batch.seed = cfg.seed;
    spec.batch.auto_reset = true;
    let mut env = world.env(&spec)?;
    // the network's products over the batch use the threads that step it
    let _threads = crate::linalg::product_threads(spec.batch.threads);
    cfg.users.apply(world, env.as_mut())?;
    let mut learner = A2c::new(cfg.a2c.clone(), env.as_ref(), cfg.seed)?;
    if let Some(p) = init {
        if p.meta.net != cfg.a2c.net {
            return Err(Error::new(format!(
                "the initial policy's network {:?} differs from a2c.net {:?}",
                p.meta.net, cfg.a2c.net
            )));
        }
        learner.backend.set_params(p.params())?;
    }
    let mut episodes = Vec::new();
    let mut p = Progress {
        target_episodes: cfg.episodes,
        ..Default::default()
    };
    while episodes.len() < cfg.episodes {
        p.loss = learner.train_rollout_with(env.as_mut(), selector)?;
        p.updates += 1;
        p.env_steps += (cfg.a2c.n_steps * env.batch_size()) as u64;
        let finished = env.drain_episodes();
        p.recent_return = (!finished.is_empty())
            .then(|| finished.iter().map(|e| e.total_reward).sum::<f32>() / finished.len() as f32);
        episodes.extend(finished);
        p.episodes = episodes.len().min(cfg.episodes);
        selector.after_update(&p);
        if selector.restart_learner() {
            learner.restart(env.as_ref(), cfg.seed)?;
        }
        if !progress(&p) {
            break;
        }
    }
    episodes.truncate(cfg.episodes);
    let training = serde_json::json!({
        "algorithm": "a2c",
        "config": cfg,
        "updates": p.updates,
        "envSteps": p.env_steps,
        "episodes": episodes.len(),
    });
    let mut policy = learner.policy(env.as_ref(), training)?;
    policy.meta.env = world.env_name().to_string();
    policy.meta.source = world.source();
    policy.meta.fingerprint = world.fingerprint();
    Ok(TrainOutcome {
        policy,
        episodes,
        updates: p.updates,
        env_steps: p.env_steps,
    })
}
