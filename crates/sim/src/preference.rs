//! What iALP asks the LLM: for a user's state (their latest interactions) and
//! K candidate items (a mix of popular, similar and random ones), which would
//! they prefer? This builds those requests, with the simulator's ground truth
//! for each candidate so the LLM's answers can be scored.

use crate::batch::PAD_ITEM;
use crate::error::{check_range, Error, Result};
use crate::registry::AnyWorld;
use crate::rng::Rng;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct CandidateMix {
    /// Share of candidates from the most popular items.
    pub popular: f32,
    /// Share from the categories of items the user liked.
    pub similar: f32,
    /// The rest are uniformly random.
    pub random: f32,
}

impl Default for CandidateMix {
    fn default() -> Self {
        CandidateMix {
            popular: 0.3,
            similar: 0.4,
            random: 0.3,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct RequestConfig {
    /// Users to ask about (drawn from `pool`).
    pub users: usize,
    /// States per user (different points in their history).
    pub states_per_user: usize,
    /// K: candidates per request.
    pub candidates: usize,
    pub mix: CandidateMix,
    /// H: interactions shown as the user's state.
    pub history: usize,
    /// "train", "heldOut" or "all".
    #[cfg_attr(feature = "ts", ts(type = r#""train" | "heldOut" | "all""#))]
    pub pool: String,
    pub seed: u64,
}

impl Default for RequestConfig {
    fn default() -> Self {
        RequestConfig {
            users: 20,
            states_per_user: 1,
            candidates: 5,
            mix: CandidateMix::default(),
            history: 10,
            pool: "train".into(),
            seed: 0,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct PreferenceRequest {
    pub user: u32,
    /// Oldest first, right-aligned, PAD_ITEM where empty (H entries).
    pub hist_items: Vec<u32>,
    pub hist_rewards: Vec<f32>,
    pub candidates: Vec<u32>,
    /// "popular", "similar" or "random" per candidate.
    #[cfg_attr(
        feature = "ts",
        ts(type = r#"Array<"popular" | "similar" | "random">"#)
    )]
    pub sources: Vec<String>,
    /// The simulator's expected reward (0-1) of each candidate for this user.
    pub truth: Vec<f32>,
    /// The popularity baseline's score of each candidate.
    pub popularity: Vec<f32>,
}

pub fn preference_requests(
    world: &AnyWorld,
    cfg: &RequestConfig,
) -> Result<Vec<PreferenceRequest>> {
    use crate::limits::{check_int, checked_product, MAX_CANDIDATES, MAX_HISTORY, MAX_REQUESTS};
    check_int("candidates", cfg.candidates, 2, MAX_CANDIDATES)?;
    check_int("history", cfg.history, 1, MAX_HISTORY)?;
    check_int("statesPerUser", cfg.states_per_user, 1, MAX_REQUESTS)?;
    check_int("users", cfg.users, 0, MAX_REQUESTS)?;
    checked_product(
        "users x statesPerUser",
        &[cfg.users, cfg.states_per_user],
        MAX_REQUESTS,
    )?;
    for (what, v) in [
        ("mix.popular", cfg.mix.popular),
        ("mix.similar", cfg.mix.similar),
        ("mix.random", cfg.mix.random),
    ] {
        check_range(what, v, 0.0, 1.0)?;
    }
    let n_items = world.world().n_items();
    if cfg.candidates + cfg.history > n_items {
        return Err(Error::invalid(
            "candidates",
            &format!(
                "at most {} (the {n_items} items less the history of {})",
                n_items.saturating_sub(cfg.history),
                cfg.history
            ),
            cfg.candidates,
        ));
    }
    let (train, held_out) = world.user_split();
    let pool = match cfg.pool.as_str() {
        "train" => train,
        "heldOut" => held_out,
        "all" => (0..world.world().n_users() as u32).collect(),
        other => {
            return Err(Error::invalid(
                "pool",
                "\"train\", \"heldOut\" or \"all\"",
                format!("\"{other}\""),
            ))
        }
    };
    let mut rng = Rng::stream(cfg.seed, 0x9E_0001_0000_0000);
    // a seeded sample of users without replacement
    let mut users = pool;
    for i in (1..users.len()).rev() {
        users.swap(i, rng.below(i as u32 + 1) as usize);
    }
    users.truncate(cfg.users);
    users.sort_unstable();
    let popularity = world.popularity();
    let by_pop = crate::order::by_score_desc(&popularity);
    let top_pool = by_pop[..(n_items / 20).max(cfg.candidates * 4).min(n_items)].to_vec();
    let w = world.world();
    let logged = world.logged(&users, cfg.history, cfg.seed);
    let h = cfg.history;
    let mut out = Vec::new();
    for (ui, &user) in users.iter().enumerate() {
        // this user's transitions in the logs; a state is the history before one of them
        let rows: Vec<usize> = (0..logged.len())
            .filter(|&r| logged.users[r] == user)
            .collect();
        if rows.is_empty() {
            continue;
        }
        for s in 0..cfg.states_per_user {
            let mut srng =
                Rng::stream(cfg.seed, (0x9E_0002 << 40) | ((ui as u64) << 16) | s as u64);
            // prefer states with a full history
            let lo = rows.len().min(h);
            let r = rows
                [(lo + srng.below((rows.len() - lo).max(1) as u32) as usize).min(rows.len() - 1)];
            let hist_items = logged.hist_items[r * h..(r + 1) * h].to_vec();
            let hist_rewards = logged.hist_rewards[r * h..(r + 1) * h].to_vec();
            let seen = |i: u32| hist_items.contains(&i);
            let liked_cats: Vec<u32> = hist_items
                .iter()
                .zip(&hist_rewards)
                .filter(|(&i, &r)| i != PAD_ITEM && r >= 0.6)
                .map(|(&i, _)| w.item_category(i as usize))
                .collect();
            let k = cfg.candidates;
            let total = (cfg.mix.popular + cfg.mix.similar + cfg.mix.random).max(1e-6);
            let n_pop = ((cfg.mix.popular / total) * k as f32).round() as usize;
            let n_sim =
                (((cfg.mix.similar / total) * k as f32).round() as usize).min(k - n_pop.min(k));
            let mut cands: Vec<u32> = Vec::with_capacity(k);
            let mut sources: Vec<String> = Vec::with_capacity(k);
            let take = |item: u32, src: &str, cands: &mut Vec<u32>, sources: &mut Vec<String>| {
                if !seen(item) && !cands.contains(&item) {
                    cands.push(item);
                    sources.push(src.to_string());
                }
            };
            for _ in 0..n_pop * 20 {
                if cands.len() >= n_pop.min(k) {
                    break;
                }
                take(
                    top_pool[srng.below(top_pool.len() as u32) as usize],
                    "popular",
                    &mut cands,
                    &mut sources,
                );
            }
            let target = (cands.len() + n_sim).min(k);
            for _ in 0..n_sim * 200 {
                if cands.len() >= target || liked_cats.is_empty() {
                    break;
                }
                let cat = liked_cats[srng.below(liked_cats.len() as u32) as usize];
                let item = srng.below(n_items as u32);
                if w.item_category(item as usize) == cat {
                    take(item, "similar", &mut cands, &mut sources);
                }
            }
            for _ in 0..k * 200 {
                if cands.len() >= k {
                    break;
                }
                take(
                    srng.below(n_items as u32),
                    "random",
                    &mut cands,
                    &mut sources,
                );
            }
            if cands.len() < k {
                return Err(Error::new(format!(
                    "could not find {k} unseen candidates for user {user}"
                )));
            }
            // shuffle so position says nothing about the source
            for i in (1..k).rev() {
                let j = srng.below(i as u32 + 1) as usize;
                cands.swap(i, j);
                sources.swap(i, j);
            }
            out.push(PreferenceRequest {
                user,
                truth: cands
                    .iter()
                    .map(|&i| world.expected_reward(user, i as usize))
                    .collect(),
                popularity: cands.iter().map(|&i| popularity[i as usize]).collect(),
                hist_items,
                hist_rewards,
                candidates: cands,
                sources,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::EnvSpec;

    #[test]
    fn requests_are_seeded_and_well_formed() {
        let world = AnyWorld::build(&EnvSpec::synthetic(), None, None).unwrap();
        let cfg = RequestConfig {
            users: 12,
            ..Default::default()
        };
        let a = preference_requests(&world, &cfg).unwrap();
        assert_eq!(a, preference_requests(&world, &cfg).unwrap());
        assert_eq!(a.len(), 12);
        let (_, held_out) = world.user_split();
        for r in &a {
            assert_eq!(r.candidates.len(), 5);
            assert_eq!(r.hist_items.len(), 10);
            assert!(!held_out.contains(&r.user));
            assert!(r.candidates.iter().all(|c| !r.hist_items.contains(c)));
            assert!(r.truth.iter().all(|t| (0.0..=1.0).contains(t)));
            let mut c = r.candidates.clone();
            c.sort();
            c.dedup();
            assert_eq!(c.len(), 5);
        }
        assert!(a.iter().any(|r| r.sources.iter().any(|s| s == "similar")));
        let e = preference_requests(
            &world,
            &RequestConfig {
                pool: "x".into(),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(e.message().contains("pool"), "{e}");
    }
}
