//! The JSON-and-flat-array surface that the N-API and WebAssembly bindings
//! share, so both convert nothing but types.

use crate::a2c::{Progress, TrainConfig, UserPool};
use crate::encoder::StateEncoder;
use crate::eval::{evaluate, Actor, Mode};
use crate::policy::Policy;
use crate::reward_model::{RewardExamples, RewardModel, RewardModelConfig};
use ialp_sim::{AnyWorld, EnvSpec, EpisodeStat, Error, Result};
use serde::{Deserialize, Serialize};

/// Fields per episode in [`episodes_flat`]: slot, user, total reward, length.
pub const EPISODE_FIELDS: usize = 4;

pub fn episodes_flat(eps: &[EpisodeStat]) -> Vec<f64> {
    eps.iter()
        .flat_map(|e| {
            [
                e.slot as f64,
                e.user as f64,
                e.total_reward as f64,
                e.length as f64,
            ]
        })
        .collect()
}

pub struct TrainResult {
    pub policy: Vec<u8>,
    pub episodes: Vec<f64>,
    pub updates: u64,
    pub env_steps: u64,
    /// A-iALP_ap's adaptation per update (JSON array), when it ran.
    pub trace: Option<String>,
}

/// The world of `spec`: `world` when given (datasets), else built from the
/// spec alone (`synthetic`).
fn world_for(spec: &EnvSpec, world: Option<&AnyWorld>) -> Result<AnyWorld> {
    match world {
        Some(w) => Ok(w.clone()),
        None => AnyWorld::build(spec, None, None),
    }
}

/// Trains online from a JSON [`TrainConfig`]: A2C from scratch; from `init`
/// (A-iALP_ft); or, when the config has `adaptive`, A-iALP_ap with `init` as
/// the frozen pi_0 and `critic` (a reward model artefact) scoring proposals.
pub fn train_json(
    config_json: &str,
    world: Option<&AnyWorld>,
    init: Option<&[u8]>,
    critic: Option<&[u8]>,
    progress: &mut dyn FnMut(&Progress) -> bool,
) -> Result<TrainResult> {
    let cfg = TrainConfig::from_json(config_json)?;
    let world = world_for(&cfg.env, world)?;
    let init = init.map(Policy::from_bytes).transpose()?;
    let critic = critic.map(RewardModel::from_bytes).transpose()?;
    let (out, trace) = match (&cfg.adaptive, &init) {
        (Some(adaptive), Some(pi0)) => {
            let r = crate::a_ialp::train_adaptive(
                &cfg,
                adaptive,
                &world,
                pi0,
                critic.as_ref(),
                progress,
            )?;
            (
                r.outcome,
                Some(serde_json::to_string(&r.trace).map_err(|e| Error::new(e.to_string()))?),
            )
        }
        (Some(_), None) => {
            return Err(Error::new(
                "training config: \"adaptive\" needs an initial (pre-trained) policy",
            ))
        }
        (None, _) => (
            crate::a2c::train_from(&cfg, &world, init.as_ref(), progress)?,
            None,
        ),
    };
    Ok(TrainResult {
        policy: out.policy.to_bytes(),
        episodes: episodes_flat(&out.episodes),
        updates: out.updates,
        env_steps: out.env_steps,
        trace,
    })
}

/// Offline pre-training (iALP, or logs only without a reward model).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct PretrainJob {
    pub ialp: crate::ialp::IalpConfig,
    /// H of the logged states.
    pub history: usize,
    /// Whose logs: the training users by default (held-out users are for deployment).
    pub users: UserPool,
}

impl Default for PretrainJob {
    fn default() -> Self {
        PretrainJob {
            ialp: Default::default(),
            history: 10,
            users: UserPool::Train,
        }
    }
}

/// Pre-trains pi_0 offline on `world`'s logs (augmented by the reward model
/// artefact `critic` when given); returns the policy artefact and stats (JSON).
pub fn pretrain_json(
    world: &AnyWorld,
    job_json: &str,
    critic: Option<&[u8]>,
    progress: &mut dyn FnMut(usize, f32) -> bool,
) -> Result<(Vec<u8>, String)> {
    let job: PretrainJob = ialp_sim::error::from_json("pre-training config", job_json)?;
    let critic = critic.map(RewardModel::from_bytes).transpose()?;
    let (train, held_out) = world.user_split();
    let users = match job.users {
        UserPool::Train => train,
        UserPool::HeldOut => held_out,
        UserPool::All => (0..world.world().n_users() as u32).collect(),
    };
    let logged = world.logged(&users, job.history, job.ialp.seed);
    let (policy, stats) =
        crate::ialp::pretrain(&job.ialp, world, &logged, critic.as_ref(), progress)?;
    Ok((
        policy.to_bytes(),
        serde_json::to_string(&stats).map_err(|e| Error::new(e.to_string()))?,
    ))
}

/// Who plays the episodes of an evaluation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ActorKind {
    #[default]
    Random,
    Popularity,
    /// The policy artefact passed alongside.
    Policy,
    /// Greedy on the reward model artefact passed alongside.
    Greedy,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct EvalOptions {
    pub actor: ActorKind,
    pub episodes: usize,
    pub seed: u64,
    pub mode: Mode,
    pub users: UserPool,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            actor: ActorKind::Random,
            episodes: 500,
            seed: 0,
            mode: Mode::Sample,
            users: UserPool::All,
        }
    }
}

/// Plays whole episodes of a JSON [`EnvSpec`] as JSON [`EvalOptions`] say.
/// `artefact` is the policy (actor "policy") or reward model (actor "greedy").
pub fn evaluate_json(
    spec_json: &str,
    world: Option<&AnyWorld>,
    artefact: Option<&[u8]>,
    options_json: &str,
) -> Result<Vec<f64>> {
    let spec = EnvSpec::from_json(spec_json)?;
    let opts: EvalOptions = ialp_sim::error::from_json("evaluation options", options_json)?;
    if opts.episodes == 0 {
        return Err(Error::invalid("episodes", "at least 1", 0));
    }
    let world = world_for(&spec, world)?;
    let need = |what: &str| Error::new(format!("evaluation: actor \"{what}\" needs its artefact"));
    let policy = match (opts.actor, artefact) {
        (ActorKind::Policy, Some(bytes)) => Some(Policy::from_bytes(bytes)?),
        (ActorKind::Policy, None) => return Err(need("policy")),
        _ => None,
    };
    let model = match (opts.actor, artefact) {
        (ActorKind::Greedy, Some(bytes)) => Some(RewardModel::from_bytes(bytes)?),
        (ActorKind::Greedy, None) => return Err(need("greedy")),
        _ => None,
    };
    let scores = (opts.actor == ActorKind::Popularity).then(|| world.popularity());
    let actor = match (&policy, &model, &scores) {
        (Some(p), _, _) => Actor::Policy(p, opts.mode),
        (_, Some(m), _) => Actor::Greedy(m),
        (_, _, Some(s)) => Actor::Popularity(s),
        _ => Actor::Random,
    };
    Ok(episodes_flat(&evaluate(
        &spec,
        &world,
        &actor,
        opts.episodes,
        opts.seed,
        opts.users,
    )?))
}

/// The world's description and, for dataset worlds with a user model, how well
/// that model predicts held-out feedback (this fits a second model on the
/// training split, so it takes a moment).
pub fn inspect_json(world: &AnyWorld, validate: bool) -> Result<String> {
    let validation = match (world, validate) {
        (AnyWorld::Dataset(d), true) if d.user_model().is_some() => Some(
            ialp_sim::dataset_world::validate(&d.dataset, &d.config.user_model)?,
        ),
        _ => None,
    };
    let out = serde_json::json!({ "info": world.info(), "validation": validation });
    Ok(out.to_string())
}

/// Preference requests for the LLM (states, candidates, ground truth) as JSON.
pub fn preference_requests_json(world: &AnyWorld, config_json: &str) -> Result<String> {
    let cfg: ialp_sim::preference::RequestConfig =
        ialp_sim::error::from_json("request config", config_json)?;
    let reqs = ialp_sim::preference::preference_requests(world, &cfg)?;
    serde_json::to_string(&reqs).map_err(|e| Error::new(e.to_string()))
}

/// Fits r_phi on `examples` over `world`'s item features; returns the artefact
/// and the fit summary (JSON).
pub fn train_reward_json(
    world: &AnyWorld,
    examples: &RewardExamples,
    config_json: &str,
    progress: &mut dyn FnMut(usize, f32) -> bool,
) -> Result<(Vec<u8>, String)> {
    let cfg: RewardModelConfig = ialp_sim::error::from_json("reward model config", config_json)?;
    let w = world.world();
    let encoder = StateEncoder::new(examples.history, w.n_items(), w.item_features().to_vec())?;
    let mut model = RewardModel::new(cfg, encoder)?;
    let fit = model.train(examples, progress)?;
    Ok((
        model.to_bytes(),
        serde_json::to_string(&fit).map_err(|e| Error::new(e.to_string()))?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trains_and_evaluates_through_json() {
        let cfg = r#"{"episodes": 50, "seed": 3, "env": {"name": "synthetic", "batch": {"batchSize": 8}}}"#;
        let out = train_json(cfg, None, None, None, &mut |_| true).unwrap();
        assert_eq!(out.episodes.len(), 50 * EPISODE_FIELDS);
        let spec = r#"{"name": "synthetic", "batch": {"batchSize": 8}}"#;
        let opts = r#"{"actor": "policy", "episodes": 10, "seed": 1}"#;
        let eps = evaluate_json(spec, None, Some(&out.policy), opts).unwrap();
        assert_eq!(eps.len(), 10 * EPISODE_FIELDS);
        assert!(evaluate_json(spec, None, Some(b"garbage"), opts).is_err());
        assert!(evaluate_json(spec, None, None, opts).is_err());
        assert!(evaluate_json(spec, None, None, r#"{"episodes": 0}"#).is_err());
        let pop = evaluate_json(
            spec,
            None,
            None,
            r#"{"actor": "popularity", "episodes": 16, "users": "heldOut"}"#,
        )
        .unwrap();
        assert_eq!(pop.len(), 16 * EPISODE_FIELDS);
        // fine-tuning from the policy, and adaptive deployment of it
        let ft = train_json(cfg, None, Some(&out.policy), None, &mut |_| true).unwrap();
        assert!(ft.trace.is_none());
        let ap_cfg = r#"{"episodes": 50, "seed": 3, "adaptive": {}, "env": {"name": "synthetic", "batch": {"batchSize": 8}}}"#;
        let ap = train_json(ap_cfg, None, Some(&out.policy), None, &mut |_| true).unwrap();
        let trace: serde_json::Value = serde_json::from_str(ap.trace.as_deref().unwrap()).unwrap();
        assert!(trace.as_array().unwrap().len() as u64 == ap.updates);
        assert!(train_json(ap_cfg, None, None, None, &mut |_| true).is_err());
        // offline pre-training on logs, and greedy on a reward model
        let world = AnyWorld::build(&EnvSpec::from_json(spec).unwrap(), None, None).unwrap();
        let (pi0, stats) = pretrain_json(
            &world,
            r#"{"ialp": {"epochs": 1, "transitionsPerEpoch": 64}}"#,
            None,
            &mut |_, _| true,
        )
        .unwrap();
        assert!(Policy::from_bytes(&pi0).is_ok());
        assert!(stats.contains("loggedTransitions"));
        assert!(evaluate_json(spec, None, None, r#"{"actor": "greedy"}"#).is_err());
        let world = AnyWorld::build(&EnvSpec::from_json(spec).unwrap(), None, None).unwrap();
        let info: serde_json::Value =
            serde_json::from_str(&inspect_json(&world, true).unwrap()).unwrap();
        assert_eq!(info["info"]["items"], 500);
        assert!(info["validation"].is_null());
    }
}
