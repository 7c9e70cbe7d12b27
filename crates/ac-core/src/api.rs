//! The JSON-and-flat-array surface that the N-API and WebAssembly bindings
//! share, so both convert nothing but types.

use crate::a2c::{train, Progress, TrainConfig, UserPool};
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
}

/// The world of `spec`: `world` when given (datasets), else built from the
/// spec alone (`synthetic`).
fn world_for(spec: &EnvSpec, world: Option<&AnyWorld>) -> Result<AnyWorld> {
    match world {
        Some(w) => Ok(w.clone()),
        None => AnyWorld::build(spec, None, None),
    }
}

/// Trains from a JSON [`TrainConfig`]; the policy comes back as artefact bytes.
pub fn train_json(
    config_json: &str,
    world: Option<&AnyWorld>,
    progress: &mut dyn FnMut(&Progress) -> bool,
) -> Result<TrainResult> {
    let cfg = TrainConfig::from_json(config_json)?;
    let world = world_for(&cfg.env, world)?;
    let out = train(&cfg, &world, progress)?;
    Ok(TrainResult {
        policy: out.policy.to_bytes(),
        episodes: episodes_flat(&out.episodes),
        updates: out.updates,
        env_steps: out.env_steps,
    })
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
pub fn evaluate_json(
    spec_json: &str,
    world: Option<&AnyWorld>,
    policy: Option<&[u8]>,
    options_json: &str,
) -> Result<Vec<f64>> {
    let spec = EnvSpec::from_json(spec_json)?;
    let opts: EvalOptions = ialp_sim::error::from_json("evaluation options", options_json)?;
    if opts.episodes == 0 {
        return Err(Error::invalid("episodes", "at least 1", 0));
    }
    let world = world_for(&spec, world)?;
    let policy = match (opts.actor, policy) {
        (ActorKind::Policy, Some(bytes)) => Some(Policy::from_bytes(bytes)?),
        (ActorKind::Policy, None) => {
            return Err(Error::new("evaluation: actor \"policy\" needs a policy"))
        }
        _ => None,
    };
    let scores = (opts.actor == ActorKind::Popularity).then(|| world.popularity());
    let actor = match (&policy, &scores) {
        (Some(p), _) => Actor::Policy(p, opts.mode),
        (None, Some(s)) => Actor::Popularity(s),
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
        let out = train_json(cfg, None, &mut |_| true).unwrap();
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
        let world = AnyWorld::build(&EnvSpec::from_json(spec).unwrap(), None, None).unwrap();
        let info: serde_json::Value =
            serde_json::from_str(&inspect_json(&world, true).unwrap()).unwrap();
        assert_eq!(info["info"]["items"], 500);
        assert!(info["validation"].is_null());
    }
}
