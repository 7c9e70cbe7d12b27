//! The actor-critic networks and the backend trait they sit behind.
//!
//! Actor: pi(a|s) = softmax_a(h(s) . e_a + b_a), with the state tower h an MLP
//! and item embeddings e_a = F_a W + E_a (projected features plus a free
//! per-item part). Critic: V(s), a separate MLP. This file is the `ndarray`
//! backend; `torch` (a cargo feature) implements the same trait.

use crate::adam::{Adam, AdamConfig};
use crate::linalg::{add_row, col_sums_into, matmul, matmul_tn, transpose};
use crate::mlp::Mlp;
use crate::params::{Params, Tensor};
use ialp_sim::{Error, Result, Rng};
use ndarray::{Array1, Array2, ArrayView2};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct NetConfig {
    /// Width of the hidden layers of both towers.
    pub hidden: usize,
    /// Number of hidden layers of both towers.
    pub depth: usize,
    /// d: width of the state vector h(s) and of the item embeddings.
    pub embed_dim: usize,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            hidden: 64,
            depth: 2,
            embed_dim: 32,
        }
    }
}

/// Item features must be n_items rows of equal width.
pub(crate) fn check_item_features(item_features: &[f32], n_items: usize) -> Result<()> {
    if n_items == 0 || !item_features.len().is_multiple_of(n_items) {
        return Err(Error::invalid(
            "item features",
            "n_items x feature_dim values",
            item_features.len(),
        ));
    }
    Ok(())
}

/// Values in the weights and biases of an MLP with these layer sizes; None on overflow.
pub fn mlp_param_count(sizes: &[usize]) -> Option<usize> {
    sizes.windows(2).try_fold(0usize, |n, w| {
        n.checked_add(w[0].checked_mul(w[1])?)?.checked_add(w[1])
    })
}

/// Fails when a network of `count` parameters (None: overflowed) is over
/// [`MAX_PARAMS`](ialp_sim::limits::MAX_PARAMS), before anything is allocated.
pub(crate) fn check_param_count(what: &str, count: Option<usize>) -> Result<usize> {
    use ialp_sim::limits::MAX_PARAMS;
    match count.filter(|&n| n <= MAX_PARAMS) {
        Some(n) => Ok(n),
        None => Err(Error::new(format!(
            "{what}: {} parameters is more than the limit of {MAX_PARAMS}",
            count.map_or("more than 2^64".to_string(), |n| n.to_string())
        ))),
    }
}

impl NetConfig {
    pub fn validate(&self) -> Result<()> {
        use ialp_sim::limits::{check_int, MAX_DEPTH, MAX_WIDTH};
        check_int("net.hidden", self.hidden, 1, MAX_WIDTH)?;
        check_int("net.depth", self.depth, 1, MAX_DEPTH)?;
        check_int("net.embedDim", self.embed_dim, 1, MAX_WIDTH)?;
        Ok(())
    }

    /// Values in all tensors of the actor-critic over `in_dim` inputs and
    /// `n_items` items of `feat_dim` features (None on overflow). Call after
    /// [`validate`](Self::validate), which bounds the depth.
    pub fn param_count(&self, in_dim: usize, feat_dim: usize, n_items: usize) -> Option<usize> {
        let mut sizes = vec![in_dim];
        sizes.extend(std::iter::repeat_n(
            self.hidden,
            self.depth.min(ialp_sim::limits::MAX_DEPTH),
        ));
        sizes.push(self.embed_dim);
        let actor = mlp_param_count(&sizes)?;
        *sizes.last_mut()? = 1;
        let critic = mlp_param_count(&sizes)?;
        let items = feat_dim
            .checked_mul(self.embed_dim)?
            .checked_add(n_items.checked_mul(self.embed_dim)?)?
            .checked_add(n_items)?;
        actor.checked_add(critic)?.checked_add(items)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct LossConfig {
    /// beta: weight of the entropy bonus.
    pub entropy_coef: f32,
    /// c_v: weight of the value loss.
    pub value_coef: f32,
}

impl Default for LossConfig {
    fn default() -> Self {
        LossConfig {
            entropy_coef: 0.01,
            value_coef: 0.5,
        }
    }
}

/// A minibatch for one actor-critic update; `obs` is rows x in_dim.
pub struct UpdateBatch<'a> {
    pub obs: &'a [f32],
    pub actions: &'a [u32],
    pub advantages: &'a [f32],
    pub returns: &'a [f32],
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LossStats {
    pub policy_loss: f32,
    pub value_loss: f32,
    pub entropy: f32,
    pub total: f32,
    pub grad_norm: f32,
}

/// What the training algorithms need of a network backend.
pub trait AcBackend: Send {
    fn kind(&self) -> &'static str;
    /// Logits (rows x n_items) and values (rows) for encoded states (rows x in_dim).
    fn forward(&self, obs: ArrayView2<f32>) -> (Array2<f32>, Array1<f32>);
    /// Critic values only (rows) for encoded states; cheaper than `forward`.
    fn values(&self, obs: ArrayView2<f32>) -> Array1<f32> {
        self.forward(obs).1
    }
    /// The loss of the batch and its gradients with respect to every parameter.
    fn gradients(&self, batch: &UpdateBatch, loss: &LossConfig) -> (LossStats, Params);
    /// One optimiser step on the batch (gradients, clipping, Adam).
    fn update(&mut self, batch: &UpdateBatch, loss: &LossConfig) -> LossStats;
    fn params(&self) -> Params;
    fn set_params(&mut self, params: Params) -> Result<()>;
}

/// The pure-Rust backend.
#[derive(Clone)]
pub struct NdarrayNet {
    pub cfg: NetConfig,
    pub in_dim: usize,
    pub n_items: usize,
    pub feat_dim: usize,
    item_features: std::sync::Arc<Vec<f32>>,
    params: Params,
    actor: Mlp,
    critic: Mlp,
    item_w: usize,
    item_free: usize,
    item_bias: usize,
    adam: Adam,
}

/// Per-row log-softmax, entropy and probabilities of logits (rows x n).
pub fn softmax_rows(logits: &[f32], n: usize) -> (Vec<f32>, Vec<f32>) {
    let mut probs = vec![0f32; logits.len()];
    let mut logz = vec![0f32; logits.len() / n];
    for (r, row) in logits.chunks_exact(n).enumerate() {
        let m = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let p = &mut probs[r * n..(r + 1) * n];
        let s = crate::linalg::exp_shifted_into(row, m, p);
        p.iter_mut().for_each(|x| *x /= s);
        logz[r] = m + libm::logf(s);
    }
    (probs, logz)
}

impl NdarrayNet {
    pub fn new(
        cfg: NetConfig,
        in_dim: usize,
        item_features: std::sync::Arc<Vec<f32>>,
        n_items: usize,
        adam: AdamConfig,
        seed: u64,
    ) -> Result<Self> {
        cfg.validate()?;
        check_item_features(&item_features, n_items)?;
        let feat_dim = item_features.len() / n_items;
        check_param_count("network", cfg.param_count(in_dim, feat_dim, n_items))?;
        let mut rng = Rng::stream(seed, 0xAC_0001_0000_0000);
        let mut params = Params::default();
        let mut sizes = vec![in_dim];
        sizes.extend(std::iter::repeat_n(cfg.hidden, cfg.depth));
        let mut a_sizes = sizes.clone();
        a_sizes.push(cfg.embed_dim);
        let mut c_sizes = sizes;
        c_sizes.push(1);
        // small actor output: the first policy is close to uniform
        let actor = Mlp::new(&mut params, "actor.", &a_sizes, 0.1, &mut rng);
        let critic = Mlp::new(&mut params, "critic.", &c_sizes, 1.0, &mut rng);
        let item_w = params.push(Tensor::normal(
            "item.w",
            &[feat_dim, cfg.embed_dim],
            (1.0 / feat_dim as f32).sqrt(),
            &mut rng,
        ));
        let item_free = params.push(Tensor::zeros("item.free", &[n_items, cfg.embed_dim]));
        let item_bias = params.push(Tensor::zeros("item.bias", &[n_items]));
        let adam = Adam::new(adam, &params);
        Ok(NdarrayNet {
            cfg,
            in_dim,
            n_items,
            feat_dim,
            item_features,
            params,
            actor,
            critic,
            item_w,
            item_free,
            item_bias,
            adam,
        })
    }

    /// F: the items' feature rows (n_items x feat_dim).
    pub fn item_features(&self) -> &std::sync::Arc<Vec<f32>> {
        &self.item_features
    }

    pub fn adam_config(&self) -> &AdamConfig {
        &self.adam.cfg
    }

    /// e = F W + E (n_items x d)
    fn item_embeddings(&self) -> Vec<f32> {
        let d = self.cfg.embed_dim;
        let mut e = self.params.get(self.item_free).to_vec();
        matmul(
            &self.item_features,
            self.params.get(self.item_w),
            &mut e,
            self.n_items,
            self.feat_dim,
            d,
            true,
        );
        e
    }

    fn check_obs(&self, obs: &[f32]) -> usize {
        debug_assert_eq!(obs.len() % self.in_dim, 0);
        obs.len() / self.in_dim
    }
}

impl AcBackend for NdarrayNet {
    fn kind(&self) -> &'static str {
        "ndarray"
    }

    fn forward(&self, obs: ArrayView2<f32>) -> (Array2<f32>, Array1<f32>) {
        let obs = obs.as_standard_layout();
        let x = obs.as_slice().expect("standard layout");
        let rows = self.check_obs(x);
        let (n, d) = (self.n_items, self.cfg.embed_dim);
        let h = self.actor.forward(&self.params, x, rows);
        let et = transpose(&self.item_embeddings(), n, d);
        let mut logits = vec![0f32; rows * n];
        matmul(h.output(), &et, &mut logits, rows, d, n, false);
        add_row(&mut logits, self.params.get(self.item_bias));
        let v = self.critic.forward(&self.params, x, rows);
        (
            Array2::from_shape_vec((rows, n), logits).expect("shape"),
            Array1::from_vec(v.output().to_vec()),
        )
    }

    fn values(&self, obs: ArrayView2<f32>) -> Array1<f32> {
        let obs = obs.as_standard_layout();
        let x = obs.as_slice().expect("standard layout");
        let rows = self.check_obs(x);
        Array1::from_vec(self.critic.forward(&self.params, x, rows).output().to_vec())
    }

    fn gradients(&self, batch: &UpdateBatch, loss: &LossConfig) -> (LossStats, Params) {
        let rows = self.check_obs(batch.obs);
        let (n, d) = (self.n_items, self.cfg.embed_dim);
        let mut grads = self.params.zeros_like();
        let h = self.actor.forward(&self.params, batch.obs, rows);
        let e = self.item_embeddings();
        let et = transpose(&e, n, d);
        let mut logits = vec![0f32; rows * n];
        matmul(h.output(), &et, &mut logits, rows, d, n, false);
        add_row(&mut logits, self.params.get(self.item_bias));
        let (probs, logz) = softmax_rows(&logits, n);
        let inv_b = 1.0 / rows as f32;
        let beta = loss.entropy_coef;
        let mut dz = vec![0f32; rows * n];
        let (mut pl, mut ent_sum) = (0f32, 0f32);
        for r in 0..rows {
            let z = &logits[r * n..(r + 1) * n];
            let p = &probs[r * n..(r + 1) * n];
            let a = batch.actions[r] as usize;
            let adv = batch.advantages[r];
            // H = -sum p log p
            let mut ent = 0f32;
            for j in 0..n {
                ent -= p[j] * (z[j] - logz[r]);
            }
            ent_sum += ent;
            pl -= adv * (z[a] - logz[r]);
            let g = &mut dz[r * n..(r + 1) * n];
            for j in 0..n {
                let logp = z[j] - logz[r];
                // d(-A log p_a)/dz_j = A (p_j - 1[j=a]);  d(-beta H)/dz_j = beta p_j (log p_j + H)
                g[j] = inv_b * (adv * p[j] + beta * p[j] * (logp + ent));
            }
            g[a] -= inv_b * adv;
        }
        // logits = h E^T + b
        let mut dh = vec![0f32; rows * d];
        matmul(&dz, &e, &mut dh, rows, n, d, false);
        let mut de = vec![0f32; n * d];
        matmul_tn(&dz, h.output(), &mut de, rows, n, d, false);
        col_sums_into(&dz, n, grads.get_mut(self.item_bias));
        matmul_tn(
            &self.item_features,
            &de,
            grads.get_mut(self.item_w),
            n,
            self.feat_dim,
            d,
            true,
        );
        grads.get_mut(self.item_free).copy_from_slice(&de);
        self.actor
            .backward(&self.params, &h, &dh, &mut grads, false);
        // value loss c_v * mean 0.5 (V - R)^2
        let v = self.critic.forward(&self.params, batch.obs, rows);
        let mut vl = 0f32;
        let dv: Vec<f32> = v
            .output()
            .iter()
            .zip(batch.returns)
            .map(|(&v, &ret)| {
                let diff = v - ret;
                vl += 0.5 * diff * diff;
                loss.value_coef * inv_b * diff
            })
            .collect();
        self.critic
            .backward(&self.params, &v, &dv, &mut grads, false);
        let stats = LossStats {
            policy_loss: pl * inv_b,
            value_loss: vl * inv_b,
            entropy: ent_sum * inv_b,
            total: pl * inv_b + loss.value_coef * vl * inv_b - beta * ent_sum * inv_b,
            grad_norm: grads.l2_norm(),
        };
        (stats, grads)
    }

    fn update(&mut self, batch: &UpdateBatch, loss: &LossConfig) -> LossStats {
        let (mut stats, mut grads) = self.gradients(batch, loss);
        stats.grad_norm = self.adam.step(&mut self.params, &mut grads);
        stats
    }

    fn params(&self) -> Params {
        self.params.clone()
    }

    fn set_params(&mut self, params: Params) -> Result<()> {
        self.params.check_compatible(&params, "policy weights")?;
        self.params = params;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> (NdarrayNet, Vec<f32>, Vec<u32>, Vec<f32>, Vec<f32>) {
        let feats: Vec<f32> = (0..6 * 3)
            .map(|i| ((i * 7 % 11) as f32 - 5.0) / 5.0)
            .collect();
        let cfg = NetConfig {
            hidden: 5,
            depth: 2,
            embed_dim: 4,
        };
        let mut net = NdarrayNet::new(
            cfg,
            4,
            std::sync::Arc::new(feats),
            6,
            AdamConfig::default(),
            3,
        )
        .unwrap();
        // make the free embeddings and biases non-zero so their gradients matter
        let mut p = net.params();
        let mut rng = Rng::new(9);
        for t in &mut p.tensors {
            t.data.iter_mut().for_each(|x| *x += 0.3 * rng.normal());
        }
        net.set_params(p).unwrap();
        let obs: Vec<f32> = (0..5 * 4).map(|_| rng.normal()).collect();
        let actions = vec![0, 3, 5, 1, 3];
        let adv = vec![1.0, -0.5, 2.0, 0.3, -1.2];
        let ret = vec![0.2, 1.0, -0.4, 0.8, 0.0];
        (net, obs, actions, adv, ret)
    }

    #[test]
    fn gradients_match_finite_differences() {
        let (mut net, obs, actions, adv, ret) = small();
        let batch = UpdateBatch {
            obs: &obs,
            actions: &actions,
            advantages: &adv,
            returns: &ret,
        };
        let loss = LossConfig {
            entropy_coef: 0.1,
            value_coef: 0.5,
        };
        let (_, grads) = net.gradients(&batch, &loss);
        let base = net.params();
        let eps = 1e-2f32;
        let mut worst = 0f32;
        for (ti, t) in base.tensors.iter().enumerate() {
            for i in 0..t.data.len() {
                let mut p = base.clone();
                p.tensors[ti].data[i] += eps;
                net.set_params(p.clone()).unwrap();
                let up = net.gradients(&batch, &loss).0.total;
                p.tensors[ti].data[i] -= 2.0 * eps;
                net.set_params(p).unwrap();
                let down = net.gradients(&batch, &loss).0.total;
                let numeric = (up - down) / (2.0 * eps);
                let analytic = grads.tensors[ti].data[i];
                let err = (numeric - analytic).abs() / (1e-2 + numeric.abs().max(analytic.abs()));
                worst = worst.max(err);
                assert!(
                    err < 2e-2,
                    "{}[{i}]: numeric {numeric} analytic {analytic}",
                    t.name
                );
            }
        }
        assert!(worst < 2e-2);
    }

    #[test]
    fn update_lowers_the_loss() {
        let (mut net, obs, actions, adv, ret) = small();
        let batch = UpdateBatch {
            obs: &obs,
            actions: &actions,
            advantages: &adv,
            returns: &ret,
        };
        let loss = LossConfig::default();
        let before = net.gradients(&batch, &loss).0.total;
        for _ in 0..50 {
            net.update(&batch, &loss);
        }
        let after = net.gradients(&batch, &loss).0.total;
        assert!(after < before - 0.1, "{before} -> {after}");
    }

    #[test]
    fn softmax_rows_sum_to_one() {
        let (p, logz) = softmax_rows(&[0.0, 0.0, 1000.0, 1.0, 2.0, 3.0], 3);
        assert!((p[2] - 1.0).abs() < 1e-6 && logz[0].is_finite());
        assert!((p[3..].iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }
}
