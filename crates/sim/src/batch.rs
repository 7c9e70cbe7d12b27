//! `BatchEnv`: B simulated users stepped by one call, state kept in flat
//! struct-of-arrays buffers, with the quit model and optional auto-reset.

use crate::error::{check_min, Error, Result};
#[cfg(not(target_arch = "wasm32"))]
use crate::pool::ThreadPool;
use crate::quit::QuitConfig;
use crate::rng::Rng;
use crate::world::World;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The largest batch (slot streams stay below 2^24, see `Rng::stream`).
pub const MAX_BATCH: usize = 1 << 24;
/// The longest history an observation can hold.
pub const MAX_HISTORY: usize = 4096;

/// Marks an empty history position in observations.
pub const PAD_ITEM: u32 = u32::MAX;

/// Fewest slots worth a thread of their own: a step of 4096 `synthetic` users
/// takes a few hundred microseconds, far more than waking a parked thread.
pub const MIN_SLOTS_PER_THREAD: usize = 4096;

/// Most threads one environment may use.
pub const MAX_THREADS: usize = 256;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
    /// Threads that step the batch, the calling one included (1..=256). Used
    /// only up to one per [`MIN_SLOTS_PER_THREAD`] slots, and never on wasm32;
    /// results are the same for any value. Training (A2C, A-iALP) also splits
    /// its network's large products over the batch's users across them.
    pub threads: usize,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            batch_size: 64,
            history: 10,
            warm_start: 3,
            auto_reset: true,
            seed: 0,
            threads: 1,
        }
    }
}

impl BatchConfig {
    pub fn validate(&self) -> Result<()> {
        check_min("batchSize", self.batch_size, 1)?;
        check_min("history", self.history, 1)?;
        // bounds that keep buffers allocatable (a failed allocation aborts)
        if self.batch_size > MAX_BATCH {
            return Err(Error::invalid(
                "batchSize",
                &format!("at most {MAX_BATCH}"),
                self.batch_size,
            ));
        }
        if self.history > MAX_HISTORY {
            return Err(Error::invalid(
                "history",
                &format!("at most {MAX_HISTORY}"),
                self.history,
            ));
        }
        // checked: on wasm32 (a 32-bit usize) the plain product of the two
        // bounds above overflows and would pass
        crate::limits::checked_product(
            "batchSize x history",
            &[self.batch_size, self.history],
            MAX_BATCH * 16,
        )?;
        if self.warm_start > self.history {
            return Err(Error::invalid(
                "warmStart",
                &format!("at most history ({})", self.history),
                self.warm_start,
            ));
        }
        check_threads(self.threads)
    }
}

fn check_threads(threads: usize) -> Result<()> {
    if !(1..=MAX_THREADS).contains(&threads) {
        return Err(Error::invalid(
            "threads",
            &format!("an integer in [1, {MAX_THREADS}]"),
            threads,
        ));
    }
    Ok(())
}

/// A finished episode.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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

/// wasm32 has no threads: a stand-in that runs the chunks in order. It is never
/// started there (`start_workers` keeps one thread), but keeps one code path.
#[cfg(target_arch = "wasm32")]
struct ThreadPool;

#[cfg(target_arch = "wasm32")]
impl ThreadPool {
    fn new(_threads: usize) -> Self {
        ThreadPool
    }
    fn threads(&self) -> usize {
        1
    }
    fn for_each_mut<T: Send>(&mut self, items: &mut [T], f: impl Fn(usize, &mut T) + Sync) {
        items.iter_mut().enumerate().for_each(|(i, x)| f(i, x));
    }
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
    /// Steps contiguous chunks of slots in parallel; `None` = on the caller's thread.
    workers: Option<ThreadPool>,
    /// One per chunk of a step: episodes each chunk finished, merged in chunk
    /// order, and buffers.
    chunk_scratch: Vec<Scratch>,
    /// [`MIN_SLOTS_PER_THREAD`], lowered by tests to thread small batches.
    min_chunk: usize,
}

/// What every slot reads and none writes during a step.
struct Ctx<'a, W> {
    world: &'a W,
    quit: &'a QuitConfig,
    pool: &'a [u32],
    cfg: &'a BatchConfig,
    sd: usize,
}

/// The state of a contiguous range of slots: one sub-slice of each SoA buffer.
/// Every slot draws from its own RNG, so a range steps the same on any thread.
struct Slots<'a> {
    /// Batch index of the first slot.
    first: usize,
    users: &'a mut [u32],
    state: &'a mut [f32],
    hist_items: &'a mut [u32],
    hist_rewards: &'a mut [f32],
    hist_len: &'a mut [u32],
    hist_pos: &'a mut [u32],
    win_cats: &'a mut [u32],
    win_rewards: &'a mut [f32],
    win_len: &'a mut [u32],
    win_pos: &'a mut [u32],
    steps: &'a mut [u32],
    ep_reward: &'a mut [f32],
    done: &'a mut [bool],
    rngs: &'a mut [Rng],
}

/// One thread's share of a step: its slots and their parts of the call's arrays.
struct Chunk<'a> {
    slots: Slots<'a>,
    actions: &'a [u32],
    rewards: &'a mut [f32],
    dones: &'a mut [u8],
    scratch: &'a mut Scratch,
}

impl<'a> Slots<'a> {
    fn len(&self) -> usize {
        self.users.len()
    }

    /// The first `n` slots and the rest.
    fn split_at<W: World>(self, n: usize, ctx: &Ctx<W>) -> (Slots<'a>, Slots<'a>) {
        let (h, w, sd) = (ctx.cfg.history, ctx.quit.window, ctx.sd);
        let (users, users2) = self.users.split_at_mut(n);
        let (state, state2) = self.state.split_at_mut(n * sd);
        let (hist_items, hist_items2) = self.hist_items.split_at_mut(n * h);
        let (hist_rewards, hist_rewards2) = self.hist_rewards.split_at_mut(n * h);
        let (hist_len, hist_len2) = self.hist_len.split_at_mut(n);
        let (hist_pos, hist_pos2) = self.hist_pos.split_at_mut(n);
        let (win_cats, win_cats2) = self.win_cats.split_at_mut(n * w);
        let (win_rewards, win_rewards2) = self.win_rewards.split_at_mut(n * w);
        let (win_len, win_len2) = self.win_len.split_at_mut(n);
        let (win_pos, win_pos2) = self.win_pos.split_at_mut(n);
        let (steps, steps2) = self.steps.split_at_mut(n);
        let (ep_reward, ep_reward2) = self.ep_reward.split_at_mut(n);
        let (done, done2) = self.done.split_at_mut(n);
        let (rngs, rngs2) = self.rngs.split_at_mut(n);
        (
            Slots {
                first: self.first,
                users,
                state,
                hist_items,
                hist_rewards,
                hist_len,
                hist_pos,
                win_cats,
                win_rewards,
                win_len,
                win_pos,
                steps,
                ep_reward,
                done,
                rngs,
            },
            Slots {
                first: self.first + n,
                users: users2,
                state: state2,
                hist_items: hist_items2,
                hist_rewards: hist_rewards2,
                hist_len: hist_len2,
                hist_pos: hist_pos2,
                win_cats: win_cats2,
                win_rewards: win_rewards2,
                win_len: win_len2,
                win_pos: win_pos2,
                steps: steps2,
                ep_reward: ep_reward2,
                done: done2,
                rngs: rngs2,
            },
        )
    }

    #[inline]
    fn push_history(&mut self, h: usize, s: usize, item: u32, r: f32) {
        let p = self.hist_pos[s] as usize;
        self.hist_items[s * h + p] = item;
        self.hist_rewards[s * h + p] = r;
        self.hist_pos[s] = if p + 1 == h { 0 } else { p as u32 + 1 };
        self.hist_len[s] = (self.hist_len[s] + 1).min(h as u32);
    }

    /// Starts each slot of `slots` (ascending) on a new user: what
    /// `reset_slot` did one slot at a time, with the warm-start responses of
    /// all the slots batched (each slot's own draws keep their order).
    /// `scratch` holds items and rewards.
    fn reset_slots<W: World>(&mut self, ctx: &Ctx<W>, slots: &[u32], scratch: &mut Scratch) {
        let (sd, h) = (ctx.sd, ctx.cfg.history);
        for &s in slots {
            let s = s as usize;
            let rng = &mut self.rngs[s];
            let user = if ctx.pool.is_empty() {
                rng.below(ctx.world.n_users() as u32)
            } else {
                ctx.pool[rng.below(ctx.pool.len() as u32) as usize]
            };
            self.users[s] = user;
            ctx.world
                .init_user(user, &mut self.state[s * sd..(s + 1) * sd]);
            self.hist_len[s] = 0;
            self.hist_pos[s] = 0;
            self.win_len[s] = 0;
            self.win_pos[s] = 0;
            self.steps[s] = 0;
            self.ep_reward[s] = 0.0;
            self.done[s] = false;
            self.hist_items[s * h..(s + 1) * h].fill(PAD_ITEM);
            self.hist_rewards[s * h..(s + 1) * h].fill(0.0);
        }
        if ctx.cfg.warm_start == 0 || slots.is_empty() {
            return;
        }
        let n_items = ctx.world.n_items() as u32;
        let (items, rewards) = (&mut scratch.items, &mut scratch.rewards);
        items.resize(slots.len(), 0);
        rewards.resize(slots.len(), 0.0);
        for _ in 0..ctx.cfg.warm_start {
            for (item, &s) in items.iter_mut().zip(slots) {
                *item = self.rngs[s as usize].below(n_items);
            }
            ctx.world
                .respond_at(self.users, self.state, self.rngs, slots, items, rewards);
            for ((&s, &item), &r) in slots.iter().zip(items.iter()).zip(rewards.iter()) {
                self.push_history(h, s as usize, item, r);
            }
        }
    }

    /// Steps every slot of the range; `actions`, `rewards` and `dones` hold one
    /// entry per slot of the range, episodes that end go to `scratch.finished`
    /// in slot order.
    fn step<W: World>(
        &mut self,
        ctx: &Ctx<W>,
        actions: &[u32],
        rewards: &mut [f32],
        dones: &mut [u8],
        scratch: &mut Scratch,
    ) {
        let (h, w) = (ctx.cfg.history, ctx.quit.window);
        scratch.slots.clear();
        // every reward first (the world may interleave users), then the
        // bookkeeping in slot order; a slot's own steps keep their order
        ctx.world.respond_batch(
            self.users, self.state, actions, self.rngs, self.done, rewards,
        );
        // every per-slot array resliced to the range's length, so that indexing
        // by slot needs no bounds checks
        let n = self.len();
        let (actions, rewards, dones) = (&actions[..n], &mut rewards[..n], &mut dones[..n]);
        let (users, done, steps, ep_reward) = (
            &self.users[..n],
            &mut self.done[..n],
            &mut self.steps[..n],
            &mut self.ep_reward[..n],
        );
        let (hist_items, hist_rewards, hist_len, hist_pos) = (
            &mut self.hist_items[..n * h],
            &mut self.hist_rewards[..n * h],
            &mut self.hist_len[..n],
            &mut self.hist_pos[..n],
        );
        let (win_cats, win_rewards, win_len, win_pos) = (
            &mut self.win_cats[..n * w],
            &mut self.win_rewards[..n * w],
            &mut self.win_len[..n],
            &mut self.win_pos[..n],
        );
        for s in 0..n {
            if done[s] {
                rewards[s] = 0.0;
                dones[s] = 1;
                continue;
            }
            let (a, r) = (actions[s], rewards[s]);
            // push_history
            let p = hist_pos[s] as usize;
            hist_items[s * h + p] = a;
            hist_rewards[s * h + p] = r;
            hist_pos[s] = if p + 1 == h { 0 } else { p as u32 + 1 };
            hist_len[s] = (hist_len[s] + 1).min(h as u32);
            let cat = ctx.world.item_category(a as usize);
            let p = win_pos[s] as usize;
            let filled = (win_len[s] as usize + 1).min(w);
            let cats = &mut win_cats[s * w..(s + 1) * w];
            // the window's entries equal to `cat` once `cat` is at p, counted
            // before writing it: a vector load of what was just written in
            // scalars would wait for the store (no store-to-load forwarding)
            let same = 1 + cats[..filled]
                .iter()
                .enumerate()
                .filter(|&(k, &c)| k != p && c == cat)
                .count();
            cats[p] = cat;
            let wr = &mut win_rewards[s * w..(s + 1) * w];
            wr[p] = r;
            win_pos[s] = if p + 1 == w { 0 } else { p as u32 + 1 };
            win_len[s] = filled as u32;
            steps[s] += 1;
            ep_reward[s] += r;
            let quit = ctx
                .quit
                .should_quit_counted(same, wr, filled, steps[s] as usize);
            dones[s] = quit as u8;
            if quit {
                scratch.finished.push(EpisodeStat {
                    slot: (self.first + s) as u32,
                    user: users[s],
                    total_reward: ep_reward[s],
                    length: steps[s],
                });
                if ctx.cfg.auto_reset {
                    scratch.slots.push(s as u32);
                } else {
                    done[s] = true;
                }
            }
        }
        // the new users after every reward: their warm starts batch
        let slots = std::mem::take(&mut scratch.slots);
        self.reset_slots(ctx, &slots, scratch);
        scratch.slots = slots;
    }
}

/// Buffers a step reuses: the episodes it finished, the slots to reset, their
/// warm-start items and rewards.
#[derive(Default)]
struct Scratch {
    finished: Vec<EpisodeStat>,
    slots: Vec<u32>,
    items: Vec<u32>,
    rewards: Vec<f32>,
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
            workers: None,
            chunk_scratch: Vec::new(),
            min_chunk: MIN_SLOTS_PER_THREAD,
            world,
            quit,
            cfg,
        };
        env.start_workers();
        env.reset();
        Ok(env)
    }

    pub fn world(&self) -> &Arc<W> {
        &self.world
    }

    /// Steps with up to `threads` threads (1..=256) from the next call on; see
    /// [`BatchConfig::threads`]. Results do not depend on it.
    pub fn set_threads(&mut self, threads: usize) -> Result<()> {
        check_threads(threads)?;
        self.cfg.threads = threads;
        self.start_workers();
        Ok(())
    }

    /// Threads a step uses: `threads`, at most one per `MIN_SLOTS_PER_THREAD`
    /// slots, 1 on wasm32.
    pub fn threads_used(&self) -> usize {
        self.workers.as_ref().map_or(1, |p| p.threads())
    }

    /// (Re)starts the pool for the threads the current batch can use.
    fn start_workers(&mut self) {
        let n = if cfg!(target_arch = "wasm32") {
            1
        } else {
            (self.cfg.batch_size / self.min_chunk).clamp(1, self.cfg.threads)
        };
        if n != self.threads_used() {
            self.workers = (n > 1).then(|| ThreadPool::new(n));
        }
    }

    /// Every slot as one range, and what the slots share.
    fn slots(&mut self) -> (Ctx<'_, W>, Slots<'_>) {
        (
            Ctx {
                world: &self.world,
                quit: &self.quit,
                pool: &self.pool,
                cfg: &self.cfg,
                sd: self.sd,
            },
            Slots {
                first: 0,
                users: &mut self.users,
                state: &mut self.state,
                hist_items: &mut self.hist_items,
                hist_rewards: &mut self.hist_rewards,
                hist_len: &mut self.hist_len,
                hist_pos: &mut self.hist_pos,
                win_cats: &mut self.win_cats,
                win_rewards: &mut self.win_rewards,
                win_len: &mut self.win_len,
                win_pos: &mut self.win_pos,
                steps: &mut self.steps,
                ep_reward: &mut self.ep_reward,
                done: &mut self.done,
                rngs: &mut self.rngs,
            },
        )
    }

    /// Steps contiguous chunks of slots on the pool's threads. Each chunk sees
    /// only its own slots and RNGs and its finished episodes are merged in chunk
    /// order, so the outcome is identical to stepping all slots in order.
    fn step_threaded(&mut self, actions: &[u32], rewards: &mut [f32], dones: &mut [u8]) {
        let mut workers = self.workers.take().expect("a thread pool");
        let n = workers.threads();
        let per = self.cfg.batch_size.div_ceil(n);
        let mut chunk_scratch = std::mem::take(&mut self.chunk_scratch);
        chunk_scratch.resize_with(n, Scratch::default);
        {
            let (ctx, mut rest) = self.slots();
            let (mut actions, mut rewards, mut dones) = (actions, rewards, dones);
            let mut chunks = Vec::with_capacity(n);
            for scratch in chunk_scratch.iter_mut() {
                let k = per.min(rest.len());
                let (slots, tail) = rest.split_at(k, &ctx);
                rest = tail;
                let (a, a2) = actions.split_at(k);
                let (r, r2) = rewards.split_at_mut(k);
                let (d, d2) = dones.split_at_mut(k);
                (actions, rewards, dones) = (a2, r2, d2);
                chunks.push(Chunk {
                    slots,
                    actions: a,
                    rewards: r,
                    dones: d,
                    scratch,
                });
            }
            workers.for_each_mut(&mut chunks, |_, c| {
                c.slots.step(&ctx, c.actions, c.rewards, c.dones, c.scratch)
            });
        }
        for c in chunk_scratch.iter_mut() {
            self.finished.append(&mut c.finished);
        }
        self.chunk_scratch = chunk_scratch;
        self.workers = Some(workers);
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
        let mut scratch = std::mem::take(&mut self.chunk_scratch);
        scratch.resize_with(1, Scratch::default);
        let all: Vec<u32> = (0..self.cfg.batch_size as u32).collect();
        let (ctx, mut slots) = self.slots();
        slots.reset_slots(&ctx, &all, &mut scratch[0]);
        self.chunk_scratch = scratch;
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
        if self.workers.is_some() {
            self.step_threaded(actions, rewards, dones);
        } else {
            let mut scratch = std::mem::take(&mut self.chunk_scratch);
            scratch.resize_with(1, Scratch::default);
            let (ctx, mut slots) = self.slots();
            slots.step(&ctx, actions, rewards, dones, &mut scratch[0]);
            self.finished.append(&mut scratch[0].finished);
            self.chunk_scratch = scratch;
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

    /// Everything a run shows: rewards, dones, final observations, episodes, users.
    type Trace = (
        Vec<f32>,
        Vec<u8>,
        Vec<u32>,
        Vec<f32>,
        Vec<EpisodeStat>,
        Vec<u32>,
    );

    fn trace(mut e: BatchEnv<Synthetic>, steps: usize) -> Trace {
        let b = e.batch_size();
        let (mut r, mut d) = (vec![0f32; b], vec![0u8; b]);
        let (mut all_r, mut all_d) = (Vec::new(), Vec::new());
        let mut rng = Rng::new(2);
        let mut a = vec![0u32; b];
        for _ in 0..steps {
            a.iter_mut()
                .for_each(|x| *x = rng.below(e.n_items() as u32));
            e.step(&a, &mut r, &mut d).unwrap();
            all_r.extend_from_slice(&r);
            all_d.extend_from_slice(&d);
        }
        let h = e.history();
        let (mut it, mut rw) = (vec![0u32; b * h], vec![0f32; b * h]);
        e.observe(&mut it, &mut rw).unwrap();
        (all_r, all_d, it, rw, e.drain_episodes(), e.users().to_vec())
    }

    #[test]
    fn threads_do_not_change_results() {
        for auto_reset in [true, false] {
            let run = |threads: usize| {
                let mut e = env(10, auto_reset);
                e.min_chunk = 2; // thread even this small batch
                e.set_threads(threads).unwrap();
                assert_eq!(e.threads_used(), threads);
                e.set_user_pool((0..500).collect()).unwrap();
                trace(e, 200)
            };
            let one = run(1);
            assert!(one.4.len() >= 10, "episodes end and are merged");
            // 2 chunks of 5; 3 chunks of 4, 4, 2
            assert_eq!(run(2), one);
            assert_eq!(run(3), one);
        }
    }

    #[test]
    fn large_batches_use_the_pool() {
        let b = 2 * MIN_SLOTS_PER_THREAD + 3;
        let run = |threads: usize| {
            let mut e = env(b, true);
            e.set_threads(threads).unwrap();
            assert_eq!(e.threads_used(), threads.min(2));
            trace(e, 30)
        };
        let one = run(1);
        assert_eq!(run(2), one);
        assert_eq!(run(3), one);
        // too small a batch stays on the caller's thread
        let mut small = env(MIN_SLOTS_PER_THREAD, true);
        small.set_threads(4).unwrap();
        assert_eq!(small.threads_used(), 1);
    }

    #[test]
    fn threads_are_validated_and_read_from_json() {
        let mut e = env(2, true);
        assert_eq!(
            e.set_threads(0).unwrap_err().message(),
            "threads: expected an integer in [1, 256], got 0"
        );
        assert!(e.set_threads(257).is_err());
        let spec =
            crate::EnvSpec::from_json(r#"{"name":"synthetic","batch":{"threads":2}}"#).unwrap();
        assert_eq!(spec.batch.threads, 2);
        assert_eq!(crate::EnvSpec::synthetic().batch.threads, 1);
        let bad = BatchConfig {
            threads: 300,
            ..Default::default()
        };
        assert!(bad.validate().is_err());
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
