//! Runs a fixed actor for whole episodes: rounds of B users, each played to the
//! end, so long and short episodes count alike.

use crate::policy::{choose_actions, Policy};
use ialp_sim::{make_env, EnvSpec, EpisodeStat, Error, Result, Rng};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Mode {
    /// Draw from the policy's distribution.
    Sample,
    /// Take the most probable item.
    Greedy,
}

pub enum Actor<'a> {
    /// Uniformly random items.
    Random,
    Policy(&'a Policy, Mode),
}

/// Plays `episodes` episodes on a fresh environment built from `spec` (its batch
/// seed replaced by `seed`) and returns them in slot order per round.
pub fn evaluate(
    spec: &EnvSpec,
    actor: &Actor,
    episodes: usize,
    seed: u64,
) -> Result<Vec<EpisodeStat>> {
    let mut spec = spec.clone();
    spec.batch.seed = seed;
    spec.batch.auto_reset = false;
    let mut env = make_env(&spec)?;
    if let Actor::Policy(p, _) = actor {
        if p.encoder.n_items != env.n_items() || p.encoder.history != env.history() {
            return Err(Error::new(format!(
                "policy was trained for {} items and history {}, but environment \"{}\" has {} items and history {}",
                p.encoder.n_items,
                p.encoder.history,
                env.name(),
                env.n_items(),
                env.history()
            )));
        }
    }
    let (b, h, n) = (env.batch_size(), env.history(), env.n_items() as u32);
    let mut rng = Rng::stream(seed, 0xE7A1);
    let (mut items, mut rewards) = (vec![0u32; b * h], vec![0f32; b * h]);
    let (mut r, mut d) = (vec![0f32; b], vec![0u8; b]);
    let mut out = Vec::with_capacity(episodes);
    while out.len() < episodes {
        env.reset();
        d.fill(0);
        while d.contains(&0) {
            let actions = match actor {
                Actor::Random => (0..b).map(|_| rng.below(n)).collect(),
                Actor::Policy(p, mode) => {
                    env.observe(&mut items, &mut rewards)?;
                    let (logits, _) = p.evaluate(&items, &rewards)?;
                    choose_actions(&logits, &mut rng, *mode == Mode::Greedy)
                }
            };
            env.step(&actions, &mut r, &mut d)?;
        }
        let mut round = env.drain_episodes();
        round.sort_by_key(|e| e.slot);
        out.extend(round);
    }
    out.truncate(episodes);
    Ok(out)
}
