//! Runs a fixed actor for whole episodes: rounds of B users, each played to the
//! end, so long and short episodes count alike.

use crate::a2c::UserPool;
use crate::policy::{choose_actions, Policy};
use crate::reward_model::RewardModel;
use ialp_sim::{AnyWorld, EnvSpec, EpisodeStat, Error, Result, Rng};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
    /// The highest-scoring item the user has not seen in the last H steps.
    Popularity(&'a [f32]),
    /// The unseen item a reward model scores highest for the current state
    /// (greedy, no RL).
    Greedy(&'a RewardModel),
    Policy(&'a Policy, Mode),
}

/// Plays `episodes` episodes on a fresh environment of `world` built from `spec`
/// (its batch seed replaced by `seed`) and returns them in slot order per round.
pub fn evaluate(
    spec: &EnvSpec,
    world: &AnyWorld,
    actor: &Actor,
    episodes: usize,
    seed: u64,
    users: UserPool,
) -> Result<Vec<EpisodeStat>> {
    let mut spec = spec.clone();
    spec.batch.seed = seed;
    spec.batch.auto_reset = false;
    let mut env = world.env(&spec)?;
    let _threads = crate::linalg::product_threads(spec.batch.threads);
    users.apply(world, env.as_mut())?;
    if let Actor::Popularity(scores) = actor {
        if scores.len() != env.n_items() {
            return Err(Error::invalid(
                "popularity scores",
                &format!("{} (one per item)", env.n_items()),
                scores.len(),
            ));
        }
    }
    if let Actor::Greedy(m) = actor {
        if m.encoder.n_items != env.n_items() || m.encoder.history != env.history() {
            return Err(Error::new(format!(
                "reward model was fitted for {} items and history {}, but the environment has {} items and history {}",
                m.encoder.n_items,
                m.encoder.history,
                env.n_items(),
                env.history()
            )));
        }
    }
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
    // a step passes the batch through the model and scores every item for each row
    match actor {
        Actor::Greedy(m) => m.check_rows("env.batch.batchSize", b)?,
        Actor::Policy(p, _) => p.check_rows("env.batch.batchSize", b)?,
        _ => {}
    }
    // popularity's ranking (stable: ties keep item order)
    let ranked = match actor {
        Actor::Popularity(scores) => ialp_sim::order::by_score_desc(scores),
        _ => (0..n).collect(),
    };
    let mut rng = Rng::stream(seed, 0xE7A1_0000_0000);
    let (mut items, mut rewards) = (vec![0u32; b * h], vec![0f32; b * h]);
    let (mut r, mut d) = (vec![0f32; b], vec![0u8; b]);
    let mut out = Vec::with_capacity(episodes);
    while out.len() < episodes {
        env.reset();
        d.fill(0);
        while d.contains(&0) {
            let actions = match actor {
                Actor::Random => (0..b).map(|_| rng.below(n)).collect(),
                Actor::Greedy(model) => {
                    env.observe(&mut items, &mut rewards)?;
                    let scores = model.score_all(&items, &rewards)?;
                    let n = n as usize;
                    items
                        .chunks_exact(h)
                        .zip(scores.chunks_exact(n))
                        .map(|(seen, row)| {
                            let mut best = (f32::NEG_INFINITY, 0u32);
                            for (i, &s) in row.iter().enumerate() {
                                if s > best.0 && !seen.contains(&(i as u32)) {
                                    best = (s, i as u32);
                                }
                            }
                            best.1
                        })
                        .collect()
                }
                Actor::Popularity(_) => {
                    env.observe(&mut items, &mut rewards)?;
                    items
                        .chunks_exact(h)
                        .map(|seen| {
                            // at most H + 1 candidates are looked at
                            let top = ranked.iter().find(|i| !seen.contains(i));
                            *top.unwrap_or(&ranked[0])
                        })
                        .collect()
                }
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
