//! The settings of online training (`TrainConfig`: the environment, A2C's
//! hyper-parameters, A-iALP_ap's), apart from the algorithms that read them so
//! that `a2c.rs`, `a_ialp.rs` and `compute.rs` need not import each other.
//! Each field's default is in its `Default` impl; `validate` checks it once,
//! naming the field.

use crate::adam::AdamConfig;
use crate::compute::{Compute, Device, NetworkSettings};
use crate::net::{LossConfig, NetConfig};
use ialp_sim::error::check_range;
use ialp_sim::{AnyWorld, EnvSpec, Error, Result, VecEnv};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct A2cConfig {
    /// T: steps collected from each user slot per update.
    pub n_steps: usize,
    /// gamma: discount per step.
    pub gamma: f32,
    /// lambda of GAE.
    pub gae_lambda: f32,
    /// Standardise advantages within each update.
    pub normalize_advantages: bool,
    pub loss: LossConfig,
    pub adam: AdamConfig,
    pub net: NetConfig,
    /// Backend of the networks: "ndarray" (pure Rust, CPU) or "torch" (libtorch).
    pub compute: Compute,
    /// Device of the torch backend: "auto" (CUDA when present), "cpu" or "cuda".
    pub device: Device,
}

impl Default for A2cConfig {
    fn default() -> Self {
        A2cConfig {
            n_steps: 8,
            gamma: 0.9,
            gae_lambda: 0.95,
            normalize_advantages: true,
            loss: LossConfig::default(),
            adam: AdamConfig::default(),
            net: NetConfig::default(),
            compute: Compute::default(),
            device: Device::default(),
        }
    }
}

impl<'a> From<&'a A2cConfig> for NetworkSettings<'a> {
    fn from(cfg: &'a A2cConfig) -> Self {
        NetworkSettings {
            net: &cfg.net,
            adam: &cfg.adam,
            compute: cfg.compute,
            device: cfg.device,
        }
    }
}

impl A2cConfig {
    pub fn validate(&self) -> Result<()> {
        ialp_sim::limits::check_int("a2c.nSteps", self.n_steps, 1, 1 << 16)?;
        check_range("a2c.gamma", self.gamma, 0.0, 1.0)?;
        check_range("a2c.gaeLambda", self.gae_lambda, 0.0, 1.0)?;
        check_range("a2c.loss.entropyCoef", self.loss.entropy_coef, 0.0, 1e3)?;
        check_range("a2c.loss.valueCoef", self.loss.value_coef, 0.0, 1e3)?;
        if !(self.adam.lr > 0.0 && self.adam.lr.is_finite() && self.adam.lr <= 10.0) {
            return Err(Error::invalid(
                "a2c.adam.lr (learning rate)",
                "a number in (0, 10]",
                self.adam.lr,
            ));
        }
        check_range("a2c.adam.beta1", self.adam.beta1, 0.0, 0.999_999)?;
        check_range("a2c.adam.beta2", self.adam.beta2, 0.0, 0.999_999_9)?;
        check_range("a2c.adam.maxGradNorm", self.adam.max_grad_norm, 0.0, 1e9)?;
        crate::compute::check(self.compute, self.device)?;
        self.net.validate()
    }
}

/// Online training until `episodes` episodes have finished.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct TrainConfig {
    pub env: EnvSpec,
    pub a2c: A2cConfig,
    /// Stop once this many training episodes have finished.
    pub episodes: usize,
    /// Seed of the network initialisation, action sampling and the users met.
    pub seed: u64,
    /// Which users arrive during training.
    pub users: UserPool,
    /// A-iALP_ap: deploy the initial policy adaptively next to a new one (see
    /// `a_ialp.rs`) instead of fine-tuning it.
    pub adaptive: Option<AdaptiveConfig>,
}

/// A subset of a world's users (see `AnyWorld::user_split`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum UserPool {
    #[default]
    All,
    /// Users not held out.
    Train,
    /// Users held out for online deployment.
    HeldOut,
}

impl UserPool {
    /// Restricts `env` to this pool of `world`'s users.
    pub fn apply(self, world: &AnyWorld, env: &mut dyn VecEnv) -> Result<()> {
        let (train, held_out) = match self {
            UserPool::All => return Ok(()),
            _ => world.user_split(),
        };
        let pool = if self == UserPool::Train {
            train
        } else {
            held_out
        };
        if pool.is_empty() {
            return Err(Error::new(format!(
                "user pool {self:?} of \"{}\" is empty",
                world.env_name()
            )));
        }
        env.set_user_pool(pool)
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            env: EnvSpec::synthetic(),
            a2c: A2cConfig::default(),
            episodes: 3000,
            seed: 0,
            users: UserPool::All,
            adaptive: None,
        }
    }
}

impl TrainConfig {
    pub fn from_json(json: &str) -> Result<Self> {
        let cfg: TrainConfig = ialp_sim::error::from_json("training config", json)?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<()> {
        use ialp_sim::limits::{check_int, checked_product, MAX_EPISODES, MAX_TRANSITIONS};
        check_int("episodes", self.episodes, 1, MAX_EPISODES)?;
        // the rollout buffer holds nSteps x batchSize transitions
        let rows = checked_product(
            "a2c.nSteps x env.batch.batchSize",
            &[self.a2c.n_steps, self.env.batch.batch_size],
            MAX_TRANSITIONS,
        )?;
        self.a2c.validate()?;
        // an update passes the whole rollout through both towers
        self.a2c
            .net
            .check_rows("a2c.nSteps x env.batch.batchSize", rows)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct AdaptiveConfig {
    /// tau: temperature of the softmax over proposals.
    pub temperature: f32,
    /// eta: step of each policy's moving average of realised reward.
    pub weight_rate: f32,
    /// kappa: weight of that average in the proposal scores.
    pub weight_scale: f32,
    /// c: size of the bonus for under-exposed categories.
    pub exploration: f32,
    /// A policy's average until its first proposal is executed (a reward on
    /// the 0-1 scale); the averages are bias-corrected, so it has no say after.
    pub initial_weight: f32,
    /// rho: trust in pre-training, a lasting bonus on pi_0's average in the
    /// scores (realised rewards must fall that far below pi_1's before pi_1
    /// takes over).
    pub prior: f32,
    /// N: the trust fades as pi_0's proposals are executed, rho exp(-n0 / N)
    /// after n0 of them (0 = it never fades): evidence replaces the prior.
    pub trust_steps: f32,
    /// beta: weight of the critic's value Q(s, a) in the proposal scores.
    pub critic_scale: f32,
    /// The critic's check: beta counts in full once Q correlates with the
    /// realised rewards of executed proposals at least this much, in
    /// proportion below, and not at all at or below 0 (a compromised critic
    /// loses its say); rho scales the same way down to -rho at a correlation
    /// of minus this (a source that contradicts users makes its pi_0
    /// distrusted); 0 = no check.
    pub critic_agreement: f32,
    /// epsilon: share of steps whose executed proposal is drawn uniformly
    /// instead of by the softmax, so that each policy's realised reward keeps
    /// being measured (a policy never executed would keep its starting weight).
    pub floor: f32,
    /// Proposals each policy samples per step (1 = one action each, as in
    /// policy expansion); the softmax runs over all of them.
    pub proposals: usize,
    /// Temperature of pi_0's proposals: its softmax over items sharpened
    /// (logits / t) before sampling; 0 proposes its top item, 1 samples it as
    /// trained. pi_0 does not learn, so it needs little exploration of its
    /// own (pi_1 and the category bonus explore), and a frozen policy's
    /// sampled tail bores users (a third item of a category drawn by chance).
    pub pretrained_temperature: f32,
    /// Where pi_1 starts: from scratch, as in policy expansion, or as a copy
    /// of pi_0 that then learns as A-iALP_ft does, with the frozen pi_0 and
    /// the critic beside it. A copy inherits the source's errors, so it starts
    /// again from scratch, once, when the critic's check reaches -1 (the source
    /// contradicts users, see `critic_agreement`).
    pub online_start: OnlineStart,
    /// What pi_0 proposes: one item (its top item, or a sample at
    /// `pretrained_temperature`), or both its top item and a sample (at
    /// `pretrained_temperature`, as trained when that is 0), each with its own
    /// average of realised reward, so that users' responses decide which way
    /// of using pi_0 serves them (a greedy pi_0 bores some users, a sampled
    /// one strays for others).
    pub pretrained_proposals: PretrainedProposals,
    /// lambda: foresight of the environment's quit model (the mechanism the
    /// imagined world of pre-training also steps with). A proposal after which
    /// the quit model says the user leaves (a third item of one category within
    /// the window, or the window's mean reward, with r_phi's guess for the
    /// proposal while the critic's check trusts it, below the threshold) loses
    /// lambda V_0(s) / tau from its score,
    /// V_0 pi_0's value of the state: what the user would still bring. 0 = off.
    pub quit_foresight: f32,
}

/// What A-iALP_ap's pi_0 proposes (`AdaptiveConfig::pretrained_proposals`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum PretrainedProposals {
    #[default]
    One,
    TopAndSample,
}

/// Where A-iALP_ap's online policy pi_1 starts (`AdaptiveConfig::online_start`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum OnlineStart {
    #[default]
    Scratch,
    Pretrained,
}

impl Default for AdaptiveConfig {
    fn default() -> Self {
        AdaptiveConfig {
            temperature: 0.1,
            weight_rate: 0.02,
            weight_scale: 5.0,
            exploration: 0.05,
            initial_weight: 0.5,
            prior: 0.05,
            trust_steps: 500.0,
            critic_scale: 0.2,
            critic_agreement: 0.2,
            floor: 0.0,
            proposals: 1,
            pretrained_temperature: 0.0,
            online_start: OnlineStart::Scratch,
            pretrained_proposals: PretrainedProposals::One,
            quit_foresight: 1.0,
        }
    }
}

impl AdaptiveConfig {
    pub fn validate(&self) -> Result<()> {
        check_range("adaptive.temperature", self.temperature, 1e-6, 1e6)?;
        check_range("adaptive.weightRate", self.weight_rate, 0.0, 1.0)?;
        check_range("adaptive.weightScale", self.weight_scale, 0.0, 1e6)?;
        check_range("adaptive.exploration", self.exploration, 0.0, 1e6)?;
        check_range("adaptive.initialWeight", self.initial_weight, 0.0, 1.0)?;
        check_range("adaptive.prior", self.prior, -1.0, 1.0)?;
        check_range("adaptive.trustSteps", self.trust_steps, 0.0, 1e12)?;
        check_range("adaptive.criticScale", self.critic_scale, 0.0, 1e6)?;
        check_range("adaptive.criticAgreement", self.critic_agreement, 0.0, 1.0)?;
        check_range("adaptive.floor", self.floor, 0.0, 1.0)?;
        // 0 (its top item), or a temperature that keeps logits / t finite
        if self.pretrained_temperature != 0.0 {
            check_range(
                "adaptive.pretrainedTemperature",
                self.pretrained_temperature,
                1e-3,
                100.0,
            )
            .map_err(|_| {
                Error::new(format!(
                    "adaptive.pretrainedTemperature: expected 0 (pi_0's top item) or a number in [0.001, 100], got {}",
                    self.pretrained_temperature
                ))
            })?;
        }
        check_range("adaptive.proposals", self.proposals as f64, 1.0, 64.0)?;
        check_range("adaptive.quitForesight", self.quit_foresight, 0.0, 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::HAS_TORCH;

    #[test]
    fn pretrained_temperature_is_zero_or_keeps_logits_finite() {
        for ok in [0.0, 0.001, 1.0, 100.0] {
            let c = AdaptiveConfig {
                pretrained_temperature: ok,
                ..Default::default()
            };
            assert!(c.validate().is_ok(), "{ok}");
        }
        for bad in [1e-40, 1e-4, -1.0, 101.0, f32::NAN] {
            let c = AdaptiveConfig {
                pretrained_temperature: bad,
                ..Default::default()
            };
            let e = c.validate().unwrap_err().to_string();
            assert!(
                e.starts_with("adaptive.pretrainedTemperature: expected 0 (pi_0's top item) or a number in [0.001, 100]"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn unavailable_choices_are_errors_naming_the_field() {
        let e = TrainConfig::from_json(r#"{"a2c": {"device": "cuda"}}"#)
            .err()
            .unwrap();
        assert!(e.message().contains("a2c.device"), "{e}");
        let e = TrainConfig::from_json(r#"{"a2c": {"compute": "tensorflow"}}"#)
            .err()
            .unwrap();
        assert!(e.message().contains("compute"), "{e}");
        let torch = TrainConfig::from_json(r#"{"a2c": {"compute": "torch", "device": "cpu"}}"#);
        if HAS_TORCH {
            assert!(torch.is_ok());
        } else {
            let e = torch.err().unwrap();
            assert!(e.message().contains("a2c.compute"), "{e}");
        }
    }
}
