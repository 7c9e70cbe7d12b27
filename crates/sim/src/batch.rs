//! `BatchEnv`: B simulated users stepped by one call, state kept in flat
//! struct-of-arrays buffers, with the quit model and optional auto-reset.

use crate::error::{check_min, Error, Result};
use crate::quit::QuitConfig;
use crate::rng::Rng;
use crate::world::World;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Marks an empty history position in observations.
pub const PAD_ITEM: u32 = u32::MAX;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct BatchConfig {
    /// B: users stepped together.
    pub batch_size: usize,
    /// H: interactions kept in the observation.
    pub history: usize,
    /// Random interactions already in the history when a user arrives, so the
    /// first state says something about the user.
    pub warm_start: usize,
    /// Replace a user who quits by a new one within the same call.
    pub auto_reset: bool,
    /// Seed of episodes (which users arrive, reward noise).
    pub seed: u64,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            batch_size: 64,
            history: 10,
            warm_start: 3,
            auto_reset: true,
            seed: 0,
        }
    }
}

impl BatchConfig {
    pub fn validate(&self) -> Result<()> {
        check_min("batchSize", self.batch_size, 1)?;
        check_min("history", self.history, 1)?;
        if self.warm_start > self.history {
            return Err(Error::invalid(
                "warmStart",
                &format!("at most history ({})", self.history),
                self.warm_start,
            ));
        }
        Ok(())
    }
}

/// A finished episode.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpisodeStat {
    pub slot: u32,
    pub user: u32,
    pub total_reward: f32,
    pub length: u32,
}

/// What trainers and bindings need of any batched environment.
pub trait VecEnv: Send {
    fn name(&self) -> &str;
    fn batch_size(&self) -> usize;
    fn history(&self) -> usize;
    fn n_items(&self) -> usize;
    fn n_users(&self) -> usize;
    fn n_categories(&self) -> usize;
    fn item_category(&self, item: usize) -> u32;
    fn feature_dim(&self) -> usize;
    fn item_features(&self) -> &[f32];
    /// Start every slot on a fresh user.
    fn reset(&mut self);
    /// Writes the B x H histories (oldest first, PAD_ITEM where empty) and their rewards.
    fn observe(&self, items: &mut [u32], rewards: &mut [f32]) -> Result<()>;
    /// One action per slot; writes each slot's reward and whether its episode ended.
    fn step(&mut self, actions: &[u32], rewards: &mut [f32], dones: &mut [u8]) -> Result<()>;
    /// Episodes finished since the last call.
    fn drain_episodes(&mut self) -> Vec<EpisodeStat>;
    /// The user currently in each slot.
    fn users(&self) -> &[u32];
    /// Restrict arriving users to this pool (e.g. held-out users); empty = everyone.
    fn set_user_pool(&mut self, users: Vec<u32>) -> Result<()>;
}

pub struct BatchEnv<W: World> {
    world: Arc<W>,
    quit: QuitConfig,
    cfg: BatchConfig,
    sd: usize,
    pool: Vec<u32>,
    users: Vec<u32>,
    state: Vec<f32>,
    /// Ring buffers: `hist_*` B x H, `win_*` B x W; `*_pos` is the next write index.
    hist_items: Vec<u32>,
    hist_rewards: Vec<f32>,
    hist_len: Vec<u32>,
    hist_pos: Vec<u32>,
    win_cats: Vec<u32>,
    win_rewards: Vec<f32>,
    win_len: Vec<u32>,
    win_pos: Vec<u32>,
    steps: Vec<u32>,
    ep_reward: Vec<f32>,
    done: Vec<bool>,
    rngs: Vec<Rng>,
    finished: Vec<EpisodeStat>,
}

impl<W: World> BatchEnv<W> {
    pub fn new(world: Arc<W>, quit: QuitConfig, cfg: BatchConfig) -> Result<Self> {
        cfg.validate()?;
        quit.validate()?;
        let (b, h, w, sd) = (
            cfg.batch_size,
            cfg.history,
            quit.window,
            world.user_state_dim(),
        );
        let mut env = BatchEnv {
            sd,
            pool: Vec::new(),
            users: vec![0; b],
            state: vec![0.0; b * sd],
            hist_items: vec![PAD_ITEM; b * h],
            hist_rewards: vec![0.0; b * h],
            hist_len: vec![0; b],
            hist_pos: vec![0; b],
            win_cats: vec![0; b * w],
            win_rewards: vec![0.0; b * w],
            win_len: vec![0; b],
            win_pos: vec![0; b],
            steps: vec![0; b],
            ep_reward: vec![0.0; b],
            done: vec![false; b],
            rngs: (0..b).map(|s| Rng::stream(cfg.seed, s as u64)).collect(),
            finished: Vec::new(),
            world,
            quit,
            cfg,
        };
        env.reset();
        Ok(env)
    }

    pub fn world(&self) -> &Arc<W> {
        &self.world
    }

    fn push_history(&mut self, s: usize, item: u32, r: f32) {
        let h = self.cfg.history;
        let p = self.hist_pos[s] as usize;
        self.hist_items[s * h + p] = item;
        self.hist_rewards[s * h + p] = r;
        self.hist_pos[s] = ((p + 1) % h) as u32;
        self.hist_len[s] = (self.hist_len[s] + 1).min(h as u32);
    }

    fn reset_slot(&mut self, s: usize) {
        let rng = &mut self.rngs[s];
        let user = if self.pool.is_empty() {
            rng.below(self.world.n_users() as u32)
        } else {
            self.pool[rng.below(self.pool.len() as u32) as usize]
        };
        self.users[s] = user;
        let st = &mut self.state[s * self.sd..(s + 1) * self.sd];
        self.world.init_user(user, st);
        self.hist_len[s] = 0;
        self.hist_pos[s] = 0;
        self.win_len[s] = 0;
        self.win_pos[s] = 0;
        self.steps[s] = 0;
        self.ep_reward[s] = 0.0;
        self.done[s] = false;
        let h = self.cfg.history;
        self.hist_items[s * h..(s + 1) * h].fill(PAD_ITEM);
        self.hist_rewards[s * h..(s + 1) * h].fill(0.0);
        for _ in 0..self.cfg.warm_start {
            let rng = &mut self.rngs[s];
            let item = rng.below(self.world.n_items() as u32);
            let st = &mut self.state[s * self.sd..(s + 1) * self.sd];
            let r = self.world.respond(user, st, item, rng);
            self.push_history(s, item, r);
        }
    }
}

impl<W: World> VecEnv for BatchEnv<W> {
    fn name(&self) -> &str {
        self.world.name()
    }
    fn batch_size(&self) -> usize {
        self.cfg.batch_size
    }
    fn history(&self) -> usize {
        self.cfg.history
    }
    fn n_items(&self) -> usize {
        self.world.n_items()
    }
    fn n_users(&self) -> usize {
        self.world.n_users()
    }
    fn n_categories(&self) -> usize {
        self.world.n_categories()
    }
    fn item_category(&self, item: usize) -> u32 {
        self.world.item_category(item)
    }
    fn feature_dim(&self) -> usize {
        self.world.feature_dim()
    }
    fn item_features(&self) -> &[f32] {
        self.world.item_features()
    }
    fn users(&self) -> &[u32] {
        &self.users
    }

    fn reset(&mut self) {
        for s in 0..self.cfg.batch_size {
            self.reset_slot(s);
        }
    }

    fn set_user_pool(&mut self, users: Vec<u32>) -> Result<()> {
        if let Some((i, &u)) = users
            .iter()
            .enumerate()
            .find(|(_, &u)| u as usize >= self.world.n_users())
        {
            return Err(Error::invalid(
                &format!("user pool[{i}]"),
                &format!("a user id < {}", self.world.n_users()),
                u,
            ));
        }
        self.pool = users;
        self.reset();
        Ok(())
    }

    fn observe(&self, items: &mut [u32], rewards: &mut [f32]) -> Result<()> {
        let (b, h) = (self.cfg.batch_size, self.cfg.history);
        check_len("observation items", items.len(), b * h)?;
        check_len("observation rewards", rewards.len(), b * h)?;
        for s in 0..b {
            let len = self.hist_len[s] as usize;
            let pos = self.hist_pos[s] as usize;
            let (oi, or) = (
                &mut items[s * h..(s + 1) * h],
                &mut rewards[s * h..(s + 1) * h],
            );
            // oldest first, right-aligned: the latest interaction is always at index H-1
            let pad = h - len;
            oi[..pad].fill(PAD_ITEM);
            or[..pad].fill(0.0);
            for j in 0..len {
                let src = s * h + (pos + h - len + j) % h;
                oi[pad + j] = self.hist_items[src];
                or[pad + j] = self.hist_rewards[src];
            }
        }
        Ok(())
    }

    fn step(&mut self, actions: &[u32], rewards: &mut [f32], dones: &mut [u8]) -> Result<()> {
        let b = self.cfg.batch_size;
        check_len("actions", actions.len(), b)?;
        check_len("rewards", rewards.len(), b)?;
        check_len("dones", dones.len(), b)?;
        let n_items = self.world.n_items();
        if let Some((s, &a)) = actions
            .iter()
            .enumerate()
            .find(|(_, &a)| a as usize >= n_items)
        {
            return Err(Error::invalid(
                &format!("actions[{s}]"),
                &format!("an item id < {n_items}"),
                a,
            ));
        }
        let w = self.quit.window;
        for s in 0..b {
            if self.done[s] {
                rewards[s] = 0.0;
                dones[s] = 1;
                continue;
            }
            let a = actions[s];
            let user = self.users[s];
            let r = {
                let st = &mut self.state[s * self.sd..(s + 1) * self.sd];
                self.world.respond(user, st, a, &mut self.rngs[s])
            };
            rewards[s] = r;
            self.push_history(s, a, r);
            let cat = self.world.item_category(a as usize);
            let p = self.win_pos[s] as usize;
            self.win_cats[s * w + p] = cat;
            self.win_rewards[s * w + p] = r;
            self.win_pos[s] = ((p + 1) % w) as u32;
            self.win_len[s] = (self.win_len[s] + 1).min(w as u32);
            self.steps[s] += 1;
            self.ep_reward[s] += r;
            let quit = self.quit.should_quit(
                &self.win_cats[s * w..(s + 1) * w],
                &self.win_rewards[s * w..(s + 1) * w],
                self.win_len[s] as usize,
                cat,
                self.steps[s] as usize,
            );
            dones[s] = quit as u8;
            if quit {
                self.finished.push(EpisodeStat {
                    slot: s as u32,
                    user,
                    total_reward: self.ep_reward[s],
                    length: self.steps[s],
                });
                if self.cfg.auto_reset {
                    self.reset_slot(s);
                } else {
                    self.done[s] = true;
                }
            }
        }
        Ok(())
    }

    fn drain_episodes(&mut self) -> Vec<EpisodeStat> {
        std::mem::take(&mut self.finished)
    }
}

fn check_len(what: &str, got: usize, expected: usize) -> Result<()> {
    if got != expected {
        return Err(Error::invalid(
            &format!("{what} length"),
            &expected.to_string(),
            got,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::{Synthetic, SyntheticConfig};

    fn env(b: usize, auto_reset: bool) -> BatchEnv<Synthetic> {
        let w = Arc::new(Synthetic::new(SyntheticConfig::default()).unwrap());
        BatchEnv::new(
            w,
            QuitConfig::default(),
            BatchConfig {
                batch_size: b,
                auto_reset,
                seed: 5,
                ..Default::default()
            },
        )
        .unwrap()
    }

    #[test]
    fn observation_is_right_aligned_history() {
        let mut e = env(2, true);
        let h = e.history();
        let (mut it, mut rw) = (vec![0u32; 2 * h], vec![0f32; 2 * h]);
        e.observe(&mut it, &mut rw).unwrap();
        // warm start of 3: 7 pads then 3 items
        assert!(it[..h - 3].iter().all(|&x| x == PAD_ITEM));
        assert!(it[h - 3..h].iter().all(|&x| (x as usize) < e.n_items()));
        let (mut r, mut d) = (vec![0f32; 2], vec![0u8; 2]);
        e.step(&[7, 8], &mut r, &mut d).unwrap();
        e.observe(&mut it, &mut rw).unwrap();
        if d[0] == 0 {
            assert_eq!(it[h - 1], 7);
            assert_eq!(rw[h - 1], r[0]);
        }
    }

    #[test]
    fn same_category_every_step_quits_from_boredom() {
        let mut e = env(4, false);
        let cat0 = e.item_category(0);
        let same: Vec<u32> = (0..e.n_items() as u32)
            .filter(|&i| e.item_category(i as usize) == cat0)
            .take(3)
            .collect();
        let (mut r, mut d) = (vec![0f32; 4], vec![0u8; 4]);
        let mut ended_at = None;
        for (t, &item) in same.iter().enumerate() {
            e.step(&[item; 4], &mut r, &mut d).unwrap();
            if d.iter().all(|&x| x == 1) {
                ended_at = Some(t + 1);
                break;
            }
        }
        assert_eq!(ended_at, Some(3));
        let eps = e.drain_episodes();
        assert_eq!(eps.len(), 4);
        assert!(eps.iter().all(|s| s.length == 3));
        // done slots stay done without auto-reset
        e.step(&[1; 4], &mut r, &mut d).unwrap();
        assert_eq!(r, vec![0.0; 4]);
        assert!(e.drain_episodes().is_empty());
    }

    #[test]
    fn deterministic_and_length_capped() {
        let run = || {
            let mut e = env(8, true);
            let (mut r, mut d) = (vec![0f32; 8], vec![0u8; 8]);
            let mut rng = Rng::new(1);
            let mut total = 0f64;
            for _ in 0..500 {
                let a: Vec<u32> = (0..8).map(|_| rng.below(e.n_items() as u32)).collect();
                e.step(&a, &mut r, &mut d).unwrap();
                total += r.iter().map(|&x| x as f64).sum::<f64>();
            }
            let eps = e.drain_episodes();
            assert!(eps.iter().all(|s| s.length >= 1 && s.length <= 50));
            (total, eps.len())
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn bad_lengths_and_actions_are_errors() {
        let mut e = env(2, true);
        let (mut r, mut d) = (vec![0f32; 2], vec![0u8; 2]);
        let err = e.step(&[1], &mut r, &mut d).unwrap_err();
        assert_eq!(err.message(), "actions length: expected 2, got 1");
        let err = e.step(&[1, 100_000], &mut r, &mut d).unwrap_err();
        assert!(err.message().starts_with("actions[1]"), "{err}");
        assert!(e.set_user_pool(vec![0, 99_999_999]).is_err());
    }
}
