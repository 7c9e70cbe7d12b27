//! `synthetic`: a seeded latent-topic population (RecSim-like). Items cluster
//! around category centroids; each user likes a few categories; rewards come
//! from user-item affinity plus noise; interests drift toward what the user enjoyed.
//! User vectors are derived from (seed, user id) on demand, so the population can
//! be millions of users without storing them.

use crate::error::{check_min, check_range, Result};
use crate::lanes::{dot, drift, inverse_norms, normalise, scale_to_unit, sigmoid, sigmoids};
use crate::rng::Rng;
use crate::world::World;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct SyntheticConfig {
    pub n_users: usize,
    pub n_items: usize,
    pub n_categories: usize,
    /// d: dimension of the latent topic space.
    pub dim: usize,
    /// How many categories each user favours.
    pub user_focus: usize,
    /// Spread of items around their category centroid (0 = all alike).
    pub item_spread: f32,
    /// reward = sigmoid(gain * <u, v> + bias) + noise * N(0, 1), clipped to [0, 1].
    pub gain: f32,
    pub bias: f32,
    pub noise: f32,
    /// eta: u <- normalise(u + eta * r * (v - u)) after each step.
    pub drift: f32,
    /// Noise on the item vectors the policy sees (it never sees the true ones).
    pub feature_noise: f32,
    /// Seed of the world (items, centroids, users); episodes have their own seed.
    pub seed: u64,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        SyntheticConfig {
            n_users: 10_000,
            n_items: 500,
            n_categories: 10,
            dim: 16,
            user_focus: 2,
            item_spread: 0.5,
            gain: 5.0,
            bias: -1.5,
            noise: 0.1,
            drift: 0.05,
            feature_noise: 0.2,
            seed: 0,
        }
    }
}

impl SyntheticConfig {
    pub fn validate(&self) -> Result<()> {
        check_min("synthetic.nUsers", self.n_users, 1)?;
        check_min("synthetic.nItems", self.n_items, 1)?;
        check_min("synthetic.nCategories", self.n_categories, 1)?;
        check_min("synthetic.dim", self.dim, 1)?;
        check_min("synthetic.userFocus", self.user_focus, 1)?;
        if self.dim > 4096 || self.n_categories > 1 << 20 {
            return Err(crate::Error::invalid(
                "synthetic.dim / nCategories",
                "dim <= 4096 and nCategories <= 2^20",
                format!("{} / {}", self.dim, self.n_categories),
            ));
        }
        if self.n_items.saturating_mul(self.dim + self.n_categories) > 1 << 31 {
            return Err(crate::Error::invalid(
                "synthetic.nItems x (dim + nCategories)",
                "at most 2^31 values of item features",
                self.n_items.saturating_mul(self.dim + self.n_categories),
            ));
        }
        if self.n_users.saturating_mul(self.dim) > 1 << 31 {
            return Err(crate::Error::invalid(
                "synthetic.nUsers x dim",
                "at most 2^31 values of user preferences",
                self.n_users.saturating_mul(self.dim),
            ));
        }
        if self.n_users > u32::MAX as usize || self.n_items >= u32::MAX as usize {
            return Err(crate::Error::invalid(
                "synthetic.nUsers/nItems",
                "fewer than 2^32",
                self.n_users.max(self.n_items),
            ));
        }
        check_range("synthetic.itemSpread", self.item_spread, 0.0, 100.0)?;
        check_range("synthetic.gain", self.gain, -1e3, 1e3)?;
        check_range("synthetic.bias", self.bias, -1e3, 1e3)?;
        check_range("synthetic.noise", self.noise, 0.0, 10.0)?;
        check_range("synthetic.drift", self.drift, 0.0, 1.0)?;
        check_range("synthetic.featureNoise", self.feature_noise, 0.0, 100.0)?;
        Ok(())
    }
}

pub struct Synthetic {
    cfg: SyntheticConfig,
    centroids: Vec<f32>,
    item_vecs: Vec<f32>,
    item_cats: Vec<u32>,
    features: Vec<f32>,
    feature_dim: usize,
}

impl Synthetic {
    pub fn new(cfg: SyntheticConfig) -> Result<Self> {
        cfg.validate()?;
        let d = cfg.dim;
        let mut rng = Rng::stream(cfg.seed, 0x5EED_0001);
        let mut centroids = vec![0f32; cfg.n_categories * d];
        for c in centroids.chunks_mut(d) {
            c.iter_mut().for_each(|x| *x = rng.normal_ziggurat());
            normalise(c);
        }
        let scale = cfg.item_spread / libm::sqrtf(d as f32);
        let fscale = cfg.feature_noise / libm::sqrtf(d as f32);
        let feature_dim = d + cfg.n_categories;
        let mut item_vecs = vec![0f32; cfg.n_items * d];
        let mut item_cats = vec![0u32; cfg.n_items];
        let mut features = vec![0f32; cfg.n_items * feature_dim];
        for i in 0..cfg.n_items {
            let cat = rng.below(cfg.n_categories as u32);
            item_cats[i] = cat;
            let v = &mut item_vecs[i * d..(i + 1) * d];
            let c = &centroids[cat as usize * d..(cat as usize + 1) * d];
            for (x, &m) in v.iter_mut().zip(c) {
                *x = m + scale * rng.normal_ziggurat();
            }
            normalise(v);
            let f = &mut features[i * feature_dim..(i + 1) * feature_dim];
            for k in 0..d {
                f[k] = v[k] + fscale * rng.normal_ziggurat();
            }
            f[d + cat as usize] = 1.0;
        }
        Ok(Synthetic {
            cfg,
            centroids,
            item_vecs,
            item_cats,
            features,
            feature_dim,
        })
    }

    pub fn config(&self) -> &SyntheticConfig {
        &self.cfg
    }

    /// The true (hidden) latent vector of an item.
    pub fn item_vector(&self, item: usize) -> &[f32] {
        &self.item_vecs[item * self.cfg.dim..(item + 1) * self.cfg.dim]
    }

    /// Expected reward (no noise) of `item` for a user in `state`.
    #[inline]
    pub fn expected_reward(&self, state: &[f32], item: usize) -> f32 {
        let v = self.item_vector(item);
        sigmoid(self.cfg.gain * dot(state, v) + self.cfg.bias)
    }
}

impl World for Synthetic {
    fn name(&self) -> &str {
        "synthetic"
    }
    fn n_users(&self) -> usize {
        self.cfg.n_users
    }
    fn n_items(&self) -> usize {
        self.cfg.n_items
    }
    fn n_categories(&self) -> usize {
        self.cfg.n_categories
    }
    fn item_category(&self, item: usize) -> u32 {
        self.item_cats[item]
    }
    fn feature_dim(&self) -> usize {
        self.feature_dim
    }
    fn item_features(&self) -> &[f32] {
        &self.features
    }
    fn user_state_dim(&self) -> usize {
        self.cfg.dim
    }

    fn init_user(&self, user: u32, state: &mut [f32]) {
        let d = self.cfg.dim;
        let mut rng = Rng::stream(self.cfg.seed, 0x0005_E500_0000_0000 | user as u64);
        let scale = 0.3 / libm::sqrtf(d as f32);
        state
            .iter_mut()
            .for_each(|x| *x = scale * rng.normal_ziggurat());
        for _ in 0..self.cfg.user_focus {
            let c = rng.below(self.cfg.n_categories as u32) as usize;
            let w = 0.5 + rng.uniform();
            for (x, &m) in state.iter_mut().zip(&self.centroids[c * d..(c + 1) * d]) {
                *x += w * m;
            }
        }
        normalise(state);
    }

    #[inline]
    fn respond(&self, _user: u32, state: &mut [f32], item: u32, rng: &mut Rng) -> f32 {
        let mean = self.expected_reward(state, item as usize);
        self.respond_rest(state, item as usize, mean, rng)
    }

    /// See [`Synthetic::respond_blocks`].
    fn respond_batch(
        &self,
        _users: &[u32],
        states: &mut [f32],
        items: &[u32],
        rngs: &mut [Rng],
        skip: &[bool],
        rewards: &mut [f32],
    ) {
        let n = items.len();
        let skip = &skip[..n];
        self.respond_blocks(states, rngs, n, |j| j, |j| !skip[j], items, rewards);
    }

    /// See [`Synthetic::respond_blocks`].
    fn respond_at(
        &self,
        _users: &[u32],
        states: &mut [f32],
        rngs: &mut [Rng],
        slots: &[u32],
        items: &[u32],
        rewards: &mut [f32],
    ) {
        let n = slots.len();
        self.respond_blocks(
            states,
            rngs,
            n,
            |j| slots[j] as usize,
            |_| true,
            items,
            rewards,
        );
    }
}

impl Synthetic {
    /// `respond` for users j < n that are `active(j)`: state and RNG of slot
    /// `slot(j)`, `items[j]`, reward into `rewards[j]`. Three passes over
    /// blocks of users: the affinities, the sigmoids, then noise and drift.
    /// The same operations per user; the passes give the CPU independent
    /// `expf`s (four at a time on x86_64) and drift updates to overlap, where
    /// one user's chain (dot, exp, divide, drift, sqrt, divide) is a long wait.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn respond_blocks(
        &self,
        states: &mut [f32],
        rngs: &mut [Rng],
        n: usize,
        slot: impl Fn(usize) -> usize,
        active: impl Fn(usize) -> bool,
        items: &[u32],
        rewards: &mut [f32],
    ) {
        const BLOCK: usize = 64;
        let d = self.cfg.dim;
        let (items, rewards) = (&items[..n], &mut rewards[..n]);
        let mut mean = [0f32; BLOCK];
        for b0 in (0..n).step_by(BLOCK) {
            let m = BLOCK.min(n - b0);
            for j in 0..m {
                mean[j] = if active(b0 + j) {
                    let s = slot(b0 + j);
                    let v = self.item_vector(items[b0 + j] as usize);
                    self.cfg.gain * dot(&states[s * d..(s + 1) * d], v) + self.cfg.bias
                } else {
                    1.0 // anything in range of `lanes::simd::sigmoid4`'s fast path
                };
            }
            sigmoids(&mut mean[..m]);
            // noise and drift; the norms of the drifted states (sqrt and
            // divide, the slowest steps of the chain) four at a time after it
            let drifting = self.cfg.drift > 0.0;
            for j in 0..m {
                if active(b0 + j) {
                    let s = slot(b0 + j);
                    let item = items[b0 + j] as usize;
                    let r = self.noisy_reward(mean[j], &mut rngs[s]);
                    rewards[b0 + j] = r;
                    if drifting {
                        let u = &mut states[s * d..(s + 1) * d];
                        mean[j] = drift(u, self.item_vector(item), self.cfg.drift * r);
                    }
                }
            }
            if drifting {
                inverse_norms(&mut mean[..m]);
                for (j, &inv) in mean[..m].iter().enumerate() {
                    // NaN where the norm is not positive: the state stays as it is
                    if active(b0 + j) && !inv.is_nan() {
                        let s = slot(b0 + j);
                        states[s * d..(s + 1) * d]
                            .iter_mut()
                            .for_each(|x| *x *= inv);
                    }
                }
            }
        }
    }

    #[inline(always)]
    fn noisy_reward(&self, mean: f32, rng: &mut Rng) -> f32 {
        (mean + self.cfg.noise * rng.normal_ziggurat()).clamp(0.0, 1.0)
    }

    /// The reward given its noiseless `mean`, and the drift of the user's state.
    #[inline(always)]
    fn respond_rest(&self, state: &mut [f32], item: usize, mean: f32, rng: &mut Rng) -> f32 {
        let r = self.noisy_reward(mean, rng);
        if self.cfg.drift > 0.0 {
            // u <- u + eta (v - u), summing the squares of the new u in lanes as
            // `dot` does, then u <- u / |u|
            let eta = self.cfg.drift * r;
            let sum_sq = drift(state, self.item_vector(item), eta);
            scale_to_unit(state, sum_sq);
        }
        r
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_world() {
        let a = Synthetic::new(SyntheticConfig::default()).unwrap();
        let b = Synthetic::new(SyntheticConfig::default()).unwrap();
        assert_eq!(a.item_features(), b.item_features());
        let c = Synthetic::new(SyntheticConfig {
            seed: 1,
            ..Default::default()
        })
        .unwrap();
        assert_ne!(a.item_features(), c.item_features());
    }

    #[test]
    fn users_prefer_some_categories() {
        let w = Synthetic::new(SyntheticConfig::default()).unwrap();
        let mut s = vec![0f32; w.user_state_dim()];
        w.init_user(42, &mut s);
        let mut per_cat = vec![(0f32, 0u32); w.n_categories()];
        for i in 0..w.n_items() {
            let e = &mut per_cat[w.item_category(i) as usize];
            e.0 += w.expected_reward(&s, i);
            e.1 += 1;
        }
        let means: Vec<f32> = per_cat.iter().map(|(s, n)| s / *n as f32).collect();
        let best = means.iter().cloned().fold(0.0, f32::max);
        let worst = means.iter().cloned().fold(1.0, f32::min);
        assert!(best - worst > 0.3, "{means:?}");
    }

    #[test]
    fn rejects_zero_items() {
        let e = Synthetic::new(SyntheticConfig {
            n_items: 0,
            ..Default::default()
        })
        .err()
        .unwrap();
        assert!(e.message().contains("synthetic.nItems"), "{e}");
    }
}
