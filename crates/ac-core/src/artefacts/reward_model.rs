//! The learned reward model r_phi(s, a) of iALP: fitted to the LLM's preference
//! labels (chosen = 1, not chosen = 0, or graded scores) and to logged feedback,
//! by binary cross-entropy on r_phi = sigmoid(h(s) . e_a + b_a), with h an MLP
//! over the encoded state and e_a = F_a W + E_a as in the actor.

use crate::adam::{Adam, AdamConfig};
use crate::encoder::StateEncoder;
use crate::linalg::{matmul, matmul_tn};
use crate::mlp::Mlp;
use crate::params::{Params, Tensor};
use ialp_sim::error::check_range;
use ialp_sim::{artefact, Error, Result, Rng, PAD_ITEM};
use serde::{Deserialize, Serialize};

pub const MAGIC: &[u8; 8] = b"IALPRWD\0";
pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct RewardModelConfig {
    pub hidden: usize,
    pub depth: usize,
    pub embed_dim: usize,
    pub epochs: usize,
    pub batch_size: usize,
    pub adam: AdamConfig,
    /// Share of examples held out to report the fit and to stop early: the
    /// last ones in the order given, so that examples given together (one
    /// request's, one user's) stay on one side.
    pub validation_fraction: f32,
    /// Stop when the held-out loss has not improved for this many epochs and
    /// keep the epoch that was best on it; 0 trains all `epochs`.
    pub patience: usize,
    pub seed: u64,
}

impl Default for RewardModelConfig {
    fn default() -> Self {
        RewardModelConfig {
            hidden: 64,
            // two hidden layers: on the experiment's labels the fit's own held-out loss
            // is lower than with one on synthetic (0.489 against 0.513, whose latent
            // topics one layer under-fits) and MovieLens (0.516 against 0.521), level
            // on Coat (0.527 against 0.526)
            depth: 2,
            embed_dim: 16,
            epochs: 30,
            batch_size: 128,
            adam: AdamConfig {
                lr: 1e-3,
                max_grad_norm: 5.0,
                ..AdamConfig::default()
            },
            validation_fraction: 0.2,
            patience: 2,
            seed: 0,
        }
    }
}

impl RewardModelConfig {
    pub fn validate(&self) -> Result<()> {
        use ialp_sim::limits::{check_int, MAX_BATCH, MAX_DEPTH, MAX_EPOCHS, MAX_WIDTH};
        check_int("rewardModel.hidden", self.hidden, 1, MAX_WIDTH)?;
        check_int("rewardModel.depth", self.depth, 1, MAX_DEPTH)?;
        check_int("rewardModel.embedDim", self.embed_dim, 1, MAX_WIDTH)?;
        check_int("rewardModel.epochs", self.epochs, 1, MAX_EPOCHS)?;
        check_int("rewardModel.batchSize", self.batch_size, 1, MAX_BATCH)?;
        check_range("rewardModel.adam.lr", self.adam.lr, 1e-9, 10.0)?;
        check_range(
            "rewardModel.validationFraction",
            self.validation_fraction,
            0.0,
            0.9,
        )?;
        ialp_sim::limits::check_activations(
            "rewardModel.batchSize",
            self.batch_size,
            self.hidden,
            self.depth,
            self.embed_dim,
        )
    }

    /// Values in all tensors of a model over `encoder` (None on overflow);
    /// call after [`validate`](Self::validate).
    pub fn param_count(&self, encoder: &StateEncoder) -> Option<usize> {
        let mut sizes = vec![encoder.out_dim()];
        sizes.extend(std::iter::repeat_n(
            self.hidden,
            self.depth.min(ialp_sim::limits::MAX_DEPTH),
        ));
        sizes.push(self.embed_dim);
        let (f, n, d) = (encoder.feature_dim, encoder.n_items, self.embed_dim);
        crate::net::mlp_param_count(&sizes)?
            .checked_add(f.checked_mul(d)?)?
            .checked_add(n.checked_mul(d)?)?
            .checked_add(n)
    }
}

/// Training examples: a state (H items and their rewards), an item and a label in [0, 1].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RewardExamples {
    pub history: usize,
    pub hist_items: Vec<u32>,
    pub hist_rewards: Vec<f32>,
    pub items: Vec<u32>,
    pub labels: Vec<f32>,
}

impl RewardExamples {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn check(&self, n_items: usize) -> Result<()> {
        let n = self.items.len();
        let h = self.history;
        ialp_sim::limits::check_int(
            "reward examples history",
            h,
            1,
            ialp_sim::limits::MAX_HISTORY,
        )?;
        // h is bounded, so n * h fits (a 32-bit usize included) for any n that fits in memory
        let nh = n
            .checked_mul(h)
            .ok_or_else(|| Error::new("reward examples: too many examples"))?;
        if self.labels.len() != n || self.hist_items.len() != nh || self.hist_rewards.len() != nh {
            return Err(Error::new(format!(
                "reward examples: {n} items need {n} labels and {nh} history entries (H = {h}); got {} labels, {} history items, {} history rewards",
                self.labels.len(),
                self.hist_items.len(),
                self.hist_rewards.len()
            )));
        }
        if let Some(i) = self.items.iter().position(|&a| a as usize >= n_items) {
            return Err(Error::invalid(
                &format!("reward examples item [{i}]"),
                &format!("an item id < {n_items}"),
                self.items[i],
            ));
        }
        if let Some(i) = self.labels.iter().position(|y| !(0.0..=1.0).contains(y)) {
            return Err(Error::invalid(
                &format!("reward examples label [{i}]"),
                "a number in [0, 1]",
                self.labels[i],
            ));
        }
        if let Some(i) = self
            .hist_items
            .iter()
            .position(|&a| a != PAD_ITEM && a as usize >= n_items)
        {
            return Err(Error::invalid(
                &format!("reward examples history item [{i}]"),
                &format!("an item id < {n_items}"),
                self.hist_items[i],
            ));
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct RewardFit {
    pub examples: usize,
    pub train_loss: f32,
    /// None when nothing was held out.
    pub validation_loss: Option<f32>,
    /// AUC of r_phi at separating held-out examples labelled >= 0.5 from the
    /// rest; None when the held-out examples are all of one kind.
    pub validation_auc: Option<f64>,
}

#[derive(Clone)]
pub struct RewardModel {
    pub config: RewardModelConfig,
    pub encoder: StateEncoder,
    params: Params,
    tower: Mlp,
    item_w: usize,
    item_free: usize,
    item_bias: usize,
    pub fit: RewardFit,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Header {
    format: String,
    config: RewardModelConfig,
    history: usize,
    n_items: usize,
    feature_dim: usize,
    fit: RewardFit,
    tensors: Vec<(String, Vec<usize>)>,
}

fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + libm::expf(-z))
}

impl RewardModel {
    pub fn new(config: RewardModelConfig, encoder: StateEncoder) -> Result<Self> {
        config.validate()?;
        crate::net::check_param_count("reward model", config.param_count(&encoder))?;
        let mut rng = Rng::stream(config.seed, 0x4E_0001_0000_0000);
        let mut params = Params::default();
        let mut sizes = vec![encoder.out_dim()];
        sizes.extend(std::iter::repeat_n(config.hidden, config.depth));
        sizes.push(config.embed_dim);
        let tower = Mlp::new(&mut params, "state.", &sizes, 1.0, &mut rng);
        let f = encoder.feature_dim;
        let item_w = params.push(Tensor::normal(
            "item.w",
            &[f, config.embed_dim],
            (1.0 / f as f32).sqrt(),
            &mut rng,
        ));
        let item_free = params.push(Tensor::zeros(
            "item.free",
            &[encoder.n_items, config.embed_dim],
        ));
        let item_bias = params.push(Tensor::zeros("item.bias", &[encoder.n_items]));
        Ok(RewardModel {
            config,
            encoder,
            params,
            tower,
            item_w,
            item_free,
            item_bias,
            fit: RewardFit::default(),
        })
    }

    fn embedding(&self, item: usize) -> Vec<f32> {
        let (f, d) = (self.encoder.feature_dim, self.config.embed_dim);
        let mut e = self.params.get(self.item_free)[item * d..(item + 1) * d].to_vec();
        let fi = &self.encoder.item_features[item * f..(item + 1) * f];
        matmul(fi, self.params.get(self.item_w), &mut e, 1, f, d, true);
        e
    }

    /// Logits z = h(s) . e_a + b_a for rows of (state, item); `states` is the
    /// encoded state of each row.
    fn logits(&self, h: &[f32], items: &[u32]) -> Vec<f32> {
        let d = self.config.embed_dim;
        items
            .iter()
            .enumerate()
            .map(|(r, &a)| {
                let e = self.embedding(a as usize);
                let hs = &h[r * d..(r + 1) * d];
                hs.iter().zip(&e).map(|(x, y)| x * y).sum::<f32>()
                    + self.params.get(self.item_bias)[a as usize]
            })
            .collect()
    }

    fn encode(&self, hist_items: &[u32], hist_rewards: &[f32]) -> Result<Vec<f32>> {
        let rows = hist_items.len() / self.encoder.history.max(1);
        let mut x = vec![0f32; rows * self.encoder.out_dim()];
        self.encoder.encode(hist_items, hist_rewards, &mut x)?;
        Ok(x)
    }

    /// Fails when a pass over `rows` states (`rows_what` names whose count)
    /// that scores every item would hold more than
    /// [`MAX_ACTIVATIONS`](ialp_sim::limits::MAX_ACTIVATIONS) values.
    pub fn check_rows(&self, rows_what: &str, rows: usize) -> Result<()> {
        let c = &self.config;
        ialp_sim::limits::check_activations(rows_what, rows, c.hidden, c.depth, c.embed_dim)?;
        ialp_sim::limits::check_item_rows(rows_what, rows, self.encoder.n_items)
    }

    /// r_phi for each (state, item) row, in [0, 1].
    pub fn score(
        &self,
        hist_items: &[u32],
        hist_rewards: &[f32],
        items: &[u32],
    ) -> Result<Vec<f32>> {
        let h = self.encoder.history;
        // checked: on wasm32 a wrapped product could match a short history
        if items.len().checked_mul(h) != Some(hist_items.len()) {
            return Err(Error::invalid(
                "history length",
                &format!("{} x H = {h} per item", items.len()),
                hist_items.len(),
            ));
        }
        if let Some(&a) = items.iter().find(|&&a| a as usize >= self.encoder.n_items) {
            return Err(Error::invalid(
                "item",
                &format!("an item id < {}", self.encoder.n_items),
                a,
            ));
        }
        let x = self.encode(hist_items, hist_rewards)?;
        let cache = self.tower.forward(&self.params, &x, items.len());
        let z = self.logits(cache.output(), items);
        super::check_scores("reward model", &z)?;
        Ok(z.into_iter().map(sigmoid).collect())
    }

    /// r_phi of every item for each state (rows x n_items): the state tower runs
    /// once per state and the item embeddings once in all.
    pub fn score_all(&self, hist_items: &[u32], hist_rewards: &[f32]) -> Result<Vec<f32>> {
        let (n, d, f) = (
            self.encoder.n_items,
            self.config.embed_dim,
            self.encoder.feature_dim,
        );
        let rows = hist_items.len() / self.encoder.history.max(1);
        self.check_rows("states", rows)?;
        let x = self.encode(hist_items, hist_rewards)?;
        let cache = self.tower.forward(&self.params, &x, rows);
        // E = F W + E_free, then z = h E^T + b
        let mut e = self.params.get(self.item_free).to_vec();
        matmul(
            &self.encoder.item_features,
            self.params.get(self.item_w),
            &mut e,
            n,
            f,
            d,
            true,
        );
        let et = crate::linalg::transpose(&e, n, d);
        let mut z = vec![0f32; rows * n];
        matmul(cache.output(), &et, &mut z, rows, d, n, false);
        crate::linalg::add_row(&mut z, self.params.get(self.item_bias));
        super::check_scores("reward model", &z)?;
        Ok(z.into_iter().map(sigmoid).collect())
    }

    /// Mean binary cross-entropy and its gradients on rows `idx` of `ex`.
    fn loss_and_grads(&self, x_all: &[f32], ex: &RewardExamples, idx: &[usize]) -> (f32, Params) {
        let (od, d, f) = (
            self.encoder.out_dim(),
            self.config.embed_dim,
            self.encoder.feature_dim,
        );
        let rows = idx.len();
        let mut x = Vec::with_capacity(rows * od);
        let items: Vec<u32> = idx.iter().map(|&i| ex.items[i]).collect();
        for &i in idx {
            x.extend_from_slice(&x_all[i * od..(i + 1) * od]);
        }
        let cache = self.tower.forward(&self.params, &x, rows);
        let h = cache.output();
        let z = self.logits(h, &items);
        let mut grads = self.params.zeros_like();
        let mut dh = vec![0f32; rows * d];
        let mut loss = 0f32;
        let inv = 1.0 / rows as f32;
        for r in 0..rows {
            let (y, a) = (ex.labels[idx[r]], items[r] as usize);
            let p = sigmoid(z[r]);
            // BCE = -(y log p + (1 - y) log(1 - p)), computed stably from z
            loss += libm::logf(1.0 + libm::expf(-z[r].abs())) + z[r].max(0.0) - y * z[r];
            let dz = inv * (p - y);
            let e = self.embedding(a);
            for (g, &ek) in dh[r * d..(r + 1) * d].iter_mut().zip(&e) {
                *g = dz * ek;
            }
            grads.get_mut(self.item_bias)[a] += dz;
            let de: Vec<f32> = h[r * d..(r + 1) * d].iter().map(|v| dz * v).collect();
            for (g, &dk) in grads.get_mut(self.item_free)[a * d..(a + 1) * d]
                .iter_mut()
                .zip(&de)
            {
                *g += dk;
            }
            let fa = &self.encoder.item_features[a * f..(a + 1) * f];
            matmul_tn(fa, &de, grads.get_mut(self.item_w), 1, f, d, true);
        }
        self.tower
            .backward(&self.params, &cache, &dh, &mut grads, false);
        (loss * inv, grads)
    }

    /// Fits the model to `ex`. The last `validation_fraction` of the examples
    /// (in their order, so a caller that groups them by request or user holds
    /// out whole groups, as new users would be) is held out: reported in
    /// `self.fit`, and with `patience` the parameters of the epoch best on it
    /// are kept.
    pub fn train(
        &mut self,
        ex: &RewardExamples,
        progress: &mut dyn FnMut(usize, f32) -> bool,
    ) -> Result<RewardFit> {
        ex.check(self.encoder.n_items)?;
        if ex.history != self.encoder.history {
            return Err(Error::invalid(
                "reward examples history",
                &self.encoder.history.to_string(),
                ex.history,
            ));
        }
        if ex.len() < 2 {
            return Err(Error::invalid("reward examples", "at least 2", ex.len()));
        }
        let n_val =
            ((ex.len() as f32 * self.config.validation_fraction) as usize).min(ex.len() - 1);
        // the held-out loss passes every validation example at once
        let c = &self.config;
        ialp_sim::limits::check_activations(
            "reward examples x rewardModel.validationFraction",
            n_val,
            c.hidden,
            c.depth,
            c.embed_dim,
        )?;
        let x_all = self.encode(&ex.hist_items, &ex.hist_rewards)?;
        let mut rng = Rng::stream(self.config.seed, 0x4E_0002_0000_0000);
        let order: Vec<usize> = (0..ex.len()).collect();
        let (train, val) = order.split_at(ex.len() - n_val);
        let mut train = train.to_vec();
        let mut adam = Adam::new(self.config.adam.clone(), &self.params);
        let mut last = 0f32;
        let mut best: Option<(f32, f32, Params)> = None; // (held-out loss, train loss, params)
        let mut since_best = 0;
        for epoch in 0..self.config.epochs {
            for i in (1..train.len()).rev() {
                train.swap(i, rng.below(i as u32 + 1) as usize);
            }
            let (mut sum, mut batches) = (0f32, 0);
            for chunk in train.chunks(self.config.batch_size) {
                let (l, mut g) = self.loss_and_grads(&x_all, ex, chunk);
                adam.step(&mut self.params, &mut g);
                sum += l;
                batches += 1;
            }
            last = sum / batches as f32;
            if !last.is_finite() {
                return Err(Error::new(
                    "reward model training diverged (lower rewardModel.adam.lr)",
                ));
            }
            if self.config.patience > 0 && !val.is_empty() {
                let v = self.loss_and_grads(&x_all, ex, val).0;
                if best.as_ref().is_none_or(|b| v < b.0) {
                    best = Some((v, last, self.params.clone()));
                    since_best = 0;
                } else {
                    since_best += 1;
                }
            }
            if !progress(epoch + 1, last) || since_best >= self.config.patience.max(1) {
                break;
            }
        }
        if let Some((_, train_loss, params)) = best {
            self.params = params;
            last = train_loss;
        }
        let validation_loss = (!val.is_empty()).then(|| self.loss_and_grads(&x_all, ex, val).0);
        let val_items: Vec<u32> = val.iter().map(|&i| ex.items[i]).collect();
        let h = self.encoder.history;
        let hi: Vec<u32> = val
            .iter()
            .flat_map(|&i| ex.hist_items[i * h..(i + 1) * h].iter().copied())
            .collect();
        let hr: Vec<f32> = val
            .iter()
            .flat_map(|&i| ex.hist_rewards[i * h..(i + 1) * h].iter().copied())
            .collect();
        let scores = self.score(&hi, &hr, &val_items)?;
        let labels: Vec<bool> = val.iter().map(|&i| ex.labels[i] >= 0.5).collect();
        self.fit = RewardFit {
            examples: ex.len(),
            train_loss: last,
            validation_loss,
            validation_auc: Some(auc(&scores, &labels)).filter(|a| a.is_finite()),
        };
        Ok(self.fit.clone())
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let header = Header {
            format: "ialp-reward-model".into(),
            config: self.config.clone(),
            history: self.encoder.history,
            n_items: self.encoder.n_items,
            feature_dim: self.encoder.feature_dim,
            fit: self.fit.clone(),
            tensors: self
                .params
                .tensors
                .iter()
                .map(|t| (t.name.clone(), t.shape.clone()))
                .collect(),
        };
        let json = serde_json::to_vec(&header).expect("header serialises");
        let payload: Vec<f32> = self
            .encoder
            .item_features
            .iter()
            .chain(self.params.tensors.iter().flat_map(|t| t.data.iter()))
            .copied()
            .collect();
        artefact::write(MAGIC, FORMAT_VERSION, &json, &payload)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        const WHAT: &str = "reward model";
        let (header, floats) = artefact::read(WHAT, MAGIC, FORMAT_VERSION, bytes)?;
        let h: Header = ialp_sim::error::from_json_header(WHAT, header)?;
        let nf = artefact::tensor_len(WHAT, "item_features", &[h.n_items, h.feature_dim])?;
        let feats = artefact::slice(WHAT, "item_features", &floats, 0, nf)?;
        let encoder =
            StateEncoder::new(h.history, h.n_items, feats).map_err(|e| e.context(WHAT))?;
        // the model the header describes must be the one the payload holds,
        // checked before it is built (a forged size would allocate what it says)
        h.config.validate().map_err(|e| e.context(WHAT))?;
        let expected = h.config.param_count(&encoder);
        if expected != Some(floats.len() - nf) {
            return Err(Error::new(format!(
                "{WHAT}: its network (hidden {}, depth {}, embedDim {} over {} items) has {} parameters, but the file holds {}",
                h.config.hidden,
                h.config.depth,
                h.config.embed_dim,
                h.n_items,
                expected.map_or("too many".to_string(), |n| n.to_string()),
                floats.len() - nf
            )));
        }
        let mut m = RewardModel::new(h.config, encoder).map_err(|e| e.context(WHAT))?;
        let mut at = nf;
        let mut params = Params::default();
        for (name, shape) in &h.tensors {
            let n = artefact::tensor_len(WHAT, name, shape)?;
            params.push(Tensor {
                name: name.clone(),
                shape: shape.clone(),
                data: artefact::slice(WHAT, name, &floats, at, n)?,
            });
            at += n;
        }
        m.params.check_compatible(&params, WHAT)?;
        m.params = params;
        m.fit = h.fit;
        Ok(m)
    }
}

/// AUC of `scores` at ranking the `true` labels above the `false` ones (ties 1/2).
pub fn auc(scores: &[f32], labels: &[bool]) -> f64 {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    ialp_sim::order::sort_by(&mut idx, &|&a, &b| scores[a].total_cmp(&scores[b]));
    let (mut rank_sum, mut pos) = (0f64, 0usize);
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            if labels[k] {
                rank_sum += avg_rank;
                pos += 1;
            }
        }
        i = j + 1;
    }
    let neg = scores.len() - pos;
    if pos == 0 || neg == 0 {
        return f64::NAN;
    }
    (rank_sum - (pos * (pos + 1)) as f64 / 2.0) / (pos * neg) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Items 0..4 with one feature each: users whose history holds item 0 like
    /// even items, the others like odd items.
    fn toy() -> (StateEncoder, RewardExamples) {
        let enc = StateEncoder::new(2, 4, vec![1.0, -1.0, 0.5, -0.5]).unwrap();
        let mut ex = RewardExamples {
            history: 2,
            ..Default::default()
        };
        let mut rng = Rng::new(1);
        for _ in 0..400 {
            let evens = rng.below(2) == 0;
            let seen = if evens { 0 } else { 1 };
            let item = rng.below(4);
            ex.hist_items.extend([PAD_ITEM, seen]);
            ex.hist_rewards.extend([0.0, 1.0]);
            ex.items.push(item);
            ex.labels
                .push((item.is_multiple_of(2) == evens) as u8 as f32);
        }
        (enc, ex)
    }

    #[test]
    fn learns_preferences_and_round_trips() {
        let (enc, ex) = toy();
        let mut m = RewardModel::new(RewardModelConfig::default(), enc).unwrap();
        let fit = m.train(&ex, &mut |_, _| true).unwrap();
        assert!(fit.validation_auc.unwrap() > 0.95, "{fit:?}");
        let s = m
            .score(&[PAD_ITEM, 0, PAD_ITEM, 0], &[0.0, 1.0, 0.0, 1.0], &[2, 3])
            .unwrap();
        assert!(s[0] > 0.8 && s[1] < 0.2, "{s:?}");
        let all = m.score_all(&[PAD_ITEM, 0], &[0.0, 1.0]).unwrap();
        let one = m
            .score(
                &[PAD_ITEM, 0, PAD_ITEM, 0, PAD_ITEM, 0, PAD_ITEM, 0],
                &[0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0],
                &[0, 1, 2, 3],
            )
            .unwrap();
        for (a, b) in all.iter().zip(&one) {
            assert!((a - b).abs() < 1e-5, "{all:?} vs {one:?}");
        }
        let back = RewardModel::from_bytes(&m.to_bytes()).unwrap();
        assert_eq!(
            back.score(&[PAD_ITEM, 0], &[0.0, 1.0], &[2]).unwrap(),
            m.score(&[PAD_ITEM, 0], &[0.0, 1.0], &[2]).unwrap()
        );
        assert_eq!(back.fit, m.fit);
    }

    #[test]
    fn scores_that_overflow_are_an_error_not_nan() {
        let (enc, ex) = toy();
        let mut m = RewardModel::new(RewardModelConfig::default(), enc).unwrap();
        let h = m.encoder.history;
        let (items, rewards) = (&ex.hist_items[..h], &ex.hist_rewards[..h]);
        assert!(m.score(items, rewards, &[0]).unwrap()[0].is_finite());
        // every weight finite (the load checks pass), but 3e38 x 3e38 overflows f32
        for i in 0..m.params.tensors.len() {
            m.params.get_mut(i).fill(3e38);
        }
        for e in [
            m.score(items, rewards, &[0]).unwrap_err(),
            m.score_all(items, rewards).unwrap_err(),
        ] {
            assert!(e.message().starts_with("reward model: score "), "{e}");
        }
    }

    #[test]
    fn early_stopping_keeps_the_epoch_best_on_held_out_examples() {
        // labels that are mostly noise: training longer fits the noise
        let (enc, mut ex) = toy();
        let mut rng = Rng::new(9);
        for y in ex.labels.iter_mut() {
            if rng.below(10) < 4 {
                *y = rng.below(2) as f32;
            }
        }
        // one hidden layer: on this toy it fits the noise within 40 epochs
        let cfg = |patience| RewardModelConfig {
            hidden: 32,
            depth: 1,
            embed_dim: 8,
            epochs: 40,
            patience,
            ..Default::default()
        };
        let mut epochs_run = (0, 0);
        let mut all = RewardModel::new(cfg(0), enc.clone()).unwrap();
        let full = all
            .train(&ex, &mut |e, _| {
                epochs_run.0 = e;
                true
            })
            .unwrap();
        let mut early = RewardModel::new(cfg(2), enc).unwrap();
        let stopped = early
            .train(&ex, &mut |e, _| {
                epochs_run.1 = e;
                true
            })
            .unwrap();
        assert_eq!(epochs_run.0, 40);
        assert!(epochs_run.1 < 40, "{epochs_run:?}");
        let (v_full, v_early) = (
            full.validation_loss.unwrap(),
            stopped.validation_loss.unwrap(),
        );
        assert!(
            v_early < v_full,
            "held-out loss {v_early} (early) vs {v_full} (all epochs)"
        );
        // the held-out examples are the last ones given, in order
        let n_val = (ex.len() as f32 * 0.2) as usize;
        let tail: Vec<usize> = (ex.len() - n_val..ex.len()).collect();
        let x_all = early.encode(&ex.hist_items, &ex.hist_rewards).unwrap();
        assert_eq!(early.loss_and_grads(&x_all, &ex, &tail).0, v_early);
    }

    #[test]
    fn gradients_match_finite_differences() {
        let (enc, ex) = toy();
        let mut m = RewardModel::new(
            RewardModelConfig {
                hidden: 3,
                embed_dim: 2,
                ..Default::default()
            },
            enc,
        )
        .unwrap();
        let mut rng = Rng::new(4);
        m.params
            .tensors
            .iter_mut()
            .for_each(|t| t.data.iter_mut().for_each(|x| *x += 0.3 * rng.normal()));
        let x_all = m.encode(&ex.hist_items, &ex.hist_rewards).unwrap();
        let idx: Vec<usize> = (0..8).collect();
        let (_, g) = m.loss_and_grads(&x_all, &ex, &idx);
        let eps = 1e-2;
        for ti in 0..m.params.tensors.len() {
            for i in 0..m.params.tensors[ti].data.len() {
                let orig = m.params.tensors[ti].data[i];
                m.params.tensors[ti].data[i] = orig + eps;
                let up = m.loss_and_grads(&x_all, &ex, &idx).0;
                m.params.tensors[ti].data[i] = orig - eps;
                let down = m.loss_and_grads(&x_all, &ex, &idx).0;
                m.params.tensors[ti].data[i] = orig;
                let num = (up - down) / (2.0 * eps);
                let ana = g.tensors[ti].data[i];
                assert!(
                    (num - ana).abs() < 2e-3 + 2e-2 * num.abs().max(ana.abs()),
                    "{}[{i}]: {num} vs {ana}",
                    m.params.tensors[ti].name
                );
            }
        }
    }

    #[test]
    fn auc_by_hand_and_bad_examples() {
        assert_eq!(
            auc(&[0.1, 0.4, 0.35, 0.8], &[false, true, false, true]),
            1.0
        );
        assert_eq!(auc(&[0.5, 0.5], &[true, false]), 0.5);
        let (enc, mut ex) = toy();
        ex.labels[3] = 2.0;
        let mut m = RewardModel::new(RewardModelConfig::default(), enc).unwrap();
        let e = m.train(&ex, &mut |_, _| true).unwrap_err();
        assert!(e.message().contains("label [3]"), "{e}");
    }
}
