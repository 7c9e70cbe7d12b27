//! A world built from a dataset: rewards from a user model fitted to the logs
//! (or the logged matrix itself where it is fully observed), categories and
//! item text from the dataset's side information.

use crate::artefact::fnv1a64;
use crate::data::{Dataset, Interaction};
use crate::error::{check_range, Error, Result};
use crate::mf::{rmse, temporal_split, user_auc, MfConfig, MfModel};
use crate::rng::Rng;
use crate::world::World;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct DatasetConfig {
    /// The matrix factorisation that completes the reward matrix.
    pub user_model: MfConfig,
    /// Standard deviation of the noise on each simulated reward (0-1 scale).
    pub noise: f32,
    /// Share of users held out for online deployment.
    pub held_out_fraction: f32,
    /// Seed of the held-out split.
    pub split_seed: u64,
}

impl Default for DatasetConfig {
    fn default() -> Self {
        DatasetConfig {
            user_model: MfConfig::default(),
            noise: 0.05,
            held_out_fraction: 0.2,
            split_seed: 0,
        }
    }
}

impl DatasetConfig {
    pub fn validate(&self) -> Result<()> {
        self.user_model.validate()?;
        check_range("dataset.noise", self.noise, 0.0, 10.0)?;
        check_range("dataset.heldOutFraction", self.held_out_fraction, 0.0, 1.0)
    }
}

pub enum RewardSource {
    /// Predictions of a fitted user model.
    Model(MfModel),
    /// The logged values, every pair observed (n_users x n_items).
    Matrix(Vec<f32>),
}

pub struct DatasetWorld {
    pub dataset: Dataset,
    pub config: DatasetConfig,
    pub reward: RewardSource,
    /// The raw value range mapped onto [0, 1] rewards.
    pub value_scale: (f32, f32),
    pub fingerprint: String,
    primary: Vec<u32>,
    features: Vec<f32>,
    feature_dim: usize,
    popularity: Vec<u32>,
}

/// A stable fingerprint of a dataset's logged data.
pub fn fingerprint(d: &Dataset) -> String {
    let mut bytes = Vec::with_capacity(d.interactions.len() * 20 + 64);
    bytes.extend_from_slice(d.name.as_bytes());
    bytes.extend_from_slice(&(d.n_users() as u64).to_le_bytes());
    bytes.extend_from_slice(&(d.n_items() as u64).to_le_bytes());
    for x in d.interactions.iter().chain(&d.test) {
        bytes.extend_from_slice(&x.user.to_le_bytes());
        bytes.extend_from_slice(&x.item.to_le_bytes());
        bytes.extend_from_slice(&x.value.to_le_bytes());
        bytes.extend_from_slice(&x.timestamp.to_le_bytes());
    }
    format!("{}-{:016x}", d.name, fnv1a64(&bytes))
}

impl DatasetWorld {
    /// Builds the world; `user_model` is a cached fitted model, used when it was
    /// fitted on this very data with this configuration (otherwise refitted).
    pub fn new(dataset: Dataset, config: DatasetConfig, user_model: Option<&[u8]>) -> Result<Self> {
        config.validate()?;
        let (nu, ni) = (dataset.n_users(), dataset.n_items());
        if nu == 0 || ni == 0 || dataset.interactions.is_empty() {
            return Err(Error::new(format!(
                "dataset {}: needs users, items and interactions (got {nu} users, {ni} items, {} interactions)",
                dataset.name,
                dataset.interactions.len()
            )));
        }
        if dataset.items.len() != ni || dataset.items.iter().any(|it| it.categories.is_empty()) {
            return Err(Error::new(format!(
                "dataset {}: every item needs its info and at least one category",
                dataset.name
            )));
        }
        let fp = fingerprint(&dataset);
        // Watch ratios have a long tail: 2x the video's length counts as full reward.
        let value_scale = if dataset.name.starts_with("kuairec") {
            (0.0, 2.0)
        } else {
            dataset.value_range
        };
        let reward = if dataset.fully_observed {
            let mut m = vec![f32::NAN; nu * ni];
            for x in &dataset.interactions {
                m[x.user as usize * ni + x.item as usize] = x.value;
            }
            let mean = dataset
                .interactions
                .iter()
                .map(|x| x.value as f64)
                .sum::<f64>()
                / dataset.interactions.len() as f64;
            m.iter_mut()
                .filter(|v| v.is_nan())
                .for_each(|v| *v = mean as f32);
            RewardSource::Matrix(m)
        } else {
            let cached = user_model
                // a damaged or outdated cache is refitted, not an error
                .and_then(|b| MfModel::from_bytes(b).ok())
                .filter(|m| {
                    m.fingerprint == fp
                        && m.config == config.user_model
                        && m.n_users == nu
                        && m.n_items == ni
                });
            match cached {
                Some(m) => RewardSource::Model(m),
                None => RewardSource::Model(MfModel::fit(
                    nu,
                    ni,
                    &dataset.interactions,
                    &config.user_model,
                    &fp,
                )?),
            }
        };
        let mut popularity = vec![0u32; ni];
        for x in &dataset.interactions {
            popularity[x.item as usize] += 1;
        }
        let primary = dataset.items.iter().map(|it| it.categories[0]).collect();
        let mut w = DatasetWorld {
            dataset,
            config,
            reward,
            value_scale,
            fingerprint: fp,
            primary,
            features: Vec::new(),
            feature_dim: 0,
            popularity,
        };
        w.build_features();
        Ok(w)
    }

    /// Item features the policy sees: user-model item factors and bias (when
    /// there is a model), categories (multi-hot) and log popularity.
    fn build_features(&mut self) {
        let ni = self.dataset.n_items();
        let nc = self.dataset.category_names.len().max(1);
        let k = match &self.reward {
            RewardSource::Model(m) => m.config.dim + 1,
            RewardSource::Matrix(_) => 0,
        };
        let dim = k + nc + 1;
        let max_pop = libm::log1pf(*self.popularity.iter().max().unwrap_or(&1) as f32).max(1.0);
        let mut f = vec![0f32; ni * dim];
        for i in 0..ni {
            let row = &mut f[i * dim..(i + 1) * dim];
            if let RewardSource::Model(m) = &self.reward {
                row[..k - 1].copy_from_slice(m.item_factors(i));
                row[k - 1] = m.item_bias[i];
            }
            for &c in &self.dataset.items[i].categories {
                if (c as usize) < nc {
                    row[k + c as usize] = 1.0;
                }
            }
            row[k + nc] = libm::log1pf(self.popularity[i] as f32) / max_pop;
        }
        self.features = f;
        self.feature_dim = dim;
    }

    /// The raw (unscaled) predicted or logged value of `item` for `user`.
    #[inline]
    pub fn raw_value(&self, user: usize, item: usize) -> f32 {
        match &self.reward {
            RewardSource::Model(m) => m.predict(user, item),
            RewardSource::Matrix(v) => v[user * self.dataset.n_items() + item],
        }
    }

    /// A raw value mapped to a reward in [0, 1].
    #[inline]
    pub fn scale(&self, value: f32) -> f32 {
        let (lo, hi) = self.value_scale;
        ((value - lo) / (hi - lo)).clamp(0.0, 1.0)
    }

    pub fn user_model(&self) -> Option<&MfModel> {
        match &self.reward {
            RewardSource::Model(m) => Some(m),
            RewardSource::Matrix(_) => None,
        }
    }

    /// How often each item was interacted with in the logs.
    pub fn popularity(&self) -> &[u32] {
        &self.popularity
    }

    /// (training users, held-out users): a seeded split of all users.
    pub fn user_split(&self) -> (Vec<u32>, Vec<u32>) {
        let mut rng = Rng::stream(self.config.split_seed, 0x5B_0117_0000_0000);
        let (mut train, mut test) = (Vec::new(), Vec::new());
        for u in 0..self.dataset.n_users() as u32 {
            if rng.uniform() < self.config.held_out_fraction {
                test.push(u)
            } else {
                train.push(u)
            }
        }
        (train, test)
    }
}

impl World for DatasetWorld {
    fn name(&self) -> &str {
        &self.dataset.name
    }
    fn n_users(&self) -> usize {
        self.dataset.n_users()
    }
    fn n_items(&self) -> usize {
        self.dataset.n_items()
    }
    fn n_categories(&self) -> usize {
        self.dataset.category_names.len().max(1)
    }
    fn item_category(&self, item: usize) -> u32 {
        self.primary[item]
    }
    fn feature_dim(&self) -> usize {
        self.feature_dim
    }
    fn item_features(&self) -> &[f32] {
        &self.features
    }
    fn user_state_dim(&self) -> usize {
        0
    }
    fn init_user(&self, _user: u32, _state: &mut [f32]) {}

    #[inline]
    fn respond(&self, user: u32, _state: &mut [f32], item: u32, rng: &mut Rng) -> f32 {
        let r = self.scale(self.raw_value(user as usize, item as usize));
        if self.config.noise > 0.0 {
            (r + self.config.noise * rng.normal()).clamp(0.0, 1.0)
        } else {
            r
        }
    }
}

/// How well a user model predicts held-out feedback, next to simple baselines.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Validation {
    /// How the held-out data was chosen.
    pub split: String,
    pub train_interactions: usize,
    pub test_interactions: usize,
    /// Values at or above this count as liked for AUC.
    pub like_threshold: f32,
    pub model_rmse: f64,
    /// Predicting each item's mean training value.
    pub item_mean_rmse: f64,
    pub model_auc: f64,
    /// Ranking by training popularity.
    pub popularity_auc: f64,
    pub auc_users: usize,
}

/// Validates the user model of `config` on `dataset`'s held-out data: its own
/// test set where it has one (Coat, KuaiRand), else each user's latest 20% of
/// interactions.
pub fn validate(dataset: &Dataset, config: &MfConfig) -> Result<Validation> {
    let (train, test, split): (Vec<Interaction>, Vec<Interaction>, String) =
        if !dataset.test.is_empty() {
            (
                dataset.interactions.clone(),
                dataset.test.clone(),
                "the dataset's own test set".into(),
            )
        } else {
            let (a, b) = temporal_split(&dataset.interactions, 0.2);
            (
                a,
                b,
                "per-user temporal split, latest 20% of each user's interactions held out".into(),
            )
        };
    if test.is_empty() {
        return Err(Error::new(format!(
            "dataset {}: nothing to validate on",
            dataset.name
        )));
    }
    let (nu, ni) = (dataset.n_users(), dataset.n_items());
    let model = MfModel::fit(nu, ni, &train, config, "validation")?;
    let mut sums = vec![(0f64, 0u32); ni];
    for x in &train {
        sums[x.item as usize].0 += x.value as f64;
        sums[x.item as usize].1 += 1;
    }
    let global = train.iter().map(|x| x.value as f64).sum::<f64>() / train.len() as f64;
    // item mean shrunk toward the global mean (5 pseudo-observations)
    let item_mean: Vec<f32> = sums
        .iter()
        .map(|&(s, n)| ((s + 5.0 * global) / (n as f64 + 5.0)) as f32)
        .collect();
    let (lo, hi) = dataset.value_range;
    let like_threshold = lo + 0.75 * (hi - lo);
    let (model_auc, auc_users) = user_auc(&test, like_threshold, |u, i| model.predict(u, i));
    let (popularity_auc, _) = user_auc(&test, like_threshold, |_, i| sums[i].1 as f32);
    Ok(Validation {
        split,
        train_interactions: train.len(),
        test_interactions: test.len(),
        like_threshold,
        model_rmse: rmse(&test, |u, i| model.predict(u, i)),
        item_mean_rmse: rmse(&test, |_, i| item_mean[i]),
        model_auc,
        popularity_auc,
        auc_users,
    })
}
