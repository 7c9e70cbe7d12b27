//! Adam (Kingma & Ba 2015) with global-norm gradient clipping.

use crate::params::Params;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct AdamConfig {
    /// Step size.
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    /// Rescale gradients whose global L2 norm exceeds this; 0 = no clipping.
    pub max_grad_norm: f32,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            max_grad_norm: 0.5,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Adam {
    pub cfg: AdamConfig,
    m: Params,
    v: Params,
    t: u32,
}

impl Adam {
    pub fn new(cfg: AdamConfig, like: &Params) -> Self {
        Adam {
            cfg,
            m: like.zeros_like(),
            v: like.zeros_like(),
            t: 0,
        }
    }

    /// Clips `grads` in place and applies one step to `params`. Returns the norm
    /// before clipping.
    pub fn step(&mut self, params: &mut Params, grads: &mut Params) -> f32 {
        let norm = grads.l2_norm();
        if self.cfg.max_grad_norm > 0.0 && norm > self.cfg.max_grad_norm {
            grads.scale(self.cfg.max_grad_norm / (norm + 1e-6));
        }
        self.t += 1;
        let (b1, b2) = (self.cfg.beta1, self.cfg.beta2);
        // bias corrections 1 - beta^t
        let c1 = 1.0 - libm::powf(b1, self.t as f32);
        let c2 = 1.0 - libm::powf(b2, self.t as f32);
        let lr = self.cfg.lr;
        let eps = self.cfg.eps;
        for (((p, g), m), v) in params
            .tensors
            .iter_mut()
            .zip(&grads.tensors)
            .zip(&mut self.m.tensors)
            .zip(&mut self.v.tensors)
        {
            let each = p
                .data
                .iter_mut()
                .zip(&g.data)
                .zip(&mut m.data)
                .zip(&mut v.data);
            for (((p, &g), m), v) in each {
                *m = b1 * *m + (1.0 - b1) * g;
                *v = b2 * *v + (1.0 - b2) * g * g;
                // p -= lr * m_hat / (sqrt(v_hat) + eps); sqrt is correctly
                // rounded on every target, so this vectorises with the same bits
                *p -= lr * (*m / c1) / ((*v / c2).sqrt() + eps);
            }
        }
        norm
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Tensor;

    #[test]
    fn minimises_a_quadratic() {
        let mut p = Params::default();
        p.push(Tensor {
            name: "x".into(),
            shape: vec![2],
            data: vec![3.0, -2.0],
        });
        let mut opt = Adam::new(
            AdamConfig {
                lr: 0.05,
                max_grad_norm: 0.0,
                ..Default::default()
            },
            &p,
        );
        for _ in 0..500 {
            let mut g = p.clone();
            // f = x0^2 + 10 x1^2
            g.tensors[0].data[0] *= 2.0;
            g.tensors[0].data[1] *= 20.0;
            opt.step(&mut p, &mut g);
        }
        assert!(p.tensors[0].data.iter().all(|x| x.abs() < 0.05), "{p:?}");
    }
}
