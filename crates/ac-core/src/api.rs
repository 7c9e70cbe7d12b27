//! The JSON-and-flat-array surface that the N-API and WebAssembly bindings
//! share, so both convert nothing but types.

use crate::a2c::{train, Progress, TrainConfig};
use crate::eval::{evaluate, Actor, Mode};
use crate::policy::Policy;
use ialp_sim::{EnvSpec, EpisodeStat, Error, Result};

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

/// Trains from a JSON [`TrainConfig`]; the policy comes back as artefact bytes.
pub fn train_json(
    config_json: &str,
    progress: &mut dyn FnMut(&Progress) -> bool,
) -> Result<TrainResult> {
    let cfg = TrainConfig::from_json(config_json)?;
    let out = train(&cfg, progress)?;
    Ok(TrainResult {
        policy: out.policy.to_bytes(),
        episodes: episodes_flat(&out.episodes),
        updates: out.updates,
        env_steps: out.env_steps,
    })
}

/// Plays `episodes` episodes of a JSON [`EnvSpec`] with a random actor (no
/// policy) or a policy artefact.
pub fn evaluate_json(
    spec_json: &str,
    policy: Option<&[u8]>,
    episodes: usize,
    seed: u64,
    greedy: bool,
) -> Result<Vec<f64>> {
    if episodes == 0 {
        return Err(Error::invalid("episodes", "at least 1", 0));
    }
    let spec = EnvSpec::from_json(spec_json)?;
    let policy = policy.map(Policy::from_bytes).transpose()?;
    let actor = match &policy {
        None => Actor::Random,
        Some(p) => Actor::Policy(p, if greedy { Mode::Greedy } else { Mode::Sample }),
    };
    Ok(episodes_flat(&evaluate(&spec, &actor, episodes, seed)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trains_and_evaluates_through_json() {
        let cfg = r#"{"episodes": 50, "seed": 3, "env": {"name": "synthetic", "batch": {"batchSize": 8}}}"#;
        let out = train_json(cfg, &mut |_| true).unwrap();
        assert_eq!(out.episodes.len(), 50 * EPISODE_FIELDS);
        let spec = r#"{"name": "synthetic", "batch": {"batchSize": 8}}"#;
        let eps = evaluate_json(spec, Some(&out.policy), 10, 1, false).unwrap();
        assert_eq!(eps.len(), 10 * EPISODE_FIELDS);
        assert!(evaluate_json(spec, Some(b"garbage"), 10, 1, false).is_err());
        assert!(evaluate_json(spec, None, 0, 1, false).is_err());
    }
}
