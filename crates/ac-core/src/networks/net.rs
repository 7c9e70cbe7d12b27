//! The actor-critic networks and the backend trait they sit behind.
//!
//! Actor: pi(a|s) = softmax_a(h(s) . e_a + b_a), with the state tower h an MLP
//! and item embeddings e_a = F_a W + E_a (projected features plus a free
//! per-item part). Critic: V(s), a separate MLP. This file is the `ndarray`
//! backend; `torch` (a cargo feature) implements the same trait.

use crate::adam::{Adam, AdamConfig};
use crate::linalg::{
    add_row, col_sums_into, dot_lanes, exp_shifted_into, matmul, matmul_tn, max_of, sample_softmax,
    transpose_into,
};
#[cfg(not(target_arch = "wasm32"))]
use crate::linalg::{for_each_part, row_blocks};
use crate::mlp::{Mlp, MlpCache, MlpScratch};
use crate::params::{Params, Tensor};
use ialp_sim::{Error, Result, Rng};
use ndarray::{Array1, Array2, ArrayView2};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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

    /// Fails when a pass of either tower over `rows` rows (`rows_what` names
    /// the settings that give the count) would hold more than
    /// [`MAX_ACTIVATIONS`](ialp_sim::limits::MAX_ACTIVATIONS) values.
    pub fn check_rows(&self, rows_what: &str, rows: usize) -> Result<()> {
        ialp_sim::limits::check_activations(
            rows_what,
            rows,
            self.hidden,
            self.depth,
            self.embed_dim,
        )
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
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
    /// The rollout step: one action per row drawn from pi(.|s) with the
    /// uniform `uniforms[r]` (in [0, 1)), and V(s) into `values`. The actions
    /// are those [`crate::policy::choose_actions`] draws from `forward`'s logits
    /// with the same uniforms.
    fn act(&self, obs: ArrayView2<f32>, uniforms: &[f32], actions: &mut [u32], values: &mut [f32]) {
        let (logits, v) = self.forward(obs);
        let n = logits.ncols();
        let flat = logits.as_slice().expect("standard layout");
        let mut scratch = vec![0f32; n];
        for ((a, row), &u) in actions.iter_mut().zip(flat.chunks_exact(n)).zip(uniforms) {
            *a = sample_softmax(row, u, &mut scratch);
        }
        values.copy_from_slice(v.as_slice().expect("contiguous"));
    }
    /// As `act`, also keeping the step's activations for [`Self::update_recorded`].
    fn act_recorded(
        &mut self,
        obs: ArrayView2<f32>,
        uniforms: &[f32],
        actions: &mut [u32],
        values: &mut [f32],
    ) {
        self.act(obs, uniforms, actions, values)
    }
    /// `update` on a batch whose rows are, in order, those of the
    /// `act_recorded` calls since the weights last changed: the same result,
    /// reusing their forward pass where it was kept.
    fn update_recorded(&mut self, batch: &UpdateBatch, loss: &LossConfig) -> LossStats {
        self.update(batch, loss)
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
    /// Bumped whenever `params` change, so `scratch` knows when its item
    /// embeddings are stale.
    version: u64,
    scratch: ScratchCell,
}

/// Buffers reused across calls, so a rollout step or an update allocates
/// nothing once they have grown to the batch's size.
#[derive(Default)]
struct Scratch {
    /// The `version` of the params `e` / `et` were computed from.
    embeddings_of: Option<u64>,
    /// e = F W + E (n_items x d) and its transpose (d x n_items).
    e: Vec<f32>,
    et: Vec<f32>,
    actor: MlpCache,
    critic: MlpCache,
    mlp: MlpScratch,
    /// Logits (rows x n_items), then d(loss)/d(logits) in place.
    logits: Vec<f32>,
    dh: Vec<f32>,
    de: Vec<f32>,
    dv: Vec<f32>,
    grads: Option<Params>,
    record: Record,
    /// Per-thread buffers of the row-by-row work: a block of logits and a row.
    lanes: Vec<Lane>,
    /// Per row of an update block: the policy-loss term and the entropy.
    #[cfg(not(target_arch = "wasm32"))]
    terms: Vec<[f32; 2]>,
    /// Rows per block of an update that recomputes its logits (0: [`UPDATE_ROWS`]).
    update_rows: usize,
}

/// Rows per block of an update that recomputes its logits.
const UPDATE_ROWS: usize = 256;

/// One thread's buffers for work done row by row.
#[derive(Default)]
struct Lane {
    logits: Vec<f32>,
    row: Vec<f32>,
}

/// The forward passes of a rollout's steps, rows appended in order, for the
/// update that follows (the weights do not change in between, and a row's
/// activations do not depend on the rows computed with it, so they are the
/// bits the update would compute).
#[derive(Default)]
struct Record {
    /// The `version` of the params they were computed with.
    of: Option<u64>,
    actor: MlpCache,
    critic: MlpCache,
    /// Kept while rows x n_items stays within [`RECORD_LOGITS_MAX`].
    logits: Vec<f32>,
    with_logits: bool,
}

/// The most logits a record keeps (64 MiB); larger rollouts recompute them.
const RECORD_LOGITS_MAX: usize = 1 << 24;

impl Record {
    fn reset(&mut self, version: u64) {
        self.of = Some(version);
        self.actor.rows = 0;
        self.critic.rows = 0;
        self.actor.acts.iter_mut().for_each(Vec::clear);
        self.critic.acts.iter_mut().for_each(Vec::clear);
        self.logits.clear();
        self.with_logits = true;
    }

    fn append(dst: &mut MlpCache, src: &MlpCache) {
        dst.acts.resize_with(src.acts.len(), Vec::new);
        for (d, s) in dst.acts.iter_mut().zip(&src.acts) {
            d.extend_from_slice(s);
        }
        dst.rows += src.rows;
    }
}

/// Which parts of an update's forward pass `Scratch` already holds.
#[derive(Clone, Copy)]
struct Held {
    towers: bool,
    logits: bool,
}

/// The scratch behind a lock: `forward` takes `&self` and a `Policy` may be
/// shared between threads; the lock is uncontended in training.
#[derive(Default)]
struct ScratchCell(std::sync::Mutex<Scratch>);

impl Clone for ScratchCell {
    fn clone(&self) -> Self {
        ScratchCell::default()
    }
}

impl ScratchCell {
    fn lock(&self) -> std::sync::MutexGuard<'_, Scratch> {
        // the buffers hold no invariant a panic could break
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The buffers, moved out (for `&mut self` methods that also change the weights).
    fn take(&mut self) -> Scratch {
        std::mem::take(self.0.get_mut().unwrap_or_else(|e| e.into_inner()))
    }
}

/// One row of the policy loss: `z` (the row's logits) becomes d(loss)/d(logits),
/// with `p` as scratch for the probabilities; returns `[adv * log p_a, H]`, the
/// row's terms of the policy loss and the entropy (summed in row order by the caller).
#[inline(always)]
fn policy_row(z: &mut [f32], p: &mut [f32], a: usize, adv: f32, inv_b: f32, beta: f32) -> [f32; 2] {
    let m = max_of(z);
    let sum = exp_shifted_into(z, m, p);
    p.iter_mut().for_each(|x| *x /= sum);
    let logz = m + libm::logf(sum);
    // log p_j = z_j - log Z, kept in z
    z.iter_mut().for_each(|x| *x -= logz);
    // H = -sum p log p
    let ent = -dot_lanes(p, z);
    let term = adv * z[a];
    // d(-A log p_a)/dz_j = A (p_j - 1[j=a]);  d(-beta H)/dz_j = beta p_j (log p_j + H)
    for (g, &pj) in z.iter_mut().zip(p.iter()) {
        *g = inv_b * (adv * pj + beta * pj * (*g + ent));
    }
    z[a] -= inv_b * adv;
    [term, ent]
}

/// Logits = h e^T + b for a block of rows (`h`: rows x d, `et`: d x n), into
/// `logits`, each row sampled with its uniform into `actions`; `row` is scratch.
#[inline(always)]
fn sample_rows(
    h: &[f32],
    et: &[f32],
    bias: &[f32],
    logits: &mut [f32],
    uniforms: &[f32],
    actions: &mut [u32],
    row: &mut [f32],
) {
    let (rows, n) = (actions.len(), bias.len());
    matmul(h, et, logits, rows, h.len() / rows.max(1), n, false);
    add_row(logits, bias);
    for ((a, z), &u) in actions.iter_mut().zip(logits.chunks_exact(n)).zip(uniforms) {
        *a = sample_softmax(z, u, row);
    }
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
            version: 0,
            scratch: ScratchCell::default(),
        })
    }

    /// F: the items' feature rows (n_items x feat_dim).
    pub fn item_features(&self) -> &std::sync::Arc<Vec<f32>> {
        &self.item_features
    }

    pub fn adam_config(&self) -> &AdamConfig {
        &self.adam.cfg
    }

    /// e = F W + E (n_items x d) and its transpose into `s`, unless they are
    /// already those of the current params.
    fn item_embeddings_into(&self, s: &mut Scratch) {
        if s.embeddings_of == Some(self.version) {
            return;
        }
        let d = self.cfg.embed_dim;
        s.e.clear();
        s.e.extend_from_slice(self.params.get(self.item_free));
        matmul(
            &self.item_features,
            self.params.get(self.item_w),
            &mut s.e,
            self.n_items,
            self.feat_dim,
            d,
            true,
        );
        transpose_into(&s.e, self.n_items, d, &mut s.et);
        s.embeddings_of = Some(self.version);
    }

    /// logits = h e^T + b for the actor's output `h` (rows x d), into `s.logits`.
    fn logits_into(&self, s: &mut Scratch, rows: usize) {
        let (n, d) = (self.n_items, self.cfg.embed_dim);
        self.item_embeddings_into(s);
        s.logits.resize(rows * n, 0.0);
        matmul(s.actor.output(), &s.et, &mut s.logits, rows, d, n, false);
        add_row(&mut s.logits, self.params.get(self.item_bias));
    }

    /// The loss of the batch; its gradients are added to `grads`.
    fn gradients_into(
        &self,
        batch: &UpdateBatch,
        loss: &LossConfig,
        s: &mut Scratch,
        grads: &mut Params,
        held: Held,
    ) -> LossStats {
        let rows = self.check_obs(batch.obs);
        let (n, d) = (self.n_items, self.cfg.embed_dim);
        if !held.towers {
            self.actor
                .forward_into(&self.params, batch.obs, rows, &mut s.actor);
        }
        self.item_embeddings_into(s);
        // Without the rollout's logits, the rows go in blocks: no rows x n_items
        // buffer, and the same bits (every product adds its rows in order, and
        // a block's rows come after the previous block's).
        let block = if held.logits {
            rows.max(1)
        } else {
            match s.update_rows {
                0 => UPDATE_ROWS,
                r => r,
            }
        };
        let inv_b = 1.0 / rows as f32;
        let beta = loss.entropy_coef;
        let (mut pl, mut ent_sum) = (0f32, 0f32);
        s.dh.resize(rows * d, 0.0);
        s.de.resize(n * d, 0.0);
        s.de.fill(0.0);
        for r0 in (0..rows).step_by(block) {
            let r1 = (r0 + block).min(rows);
            let h = &s.actor.output()[r0 * d..r1 * d];
            if !held.logits {
                s.logits.resize((r1 - r0) * n, 0.0);
                matmul(h, &s.et, &mut s.logits, r1 - r0, d, n, false);
                add_row(&mut s.logits, self.params.get(self.item_bias));
            }
            #[cfg(not(target_arch = "wasm32"))]
            {
                // each row's softmax and d(loss)/d(logits) in place, rows spread
                // over the threads; the sums over rows then run in row order
                s.terms.resize(r1 - r0, [0.0; 2]);
                let blocks = row_blocks(r1 - r0, 8 * n);
                s.lanes
                    .resize_with(s.lanes.len().max(blocks.len()), Lane::default);
                let work = |(first, z, terms, lane): &mut (
                    usize,
                    &mut [f32],
                    &mut [[f32; 2]],
                    &mut Lane,
                )| {
                    lane.row.resize(n, 0.0);
                    for (i, (z, term)) in z.chunks_exact_mut(n).zip(terms.iter_mut()).enumerate() {
                        let r = *first + i;
                        let (a, adv) = (batch.actions[r] as usize, batch.advantages[r]);
                        *term = policy_row(z, &mut lane.row, a, adv, inv_b, beta);
                    }
                };
                let (z_all, t_all) = (&mut s.logits[..(r1 - r0) * n], &mut s.terms[..]);
                // one block (one thread) needs no parts list: an update allocates nothing
                let (mut one, mut many);
                let parts: &mut [_] = if blocks.len() == 1 {
                    one = [(r0, z_all, t_all, &mut s.lanes[0])];
                    &mut one
                } else {
                    many = Vec::with_capacity(blocks.len());
                    let (mut z_rest, mut t_rest) = (z_all, t_all);
                    for ((b0, b1), lane) in blocks.zip(s.lanes.iter_mut()) {
                        let (z, zr) = std::mem::take(&mut z_rest).split_at_mut((b1 - b0) * n);
                        let (t, tr) = std::mem::take(&mut t_rest).split_at_mut(b1 - b0);
                        (z_rest, t_rest) = (zr, tr);
                        many.push((r0 + b0, z, t, lane));
                    }
                    &mut many
                };
                for_each_part(parts, work);
                for &[t, ent] in &s.terms[..r1 - r0] {
                    ent_sum += ent;
                    pl -= t;
                }
            }
            // wasm32 (one thread): the same arithmetic row by row, in the form
            // that keeps the module within its size budget (packages/wasm/README.md)
            #[cfg(target_arch = "wasm32")]
            {
                s.lanes.resize_with(1, Lane::default);
                let p = &mut s.lanes[0].row;
                p.resize(n, 0.0);
                for r in r0..r1 {
                    let z = &mut s.logits[(r - r0) * n..(r - r0 + 1) * n];
                    let (a, adv) = (batch.actions[r] as usize, batch.advantages[r]);
                    let [t, ent] = policy_row(z, p, a, adv, inv_b, beta);
                    ent_sum += ent;
                    pl -= t;
                }
            }
            // logits = h E^T + b
            let dz = &s.logits[..(r1 - r0) * n];
            matmul(dz, &s.e, &mut s.dh[r0 * d..r1 * d], r1 - r0, n, d, false);
            matmul_tn(dz, h, &mut s.de, r1 - r0, n, d, true);
            col_sums_into(dz, n, grads.get_mut(self.item_bias));
        }
        matmul_tn(
            &self.item_features,
            &s.de,
            grads.get_mut(self.item_w),
            n,
            self.feat_dim,
            d,
            true,
        );
        for (g, &v) in grads.get_mut(self.item_free).iter_mut().zip(&s.de) {
            *g += v;
        }
        self.actor
            .backward_into(&self.params, &s.actor, &s.dh, grads, false, &mut s.mlp);
        // value loss c_v * mean 0.5 (V - R)^2
        if !held.towers {
            self.critic
                .forward_into(&self.params, batch.obs, rows, &mut s.critic);
        }
        let mut vl = 0f32;
        s.dv.clear();
        for (&v, &ret) in s.critic.output().iter().zip(batch.returns) {
            let diff = v - ret;
            vl += 0.5 * diff * diff;
            s.dv.push(loss.value_coef * inv_b * diff);
        }
        self.critic
            .backward_into(&self.params, &s.critic, &s.dv, grads, false, &mut s.mlp);
        LossStats {
            policy_loss: pl * inv_b,
            value_loss: vl * inv_b,
            entropy: ent_sum * inv_b,
            total: pl * inv_b + loss.value_coef * vl * inv_b - beta * ent_sum * inv_b,
            grad_norm: grads.l2_norm(),
        }
    }

    /// Logits in blocks of rows, each row sampled as soon as it is computed
    /// (while it is in cache), with no logits matrix for the whole batch unless
    /// `record` keeps them for the update.
    fn act_into(
        &self,
        s: &mut Scratch,
        obs: ArrayView2<f32>,
        uniforms: &[f32],
        actions: &mut [u32],
        values: &mut [f32],
        record: bool,
    ) {
        const BLOCK: usize = 32;
        let obs = obs.as_standard_layout();
        let x = obs.as_slice().expect("standard layout");
        let rows = self.check_obs(x);
        assert!(uniforms.len() == rows && actions.len() == rows && values.len() == rows);
        let (n, d) = (self.n_items, self.cfg.embed_dim);
        self.actor.forward_into(&self.params, x, rows, &mut s.actor);
        self.critic
            .forward_into(&self.params, x, rows, &mut s.critic);
        values.copy_from_slice(s.critic.output());
        self.item_embeddings_into(s);
        if record {
            if s.record.of != Some(self.version) {
                s.record.reset(self.version);
            }
            Record::append(&mut s.record.actor, &s.actor);
            Record::append(&mut s.record.critic, &s.critic);
            let r = &mut s.record;
            r.with_logits &= r.actor.rows * n <= RECORD_LOGITS_MAX;
            if !r.with_logits {
                r.logits = Vec::new();
            }
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            // rows spread over the threads, each thread's in blocks; a recorded
            // rollout's logits are computed straight into the record
            let keep = record && s.record.with_logits;
            let kept = s.record.logits.len();
            if keep {
                s.record.logits.resize(kept + rows * n, 0.0);
            }
            let blocks = row_blocks(rows, d * n);
            s.lanes
                .resize_with(s.lanes.len().max(blocks.len()), Lane::default);
            let (h_all, et, bias) = (s.actor.output(), &s.et[..], self.params.get(self.item_bias));
            let work =
                |(first, actions, kept, lane): &mut (usize, &mut [u32], &mut [f32], &mut Lane)| {
                    lane.row.resize(n, 0.0);
                    let first = *first;
                    for q0 in (0..actions.len()).step_by(BLOCK) {
                        let q1 = (q0 + BLOCK).min(actions.len());
                        let logits = if keep {
                            &mut kept[q0 * n..q1 * n]
                        } else {
                            lane.logits.resize((q1 - q0) * n, 0.0);
                            &mut lane.logits[..]
                        };
                        let h = &h_all[(first + q0) * d..(first + q1) * d];
                        let u = &uniforms[first + q0..first + q1];
                        sample_rows(h, et, bias, logits, u, &mut actions[q0..q1], &mut lane.row);
                    }
                };
            let k_all = if keep {
                &mut s.record.logits[kept..]
            } else {
                &mut [][..]
            };
            // one block (one thread) needs no parts list: a rollout step allocates nothing
            let (mut one, mut many);
            let parts: &mut [_] = if blocks.len() == 1 {
                one = [(0, actions, k_all, &mut s.lanes[0])];
                &mut one
            } else {
                many = Vec::with_capacity(blocks.len());
                let (mut a_rest, mut k_rest) = (actions, k_all);
                for ((b0, b1), lane) in blocks.zip(s.lanes.iter_mut()) {
                    let (a, ar) = std::mem::take(&mut a_rest).split_at_mut(b1 - b0);
                    let (k, kr) = std::mem::take(&mut k_rest).split_at_mut(if keep {
                        (b1 - b0) * n
                    } else {
                        0
                    });
                    (a_rest, k_rest) = (ar, kr);
                    many.push((b0, a, k, lane));
                }
                &mut many
            };
            for_each_part(parts, work);
        }
        // wasm32 (one thread): the same arithmetic in blocks of rows, in the
        // form that keeps the module within its size budget (packages/wasm/README.md)
        #[cfg(target_arch = "wasm32")]
        {
            s.lanes.resize_with(1, Lane::default);
            let lane = &mut s.lanes[0];
            lane.row.resize(n, 0.0);
            for r0 in (0..rows).step_by(BLOCK) {
                let r1 = (r0 + BLOCK).min(rows);
                let h = &s.actor.output()[r0 * d..r1 * d];
                lane.logits.resize((r1 - r0) * n, 0.0);
                let (bias, u) = (self.params.get(self.item_bias), &uniforms[r0..r1]);
                sample_rows(
                    h,
                    &s.et,
                    bias,
                    &mut lane.logits,
                    u,
                    &mut actions[r0..r1],
                    &mut lane.row,
                );
                if record && s.record.with_logits {
                    s.record.logits.extend_from_slice(&lane.logits);
                }
            }
        }
    }

    /// One optimiser step: gradients (with what `s` holds of the forward
    /// pass), clipping, Adam.
    fn update_with(
        &mut self,
        s: &mut Scratch,
        batch: &UpdateBatch,
        loss: &LossConfig,
        held: Held,
    ) -> LossStats {
        let mut grads = s.grads.take().unwrap_or_else(|| self.params.zeros_like());
        grads.fill(0.0);
        let mut stats = self.gradients_into(batch, loss, s, &mut grads, held);
        stats.grad_norm = self.adam.step(&mut self.params, &mut grads);
        s.grads = Some(grads);
        self.version += 1;
        stats
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
        let s = &mut *self.scratch.lock();
        self.actor.forward_into(&self.params, x, rows, &mut s.actor);
        self.logits_into(s, rows);
        self.critic
            .forward_into(&self.params, x, rows, &mut s.critic);
        (
            Array2::from_shape_vec((rows, self.n_items), s.logits.clone()).expect("shape"),
            Array1::from_vec(s.critic.output().to_vec()),
        )
    }

    fn values(&self, obs: ArrayView2<f32>) -> Array1<f32> {
        let obs = obs.as_standard_layout();
        let x = obs.as_slice().expect("standard layout");
        let rows = self.check_obs(x);
        let s = &mut *self.scratch.lock();
        self.critic
            .forward_into(&self.params, x, rows, &mut s.critic);
        Array1::from_vec(s.critic.output().to_vec())
    }

    fn act(&self, obs: ArrayView2<f32>, uniforms: &[f32], actions: &mut [u32], values: &mut [f32]) {
        self.act_into(
            &mut self.scratch.lock(),
            obs,
            uniforms,
            actions,
            values,
            false,
        )
    }

    fn act_recorded(
        &mut self,
        obs: ArrayView2<f32>,
        uniforms: &[f32],
        actions: &mut [u32],
        values: &mut [f32],
    ) {
        self.act_into(
            &mut self.scratch.lock(),
            obs,
            uniforms,
            actions,
            values,
            true,
        )
    }

    fn update_recorded(&mut self, batch: &UpdateBatch, loss: &LossConfig) -> LossStats {
        let mut scratch = self.scratch.take();
        let s = &mut scratch;
        let r = &mut s.record;
        let usable = r.of == Some(self.version)
            && r.actor.rows * self.in_dim == batch.obs.len()
            && r.actor.acts.first().is_some_and(|x| x[..] == batch.obs[..]);
        let held = if usable {
            std::mem::swap(&mut s.actor, &mut r.actor);
            std::mem::swap(&mut s.critic, &mut r.critic);
            if r.with_logits {
                std::mem::swap(&mut s.logits, &mut r.logits);
            }
            r.of = None;
            Held {
                towers: true,
                logits: r.with_logits,
            }
        } else {
            Held {
                towers: false,
                logits: false,
            }
        };
        let stats = self.update_with(s, batch, loss, held);
        self.scratch = ScratchCell(std::sync::Mutex::new(scratch));
        stats
    }

    fn gradients(&self, batch: &UpdateBatch, loss: &LossConfig) -> (LossStats, Params) {
        let mut grads = self.params.zeros_like();
        let s = &mut *self.scratch.lock();
        let stats = self.gradients_into(
            batch,
            loss,
            s,
            &mut grads,
            Held {
                towers: false,
                logits: false,
            },
        );
        (stats, grads)
    }

    fn update(&mut self, batch: &UpdateBatch, loss: &LossConfig) -> LossStats {
        let mut s = self.scratch.take();
        let stats = self.update_with(
            &mut s,
            batch,
            loss,
            Held {
                towers: false,
                logits: false,
            },
        );
        self.scratch = ScratchCell(std::sync::Mutex::new(s));
        stats
    }

    fn params(&self) -> Params {
        self.params.clone()
    }

    fn set_params(&mut self, params: Params) -> Result<()> {
        self.params.check_compatible(&params, "policy weights")?;
        self.params = params;
        self.version += 1;
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
    fn act_draws_what_choose_actions_draws_from_forward() {
        let (mut net, obs, actions, adv, ret) = small();
        let view = ArrayView2::from_shape((5, 4), &obs).unwrap();
        for round in 0..3 {
            let (logits, values) = net.forward(view);
            let mut rng = Rng::new(40 + round);
            let want = crate::policy::choose_actions(&logits, &mut rng, false);
            let mut rng = Rng::new(40 + round);
            let u: Vec<f32> = (0..5).map(|_| rng.uniform()).collect();
            let (mut got, mut v) = (vec![9u32; 5], vec![0f32; 5]);
            net.act(view, &u, &mut got, &mut v);
            assert_eq!(got, want);
            assert_eq!(v, values.to_vec());
            // the cached item embeddings follow the weights
            let batch = UpdateBatch {
                obs: &obs,
                actions: &actions,
                advantages: &adv,
                returns: &ret,
            };
            net.update(&batch, &LossConfig::default());
        }
        // a fresh copy of the weights computes the same logits as the one with a cache
        let fresh = net.clone();
        assert_eq!(fresh.forward(view).0, net.forward(view).0);
    }

    #[test]
    fn update_recorded_equals_update_bit_for_bit() {
        let (net, obs, actions, adv, ret) = small();
        let batch = UpdateBatch {
            obs: &obs,
            actions: &actions,
            advantages: &adv,
            returns: &ret,
        };
        let loss = LossConfig::default();
        let (mut plain, mut recorded) = (net.clone(), net);
        for round in 0..3 {
            let u = [0.1, 0.5, 0.9, 0.3, 0.7];
            let (mut a, mut v) = ([0u32; 5], [0f32; 5]);
            // two steps of 3 and 2 rows make up the batch
            for (r0, r1) in [(0, 3), (3, 5)] {
                let view = ArrayView2::from_shape((r1 - r0, 4), &obs[r0 * 4..r1 * 4]).unwrap();
                recorded.act_recorded(view, &u[r0..r1], &mut a[r0..r1], &mut v[r0..r1]);
            }
            let want = plain.update(&batch, &loss);
            // each round records afresh: the weights moved in the update before
            let got = recorded.update_recorded(&batch, &loss);
            assert_eq!(want, got, "round {round}");
            assert_eq!(plain.params(), recorded.params(), "round {round}");
        }
        // a batch that is not the recorded rows is recomputed, not mixed up
        let view = ArrayView2::from_shape((5, 4), &obs).unwrap();
        recorded.act_recorded(view, &[0.5; 5], &mut [0; 5], &mut [0.0; 5]);
        let other: Vec<f32> = obs.iter().map(|x| x * 0.5).collect();
        let batch = UpdateBatch {
            obs: &other,
            ..batch
        };
        assert_eq!(
            plain.update(&batch, &loss),
            recorded.update_recorded(&batch, &loss)
        );
    }

    #[test]
    fn an_update_in_blocks_of_rows_has_the_same_bits() {
        let (net, obs, actions, adv, ret) = small();
        let batch = UpdateBatch {
            obs: &obs,
            actions: &actions,
            advantages: &adv,
            returns: &ret,
        };
        let loss = LossConfig::default();
        let (whole, blocked) = (net.clone(), net);
        blocked.scratch.lock().update_rows = 2;
        let (a, b) = (
            whole.gradients(&batch, &loss),
            blocked.gradients(&batch, &loss),
        );
        assert_eq!(a, b);
    }

    #[test]
    fn softmax_rows_sum_to_one() {
        let (p, logz) = softmax_rows(&[0.0, 0.0, 1000.0, 1.0, 2.0, 3.0], 3);
        assert!((p[2] - 1.0).abs() < 1e-6 && logz[0].is_finite());
        assert!((p[3..].iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }
}
