//! The user model that completes a sparse reward matrix: biased matrix
//! factorisation r(u, i) = mu + b_u + b_i + p_u . q_i, fitted by seeded SGD
//! (Koren et al. 2009), saved as a versioned artefact.

use crate::artefact;
use crate::data::Interaction;
use crate::error::{check_range, Error, Result};
use crate::rng::Rng;
use serde::{Deserialize, Serialize};

pub const MAGIC: &[u8; 8] = b"IALPUMF\0";
pub const FORMAT_VERSION: u32 = 1;
/// Largest magnitude of a value in a user-model file (a fitted one's are O(1)).
pub const MAX_VALUE: f32 = 1e4;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct MfConfig {
    /// k: latent factors per user and item.
    pub dim: usize,
    /// Passes over the data.
    pub epochs: usize,
    /// SGD step size.
    pub lr: f32,
    /// L2 penalty on biases and factors.
    pub reg: f32,
    /// Standard deviation of the initial factors.
    pub init_std: f32,
    pub seed: u64,
}

impl Default for MfConfig {
    fn default() -> Self {
        MfConfig {
            dim: 16,
            epochs: 40,
            lr: 0.01,
            reg: 0.05,
            init_std: 0.1,
            seed: 0,
        }
    }
}

impl MfConfig {
    pub fn validate(&self) -> Result<()> {
        use crate::limits::{check_int, MAX_EPOCHS, MAX_WIDTH};
        check_int("userModel.dim", self.dim, 1, MAX_WIDTH)?;
        check_int("userModel.epochs", self.epochs, 1, MAX_EPOCHS)?;
        check_range("userModel.lr", self.lr, 1e-9, 10.0)?;
        check_range("userModel.reg", self.reg, 0.0, 100.0)?;
        check_range("userModel.initStd", self.init_std, 0.0, 10.0)?;
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct MfModel {
    pub config: MfConfig,
    pub n_users: usize,
    pub n_items: usize,
    pub global_mean: f32,
    pub user_bias: Vec<f32>,
    pub item_bias: Vec<f32>,
    /// n_users x dim
    pub user_factors: Vec<f32>,
    /// n_items x dim
    pub item_factors: Vec<f32>,
    /// What it was fitted on (a dataset fingerprint), checked when loaded.
    pub fingerprint: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Header {
    format: String,
    config: MfConfig,
    n_users: usize,
    n_items: usize,
    global_mean: f32,
    fingerprint: String,
}

impl MfModel {
    /// Fits the model to `data` (dense ids below n_users / n_items).
    pub fn fit(
        n_users: usize,
        n_items: usize,
        data: &[Interaction],
        cfg: &MfConfig,
        fingerprint: &str,
    ) -> Result<Self> {
        cfg.validate()?;
        if data.is_empty() {
            return Err(Error::new("user model: no interactions to fit"));
        }
        if let Some(x) = data.iter().find(|x| {
            x.user as usize >= n_users || x.item as usize >= n_items || !x.value.is_finite()
        }) {
            return Err(Error::invalid(
                "user model interaction",
                "ids in range and a finite value",
                format!("{x:?}"),
            ));
        }
        let k = cfg.dim;
        let mut rng = Rng::stream(cfg.seed, 0x3F_0001_0000_0000);
        let mut init =
            |n: usize| -> Vec<f32> { (0..n * k).map(|_| cfg.init_std * rng.normal()).collect() };
        let mut m = MfModel {
            config: cfg.clone(),
            n_users,
            n_items,
            global_mean: (data.iter().map(|x| x.value as f64).sum::<f64>() / data.len() as f64)
                as f32,
            user_bias: vec![0.0; n_users],
            item_bias: vec![0.0; n_items],
            user_factors: init(n_users),
            item_factors: init(n_items),
            fingerprint: fingerprint.to_string(),
        };
        let mut order: Vec<u32> = (0..data.len() as u32).collect();
        let (lr, reg) = (cfg.lr, cfg.reg);
        for epoch in 0..cfg.epochs {
            // Fisher-Yates with the model's own stream: same seed, same model
            for i in (1..order.len()).rev() {
                order.swap(i, rng.below(i as u32 + 1) as usize);
            }
            for &j in &order {
                let x = data[j as usize];
                let (u, i) = (x.user as usize, x.item as usize);
                let e = x.value - m.predict(u, i);
                m.user_bias[u] += lr * (e - reg * m.user_bias[u]);
                m.item_bias[i] += lr * (e - reg * m.item_bias[i]);
                let (pu, qi) = (
                    &mut m.user_factors[u * k..(u + 1) * k],
                    &mut m.item_factors[i * k..(i + 1) * k],
                );
                for f in 0..k {
                    let (p, q) = (pu[f], qi[f]);
                    // p += lr (e q - reg p); q += lr (e p - reg q)
                    pu[f] += lr * (e * q - reg * p);
                    qi[f] += lr * (e * p - reg * q);
                }
            }
            let finite = |v: &[f32]| v.iter().all(|x| x.is_finite());
            if !(finite(&m.user_bias)
                && finite(&m.item_bias)
                && finite(&m.user_factors)
                && finite(&m.item_factors))
            {
                return Err(Error::new(format!(
                    "user model diverged in epoch {}: lower userModel.lr (now {lr}) or raise userModel.reg",
                    epoch + 1
                )));
            }
        }
        Ok(m)
    }

    #[inline]
    pub fn predict(&self, user: usize, item: usize) -> f32 {
        let k = self.config.dim;
        let p = &self.user_factors[user * k..(user + 1) * k];
        let q = &self.item_factors[item * k..(item + 1) * k];
        self.global_mean
            + self.user_bias[user]
            + self.item_bias[item]
            + p.iter().zip(q).map(|(a, b)| a * b).sum::<f32>()
    }

    pub fn item_factors(&self, item: usize) -> &[f32] {
        let k = self.config.dim;
        &self.item_factors[item * k..(item + 1) * k]
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let header = Header {
            format: "ialp-user-model-mf".into(),
            config: self.config.clone(),
            n_users: self.n_users,
            n_items: self.n_items,
            global_mean: self.global_mean,
            fingerprint: self.fingerprint.clone(),
        };
        let json = serde_json::to_vec(&header).expect("header serialises");
        let payload: Vec<f32> = [
            &self.user_bias,
            &self.item_bias,
            &self.user_factors,
            &self.item_factors,
        ]
        .into_iter()
        .flatten()
        .copied()
        .collect();
        artefact::write(MAGIC, FORMAT_VERSION, &json, &payload)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        const WHAT: &str = "user model";
        let (header, floats) = artefact::read(WHAT, MAGIC, FORMAT_VERSION, bytes)?;
        let h: Header = crate::error::from_json_header(WHAT, header)?;
        h.config.validate().map_err(|e| e.context(WHAT))?;
        let (nu, ni, k) = (h.n_users, h.n_items, h.config.dim);
        let sizes = [
            nu,
            ni,
            artefact::tensor_len(WHAT, "userFactors", &[nu, k])?,
            artefact::tensor_len(WHAT, "itemFactors", &[ni, k])?,
        ];
        // each size is at most the payload's length, so the sum cannot overflow
        if sizes.iter().any(|&n| n > floats.len()) || floats.len() != sizes.iter().sum::<usize>() {
            return Err(Error::new(format!(
                "{WHAT}: payload holds {} values, expected {} for {nu} users, {ni} items, dim {k}",
                floats.len(),
                sizes.iter().sum::<usize>()
            )));
        }
        let within = |v: f32| v.is_finite() && v.abs() <= MAX_VALUE;
        // a fitted model's values are O(1) (feedback in [0, 1], L2-regularised factors):
        // a file with a valid checksum but NaN or 3e38 in it would make every reward NaN
        // or 1, so it is refused (and the dataset world refits) rather than believed
        if let Some(i) = floats.iter().position(|v| !within(*v)) {
            return Err(Error::new(format!(
                "{WHAT}: value {i} of the payload is {}, expected a finite value within +-{MAX_VALUE}",
                floats[i]
            )));
        }
        if !within(h.global_mean) {
            return Err(Error::new(format!(
                "{WHAT}: globalMean is {}, expected a finite value within +-{MAX_VALUE}",
                h.global_mean
            )));
        }
        let mut at = 0;
        let mut take = |n: usize, name: &str| {
            let v = artefact::slice(WHAT, name, &floats, at, n);
            at += n;
            v
        };
        Ok(MfModel {
            user_bias: take(nu, "userBias")?,
            item_bias: take(ni, "itemBias")?,
            user_factors: take(nu * k, "userFactors")?,
            item_factors: take(ni * k, "itemFactors")?,
            config: h.config,
            n_users: nu,
            n_items: ni,
            global_mean: h.global_mean,
            fingerprint: h.fingerprint,
        })
    }
}

/// Root mean squared error of `predict` on `data`.
pub fn rmse(data: &[Interaction], predict: impl Fn(usize, usize) -> f32) -> f64 {
    if data.is_empty() {
        return f64::NAN;
    }
    let se: f64 = data
        .iter()
        .map(|x| (predict(x.user as usize, x.item as usize) - x.value) as f64)
        .map(|e| e * e)
        .sum();
    (se / data.len() as f64).sqrt()
}

/// Mean over users of the AUC of `score` at separating their items with
/// value >= `threshold` from the rest (users with only one kind are skipped;
/// ties count one half). Returns (AUC, users counted).
pub fn user_auc(
    data: &[Interaction],
    threshold: f32,
    score: impl Fn(usize, usize) -> f32,
) -> (f64, usize) {
    let mut by_user: std::collections::BTreeMap<u32, Vec<(f32, bool)>> = Default::default();
    for x in data {
        by_user.entry(x.user).or_default().push((
            score(x.user as usize, x.item as usize),
            x.value >= threshold,
        ));
    }
    let (mut sum, mut n) = (0f64, 0usize);
    for v in by_user.values() {
        let pos: Vec<f32> = v.iter().filter(|e| e.1).map(|e| e.0).collect();
        let neg: Vec<f32> = v.iter().filter(|e| !e.1).map(|e| e.0).collect();
        if pos.is_empty() || neg.is_empty() {
            continue;
        }
        let mut good = 0f64;
        for p in &pos {
            for q in &neg {
                good += if p > q {
                    1.0
                } else if p == q {
                    0.5
                } else {
                    0.0
                };
            }
        }
        sum += good / (pos.len() * neg.len()) as f64;
        n += 1;
    }
    (if n > 0 { sum / n as f64 } else { f64::NAN }, n)
}

/// Splits each user's interactions by time: the latest `test_fraction` of
/// them (at least one, when the user has two or more) go to the test set.
pub fn temporal_split(
    data: &[Interaction],
    test_fraction: f32,
) -> (Vec<Interaction>, Vec<Interaction>) {
    let mut sorted = data.to_vec();
    crate::data::index::sort_interactions(&mut sorted);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for chunk in sorted.chunk_by(|a, b| a.user == b.user) {
        let n_test = if chunk.len() >= 2 {
            ((chunk.len() as f32 * test_fraction).round() as usize).clamp(1, chunk.len() - 1)
        } else {
            0
        };
        let cut = chunk.len() - n_test;
        train.extend_from_slice(&chunk[..cut]);
        test.extend_from_slice(&chunk[cut..]);
    }
    (train, test)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> Vec<Interaction> {
        // two user groups with opposite tastes over four items
        let mut v = Vec::new();
        let mut t = 0;
        for u in 0..20u32 {
            for i in 0..4u32 {
                let likes = (u % 2 == 0) == (i < 2);
                t += 1;
                v.push(Interaction {
                    user: u,
                    item: i,
                    value: if likes { 5.0 } else { 1.0 },
                    timestamp: t,
                });
            }
        }
        v
    }

    #[test]
    fn fits_a_two_group_world_and_round_trips() {
        let data = toy();
        let m = MfModel::fit(
            20,
            4,
            &data,
            &MfConfig {
                dim: 2,
                epochs: 200,
                lr: 0.05,
                reg: 0.01,
                ..Default::default()
            },
            "toy",
        )
        .unwrap();
        assert!(rmse(&data, |u, i| m.predict(u, i)) < 0.5);
        let (auc, users) = user_auc(&data, 4.0, |u, i| m.predict(u, i));
        assert_eq!(users, 20);
        assert!(auc > 0.95, "{auc}");
        let back = MfModel::from_bytes(&m.to_bytes()).unwrap();
        assert_eq!(back, m);
        let again = MfModel::fit(
            20,
            4,
            &data,
            &MfConfig {
                dim: 2,
                epochs: 200,
                lr: 0.05,
                reg: 0.01,
                ..Default::default()
            },
            "toy",
        )
        .unwrap();
        assert_eq!(again, m, "same seed, same model");
    }

    #[test]
    fn auc_by_hand_and_split() {
        let d = [
            Interaction {
                user: 0,
                item: 0,
                value: 5.0,
                timestamp: 3,
            },
            Interaction {
                user: 0,
                item: 1,
                value: 1.0,
                timestamp: 1,
            },
            Interaction {
                user: 0,
                item: 2,
                value: 4.0,
                timestamp: 2,
            },
        ];
        // scores: item0 0.9, item1 0.5, item2 0.1 -> pairs (0>1 yes), (2>1 no): 0.5
        let (auc, n) = user_auc(&d, 4.0, |_, i| [0.9, 0.5, 0.1][i]);
        assert_eq!((auc, n), (0.5, 1));
        let (train, test) = temporal_split(&d, 0.34);
        assert_eq!(test.len(), 1);
        assert_eq!(test[0].timestamp, 3);
        assert_eq!(train.len(), 2);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(MfModel::fit(1, 1, &[], &MfConfig::default(), "").is_err());
        let bad = [Interaction {
            user: 5,
            item: 0,
            value: 1.0,
            timestamp: 0,
        }];
        assert!(MfModel::fit(1, 1, &bad, &MfConfig::default(), "").is_err());
        assert!(MfModel::from_bytes(b"nonsense").is_err());
    }

    #[test]
    fn refuses_a_checksummed_file_with_values_no_fit_gives() {
        let m = MfModel::fit(20, 4, &toy(), &MfConfig::default(), "fp").unwrap();
        assert!(MfModel::from_bytes(&m.to_bytes()).is_ok());
        for v in [f32::NAN, f32::INFINITY, 3e38, -2e4] {
            let mut bad = m.clone();
            bad.item_factors[3] = v;
            let e = MfModel::from_bytes(&bad.to_bytes()).unwrap_err();
            assert!(
                e.message().contains("expected a finite value within"),
                "{v}: {e}"
            );
            let mut bad = m.clone();
            bad.global_mean = v;
            let e = MfModel::from_bytes(&bad.to_bytes()).unwrap_err();
            // (NaN and infinity have no JSON: the header itself is refused)
            let said = if v.is_finite() {
                "globalMean is"
            } else {
                "header"
            };
            assert!(e.message().contains(said), "{v}: {e}");
        }
    }
}
