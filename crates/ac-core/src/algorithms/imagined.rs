//! The world a preference model imagines: a [`World`] whose users are start
//! states from the logs (the logged histories of training users), whose
//! rewards come from a user model such as r_phi, and whose items, categories
//! and features are the real environment's. A `BatchEnv` steps it with the
//! environment's own quit model, so iALP trains its policy there with the
//! same A2C as online (model-based pre-training, as MBPO/DORL in the field).
//!
//! A user's state is its hidden history (the start state, then what it was
//! shown and how it answered, H entries kept); the policy sees only what an
//! online policy sees (the warm start and its own recommendations).

use crate::reward_model::RewardModel;
use ialp_sim::logged::LoggedData;
use ialp_sim::{AnyWorld, Error, Result, Rng, World, PAD_ITEM};

/// What the imagined world asks of a model of users: the reward of each row
/// (start state, hidden history, item).
pub trait UserModel: Send + Sync {
    fn rewards(
        &self,
        starts: &[u32],
        hist_items: &[u32],
        hist_rewards: &[f32],
        items: &[u32],
    ) -> Result<Vec<f32>>;
}

/// A monotone map from scores to the reward scale: isotonic regression (pool
/// adjacent violators), interpolated linearly between the blocks' centres and
/// constant beyond the ends.
#[derive(Clone, Debug, PartialEq)]
pub struct Isotonic {
    xs: Vec<f32>,
    ys: Vec<f32>,
}

impl Isotonic {
    /// Fits `targets` as a non-decreasing function of `scores`.
    pub fn fit(scores: &[f32], targets: &[f32]) -> Result<Self> {
        if scores.len() != targets.len() || scores.is_empty() {
            return Err(Error::new(format!(
                "isotonic calibration: {} scores and {} targets (need as many, at least one)",
                scores.len(),
                targets.len()
            )));
        }
        let mut order: Vec<usize> = (0..scores.len()).collect();
        ialp_sim::order::sort_by(&mut order, &|&a, &b| {
            scores[a].total_cmp(&scores[b]).then(a.cmp(&b))
        });
        // blocks of (sum of x, sum of y, count), means non-decreasing in y
        let mut blocks: Vec<(f64, f64, f64)> = Vec::new();
        for &i in &order {
            blocks.push((scores[i] as f64, targets[i] as f64, 1.0));
            while blocks.len() > 1 {
                let (x1, y1, n1) = blocks[blocks.len() - 1];
                let (x0, y0, n0) = blocks[blocks.len() - 2];
                if y0 / n0 < y1 / n1 {
                    break;
                }
                blocks.pop();
                *blocks.last_mut().expect("two blocks") = (x0 + x1, y0 + y1, n0 + n1);
            }
        }
        Ok(Isotonic {
            xs: blocks.iter().map(|b| (b.0 / b.2) as f32).collect(),
            ys: blocks.iter().map(|b| (b.1 / b.2) as f32).collect(),
        })
    }

    pub fn apply(&self, x: f32) -> f32 {
        let n = self.xs.len();
        let k = self.xs.partition_point(|&v| v <= x);
        if k == 0 {
            return self.ys[0];
        }
        if k == n {
            return self.ys[n - 1];
        }
        let (x0, x1, y0, y1) = (self.xs[k - 1], self.xs[k], self.ys[k - 1], self.ys[k]);
        // x0 < x1: blocks are merged by y, so equal centres cannot follow each other
        y0 + (y1 - y0) * ((x - x0) / (x1 - x0))
    }

    /// Blocks of the fit (a constant map has one).
    pub fn blocks(&self) -> usize {
        self.xs.len()
    }
}

/// r_phi as a user model: its score of (history, item), mapped onto the
/// logged feedback's scale when a calibration is given.
pub struct Calibrated {
    pub model: RewardModel,
    pub calibration: Option<Isotonic>,
}

impl Calibrated {
    /// r_phi calibrated on `logged` transitions (at most `max_rows`, evenly
    /// spread): the logged reward as an isotonic function of r_phi's score.
    pub fn on_logs(model: RewardModel, logged: &LoggedData, max_rows: usize) -> Result<Self> {
        let h = logged.history;
        if logged.is_empty() || h != model.encoder.history {
            return Err(Error::new(format!(
                "calibrating the reward model: {} logged transitions of history {h} (the model's is {})",
                logged.len(),
                model.encoder.history
            )));
        }
        let step = logged.len().div_ceil(max_rows.max(1));
        let rows: Vec<usize> = (0..logged.len()).step_by(step).collect();
        let mut hi = Vec::with_capacity(rows.len() * h);
        let mut hr = Vec::with_capacity(rows.len() * h);
        for &t in &rows {
            hi.extend_from_slice(&logged.hist_items[t * h..(t + 1) * h]);
            hr.extend_from_slice(&logged.hist_rewards[t * h..(t + 1) * h]);
        }
        let items: Vec<u32> = rows.iter().map(|&t| logged.actions[t]).collect();
        let targets: Vec<f32> = rows.iter().map(|&t| logged.rewards[t]).collect();
        let scores = model.score(&hi, &hr, &items)?;
        let calibration = Some(Isotonic::fit(&scores, &targets)?);
        Ok(Calibrated { model, calibration })
    }
}

impl UserModel for Calibrated {
    fn rewards(
        &self,
        _starts: &[u32],
        hist_items: &[u32],
        hist_rewards: &[f32],
        items: &[u32],
    ) -> Result<Vec<f32>> {
        let mut r = self.model.score(hist_items, hist_rewards, items)?;
        if let Some(c) = &self.calibration {
            r.iter_mut().for_each(|x| *x = c.apply(*x));
        }
        Ok(r)
    }
}

/// The imagined world. Users are start states; `start_users[u]` says whose
/// logs start state `u` came from (for models that know, e.g. in tests).
pub struct ImaginedWorld {
    base: AnyWorld,
    model: Box<dyn UserModel>,
    history: usize,
    start_items: Vec<u32>,
    start_rewards: Vec<f32>,
    pub start_users: Vec<u32>,
}

/// Start states taken from the logs at most (evenly spread).
pub const MAX_START_STATES: usize = 1 << 16;

impl ImaginedWorld {
    /// The world `model` imagines over `base`'s items, its users starting from
    /// the states of `logged` (those with at least one logged interaction).
    pub fn new(base: AnyWorld, model: Box<dyn UserModel>, logged: &LoggedData) -> Result<Self> {
        let h = logged.history;
        let n_items = base.world().n_items();
        // item ids ride in the f32 state as id + 1 (0 = empty): exact below 2^24
        if n_items >= 1 << 24 {
            return Err(Error::invalid(
                "imagined world items",
                "fewer than 2^24",
                n_items,
            ));
        }
        let with_history: Vec<usize> = (0..logged.len())
            .filter(|&t| logged.hist_items[(t + 1) * h - 1] != PAD_ITEM)
            .collect();
        if with_history.is_empty() {
            return Err(Error::new(
                "imagined world: the logs hold no state with a logged interaction to start from",
            ));
        }
        let step = with_history.len().div_ceil(MAX_START_STATES);
        let rows: Vec<usize> = with_history.into_iter().step_by(step).collect();
        let mut start_items = Vec::with_capacity(rows.len() * h);
        let mut start_rewards = Vec::with_capacity(rows.len() * h);
        for &t in &rows {
            start_items.extend_from_slice(&logged.hist_items[t * h..(t + 1) * h]);
            start_rewards.extend_from_slice(&logged.hist_rewards[t * h..(t + 1) * h]);
        }
        Ok(ImaginedWorld {
            base,
            model,
            history: h,
            start_items,
            start_rewards,
            start_users: rows.iter().map(|&t| logged.users[t]).collect(),
        })
    }

    /// Splits a state into its history items (decoded) and rewards.
    fn decode(&self, state: &[f32], items: &mut Vec<u32>, rewards: &mut Vec<f32>) {
        let h = self.history;
        items.extend(
            state[..h]
                .iter()
                .map(|&v| if v == 0.0 { PAD_ITEM } else { v as u32 - 1 }),
        );
        rewards.extend_from_slice(&state[h..2 * h]);
    }

    /// The state after (item, reward): the history shifted by one.
    fn push(&self, state: &mut [f32], item: u32, reward: f32) {
        let h = self.history;
        state.copy_within(1..h, 0);
        state[h - 1] = (item + 1) as f32;
        state.copy_within(h + 1..2 * h, h);
        state[2 * h - 1] = reward;
    }

    fn respond_rows(
        &self,
        rows: &[(u32, usize)],
        states: &mut [f32],
        items: &[u32],
        out: &mut [f32],
    ) {
        let d = self.user_state_dim();
        let (mut hi, mut hr) = (
            Vec::with_capacity(rows.len() * self.history),
            Vec::with_capacity(rows.len() * self.history),
        );
        for &(_, s) in rows {
            self.decode(&states[s * d..(s + 1) * d], &mut hi, &mut hr);
        }
        let starts: Vec<u32> = rows.iter().map(|r| r.0).collect();
        // the model's inputs are checked at construction; a failure here is a bug
        let r = self
            .model
            .rewards(&starts, &hi, &hr, items)
            .expect("imagined world: the user model rejected a state");
        for (j, &(_, s)) in rows.iter().enumerate() {
            let v = r[j].clamp(0.0, 1.0);
            out[j] = v;
            self.push(&mut states[s * d..(s + 1) * d], items[j], v);
        }
    }
}

impl World for ImaginedWorld {
    fn name(&self) -> &str {
        "imagined"
    }
    fn n_users(&self) -> usize {
        self.start_users.len()
    }
    fn n_items(&self) -> usize {
        self.base.world().n_items()
    }
    fn n_categories(&self) -> usize {
        self.base.world().n_categories()
    }
    fn item_category(&self, item: usize) -> u32 {
        self.base.world().item_category(item)
    }
    fn feature_dim(&self) -> usize {
        self.base.world().feature_dim()
    }
    fn item_features(&self) -> &[f32] {
        self.base.world().item_features()
    }
    fn user_state_dim(&self) -> usize {
        2 * self.history
    }
    fn init_user(&self, user: u32, state: &mut [f32]) {
        let (h, u) = (self.history, user as usize);
        for (v, &i) in state[..h]
            .iter_mut()
            .zip(&self.start_items[u * h..(u + 1) * h])
        {
            *v = if i == PAD_ITEM { 0.0 } else { (i + 1) as f32 };
        }
        state[h..2 * h].copy_from_slice(&self.start_rewards[u * h..(u + 1) * h]);
    }
    fn respond(&self, user: u32, state: &mut [f32], item: u32, _rng: &mut Rng) -> f32 {
        let mut out = [0f32];
        self.respond_rows(&[(user, 0)], state, &[item], &mut out);
        out[0]
    }
    fn respond_batch(
        &self,
        users: &[u32],
        states: &mut [f32],
        items: &[u32],
        _rngs: &mut [Rng],
        skip: &[bool],
        rewards: &mut [f32],
    ) {
        let live: Vec<usize> = (0..users.len()).filter(|&i| !skip[i]).collect();
        let rows: Vec<(u32, usize)> = live.iter().map(|&i| (users[i], i)).collect();
        let its: Vec<u32> = live.iter().map(|&i| items[i]).collect();
        let mut out = vec![0f32; live.len()];
        self.respond_rows(&rows, states, &its, &mut out);
        for (j, &i) in live.iter().enumerate() {
            rewards[i] = out[j];
        }
    }
    fn respond_at(
        &self,
        users: &[u32],
        states: &mut [f32],
        _rngs: &mut [Rng],
        slots: &[u32],
        items: &[u32],
        rewards: &mut [f32],
    ) {
        let rows: Vec<(u32, usize)> = slots
            .iter()
            .map(|&s| (users[s as usize], s as usize))
            .collect();
        self.respond_rows(&rows, states, items, rewards);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isotonic_is_monotone_and_pools_violators() {
        let c = Isotonic::fit(&[0.1, 0.2, 0.3, 0.4], &[0.0, 0.6, 0.4, 1.0]).unwrap();
        // 0.6 and 0.4 pool into 0.5 at x = 0.25
        assert_eq!(c.blocks(), 3);
        assert_eq!(c.apply(0.25), 0.5);
        assert_eq!(c.apply(-1.0), 0.0);
        assert_eq!(c.apply(9.0), 1.0);
        let mut last = f32::MIN;
        for k in 0..100 {
            let v = c.apply(k as f32 / 100.0);
            assert!(v >= last);
            last = v;
        }
        assert!(Isotonic::fit(&[], &[]).is_err());
    }
}
