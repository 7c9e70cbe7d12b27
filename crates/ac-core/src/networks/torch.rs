//! The libtorch backend (cargo feature `torch`): the networks, losses and Adam
//! of `net.rs` / `adam.rs` on tch tensors, on the CPU or a CUDA device.
//! Gradients come from autograd instead of the hand-written backward pass;
//! everything else (weights, their order and names, the update) is the same, so
//! a `TchNet` made from an `NdarrayNet` starts from identical weights.

use crate::adam::AdamConfig;
use crate::net::{AcBackend, LossConfig, LossStats, NdarrayNet, NetConfig, UpdateBatch};
use crate::params::{Params, Tensor as PTensor};
use ialp_sim::{Error, Result};
use ndarray::{Array1, Array2, ArrayView2};
use tch::{Device, Kind, Tensor};

/// (weight, bias) indices into `vars` per layer.
type Layers = Vec<(usize, usize)>;

pub struct TchNet {
    pub cfg: NetConfig,
    pub in_dim: usize,
    pub n_items: usize,
    device: Device,
    /// F (n_items x feat_dim) on `device`.
    item_features: Tensor,
    /// Names and shapes of the weights, in `Params` order.
    layout: Params,
    /// The weights, leaves that require gradients, in `layout` order.
    vars: Vec<Tensor>,
    actor: Layers,
    critic: Layers,
    item_w: usize,
    item_free: usize,
    item_bias: usize,
    adam: AdamConfig,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    t: u32,
}

fn to_tensor(t: &PTensor, device: Device) -> Tensor {
    let shape: Vec<i64> = t.shape.iter().map(|&d| d as i64).collect();
    Tensor::from_slice(&t.data)
        .reshape(&shape)
        .to_device(device)
}

fn to_vec(t: &Tensor) -> Vec<f32> {
    let t = t.detach().to_device(Device::Cpu).contiguous().view(-1);
    Vec::<f32>::try_from(&t).expect("f32 tensor")
}

fn tch_err(what: &str, e: tch::TchError) -> Error {
    Error::new(format!("torch backend: {what}: {e}"))
}

impl TchNet {
    /// A copy of `net` (weights and configuration; fresh Adam state) on `device`.
    pub fn from_ndarray(net: &NdarrayNet, device: Device) -> Result<Self> {
        Self::from_params(
            net.cfg.clone(),
            net.in_dim,
            net.item_features(),
            net.n_items,
            net.adam_config().clone(),
            net.params(),
            device,
        )
    }

    /// Weights named as `NdarrayNet` names them (`actor.{i}.w`, `critic.{i}.b`,
    /// `item.w`, `item.free`, `item.bias`).
    pub fn from_params(
        cfg: NetConfig,
        in_dim: usize,
        item_features: &[f32],
        n_items: usize,
        adam: AdamConfig,
        params: Params,
        device: Device,
    ) -> Result<Self> {
        cfg.validate()?;
        crate::net::check_item_features(item_features, n_items)?;
        let find = |name: &str| {
            params
                .tensors
                .iter()
                .position(|t| t.name == name)
                .ok_or_else(|| Error::new(format!("torch backend: no weight \"{name}\"")))
        };
        let layers = |prefix: &str| -> Result<Layers> {
            (0..=cfg.depth)
                .map(|i| {
                    Ok((
                        find(&format!("{prefix}{i}.w"))?,
                        find(&format!("{prefix}{i}.b"))?,
                    ))
                })
                .collect()
        };
        let (actor, critic) = (layers("actor.")?, layers("critic.")?);
        let (item_w, item_free, item_bias) =
            (find("item.w")?, find("item.free")?, find("item.bias")?);
        let feat_dim = item_features.len() / n_items;
        let vars: Vec<Tensor> = params
            .tensors
            .iter()
            .map(|t| to_tensor(t, device).set_requires_grad(true))
            .collect();
        let zeros = || -> Vec<Tensor> { vars.iter().map(|v| v.detach().zeros_like()).collect() };
        let (m, v) = (zeros(), zeros());
        let item_features = Tensor::from_slice(item_features)
            .reshape([n_items as i64, feat_dim as i64])
            .to_device(device);
        let mut layout = params;
        layout.tensors.iter_mut().for_each(|t| t.data = Vec::new());
        Ok(TchNet {
            cfg,
            in_dim,
            n_items,
            device,
            item_features,
            layout,
            vars,
            actor,
            critic,
            item_w,
            item_free,
            item_bias,
            adam,
            m,
            v,
            t: 0,
        })
    }

    pub fn device(&self) -> Device {
        self.device
    }

    fn obs(&self, obs: &[f32]) -> Tensor {
        let rows = (obs.len() / self.in_dim) as i64;
        Tensor::from_slice(obs)
            .reshape([rows, self.in_dim as i64])
            .to_device(self.device)
    }

    /// y = act(x W + b) per layer, tanh between layers, none after the last.
    fn mlp(&self, layers: &Layers, x: &Tensor) -> Tensor {
        let mut y = x.shallow_clone();
        for (li, &(w, b)) in layers.iter().enumerate() {
            y = y.matmul(&self.vars[w]) + &self.vars[b];
            if li + 1 < layers.len() {
                y = y.tanh();
            }
        }
        y
    }

    /// logits = h(s) E^T + b with e = F W + E; and V(s).
    fn logits_values(&self, x: &Tensor) -> (Tensor, Tensor) {
        let h = self.mlp(&self.actor, x);
        let e = self.item_features.matmul(&self.vars[self.item_w]) + &self.vars[self.item_free];
        let logits = h.matmul(&e.tr()) + &self.vars[self.item_bias];
        let v = self.mlp(&self.critic, x).squeeze_dim(1);
        (logits, v)
    }

    /// The loss terms [policy, value, entropy, total] (a 4-vector on `device`)
    /// and the gradients of `total`, in `vars` order.
    fn loss_and_grads(&self, batch: &UpdateBatch, loss: &LossConfig) -> (Tensor, Vec<Tensor>) {
        let x = self.obs(batch.obs);
        let actions: Vec<i64> = batch.actions.iter().map(|&a| a as i64).collect();
        let actions = Tensor::from_slice(&actions).to_device(self.device);
        let adv = Tensor::from_slice(batch.advantages).to_device(self.device);
        let ret = Tensor::from_slice(batch.returns).to_device(self.device);
        let (logits, v) = self.logits_values(&x);
        let logp = logits.log_softmax(-1, Kind::Float);
        // H = -sum_a p log p, per row
        let ent = -(logp.exp() * &logp).sum_dim_intlist(-1, false, Kind::Float);
        let logp_a = logp.gather(1, &actions.unsqueeze(1), false).squeeze_dim(1);
        // -mean A log pi(a|s)
        let pl = -(adv * logp_a).mean(Kind::Float);
        // mean 0.5 (V - R)^2
        let vl = ((v - ret).square() * 0.5).mean(Kind::Float);
        let ent = ent.mean(Kind::Float);
        let total = &pl + &vl * loss.value_coef as f64 - &ent * loss.entropy_coef as f64;
        let grads = Tensor::run_backward(&[&total], &self.vars, false, false);
        let terms = Tensor::stack(&[pl, vl, ent, total], 0).detach();
        (terms, grads)
    }

    /// Stats of the terms and of the gradients' global L2 norm, in one copy
    /// from the device.
    fn stats(terms: &Tensor, grads: &[Tensor]) -> LossStats {
        let sq: Vec<Tensor> = grads
            .iter()
            .map(|g| g.to_kind(Kind::Double).square().sum(Kind::Double))
            .collect();
        let norm = Tensor::stack(&sq, 0)
            .sum(Kind::Double)
            .sqrt()
            .to_kind(Kind::Float);
        let all = to_vec(&Tensor::cat(&[terms.shallow_clone(), norm.unsqueeze(0)], 0));
        LossStats {
            policy_loss: all[0],
            value_loss: all[1],
            entropy: all[2],
            total: all[3],
            grad_norm: all[4],
        }
    }
}

impl AcBackend for TchNet {
    fn kind(&self) -> &'static str {
        "torch"
    }

    fn forward(&self, obs: ArrayView2<f32>) -> (Array2<f32>, Array1<f32>) {
        let obs = obs.as_standard_layout();
        let rows = obs.nrows();
        let x = self.obs(obs.as_slice().expect("standard layout"));
        let (logits, v) = tch::no_grad(|| self.logits_values(&x));
        (
            Array2::from_shape_vec((rows, self.n_items), to_vec(&logits)).expect("shape"),
            Array1::from_vec(to_vec(&v)),
        )
    }

    fn values(&self, obs: ArrayView2<f32>) -> Array1<f32> {
        let obs = obs.as_standard_layout();
        let x = self.obs(obs.as_slice().expect("standard layout"));
        let v = tch::no_grad(|| self.mlp(&self.critic, &x).squeeze_dim(1));
        Array1::from_vec(to_vec(&v))
    }

    fn gradients(&self, batch: &UpdateBatch, loss: &LossConfig) -> (LossStats, Params) {
        let (terms, grads) = self.loss_and_grads(batch, loss);
        let stats = Self::stats(&terms, &grads);
        let mut out = self.layout.clone();
        for (t, g) in out.tensors.iter_mut().zip(&grads) {
            t.data = to_vec(g);
        }
        (stats, out)
    }

    fn update(&mut self, batch: &UpdateBatch, loss: &LossConfig) -> LossStats {
        let (terms, mut grads) = self.loss_and_grads(batch, loss);
        let stats = Self::stats(&terms, &grads);
        let a = &self.adam;
        let norm = stats.grad_norm;
        if a.max_grad_norm > 0.0 && norm > a.max_grad_norm {
            let k = (a.max_grad_norm / (norm + 1e-6)) as f64;
            grads.iter_mut().for_each(|g| *g = &*g * k);
        }
        self.t += 1;
        let (b1, b2) = (a.beta1, a.beta2);
        // bias corrections 1 - beta^t, as adam.rs computes them
        let c1 = 1.0 - libm::powf(b1, self.t as f32);
        let c2 = 1.0 - libm::powf(b2, self.t as f32);
        let (lr, eps) = (a.lr, a.eps);
        tch::no_grad(|| {
            for ((p, g), (m, v)) in self
                .vars
                .iter_mut()
                .zip(&grads)
                .zip(self.m.iter_mut().zip(self.v.iter_mut()))
            {
                // m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
                let _ = m.g_mul_scalar_(b1 as f64);
                let _ = m.g_add_(&(g * (1.0 - b1) as f64));
                let _ = v.g_mul_scalar_(b2 as f64);
                let _ = v.g_add_(&(g.square() * (1.0 - b2) as f64));
                // p -= lr * m_hat / (sqrt(v_hat) + eps)
                let step = (&*m / c1 as f64) / ((&*v / c2 as f64).sqrt() + eps as f64) * lr as f64;
                let _ = p.g_sub_(&step);
            }
        });
        stats
    }

    fn params(&self) -> Params {
        let mut out = self.layout.clone();
        for (t, v) in out.tensors.iter_mut().zip(&self.vars) {
            t.data = to_vec(v);
        }
        out
    }

    fn set_params(&mut self, params: Params) -> Result<()> {
        let mut like = self.layout.clone();
        for t in &mut like.tensors {
            t.data = vec![0.0; t.shape.iter().product()];
        }
        like.check_compatible(&params, "policy weights")?;
        let device = self.device;
        tch::no_grad(|| {
            self.vars
                .iter_mut()
                .zip(&params.tensors)
                .try_for_each(|(v, t)| v.f_copy_(&to_tensor(t, device)))
        })
        .map_err(|e| tch_err("set_params", e))
    }
}
