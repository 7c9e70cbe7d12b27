//! A multi-layer perceptron on flat row-major buffers: y = act(x W + b) per layer,
//! tanh between layers and none after the last. Backward returns gradients for
//! the weights and, when asked, for the input.

use crate::linalg::{add_row, col_sums_into, matmul, matmul_tn, tanh_in_place, transpose};
use crate::params::{Params, Tensor};
use ialp_sim::Rng;

#[derive(Clone, Debug)]
pub struct Mlp {
    /// (weight index, bias index, in, out) per layer into a shared `Params`.
    layers: Vec<(usize, usize, usize, usize)>,
}

/// Activations kept by `forward` for `backward`: the input and each layer's output.
#[derive(Clone, Debug, Default)]
pub struct MlpCache {
    pub acts: Vec<Vec<f32>>,
    pub rows: usize,
}

impl MlpCache {
    pub fn output(&self) -> &[f32] {
        self.acts.last().map(|v| v.as_slice()).unwrap_or(&[])
    }
}

impl Mlp {
    /// Adds the layers' tensors to `params` as `{prefix}{i}.w` / `{prefix}{i}.b`.
    /// LeCun-normal weights; the last layer scaled by `out_gain`.
    pub fn new(
        params: &mut Params,
        prefix: &str,
        sizes: &[usize],
        out_gain: f32,
        rng: &mut Rng,
    ) -> Mlp {
        let mut layers = Vec::new();
        for (i, win) in sizes.windows(2).enumerate() {
            let (fan_in, fan_out) = (win[0], win[1]);
            let last = i + 2 == sizes.len();
            let std = (1.0 / fan_in as f32).sqrt() * if last { out_gain } else { 1.0 };
            let w = params.push(Tensor::normal(
                &format!("{prefix}{i}.w"),
                &[fan_in, fan_out],
                std,
                rng,
            ));
            let b = params.push(Tensor::zeros(&format!("{prefix}{i}.b"), &[fan_out]));
            layers.push((w, b, fan_in, fan_out));
        }
        Mlp { layers }
    }

    pub fn out_dim(&self) -> usize {
        self.layers.last().map(|l| l.3).unwrap_or(0)
    }

    pub fn forward(&self, p: &Params, x: &[f32], rows: usize) -> MlpCache {
        let mut acts = vec![x.to_vec()];
        for (li, &(w, b, fin, fout)) in self.layers.iter().enumerate() {
            let mut y = vec![0f32; rows * fout];
            matmul(&acts[li], p.get(w), &mut y, rows, fin, fout, false);
            add_row(&mut y, p.get(b));
            if li + 1 < self.layers.len() {
                tanh_in_place(&mut y);
            }
            acts.push(y);
        }
        MlpCache { acts, rows }
    }

    /// Accumulates into `grads` the gradients given d(loss)/d(output) `dy`;
    /// returns d(loss)/d(input) if `want_dx`.
    pub fn backward(
        &self,
        p: &Params,
        cache: &MlpCache,
        dy: &[f32],
        grads: &mut Params,
        want_dx: bool,
    ) -> Option<Vec<f32>> {
        let rows = cache.rows;
        let mut d = dy.to_vec();
        for li in (0..self.layers.len()).rev() {
            let (w, b, fin, fout) = self.layers[li];
            if li + 1 < self.layers.len() {
                // tanh' = 1 - y^2
                for (g, &y) in d.iter_mut().zip(&cache.acts[li + 1]) {
                    *g *= 1.0 - y * y;
                }
            }
            matmul_tn(&cache.acts[li], &d, grads.get_mut(w), rows, fin, fout, true);
            col_sums_into(&d, fout, grads.get_mut(b));
            if li > 0 || want_dx {
                let wt = transpose(p.get(w), fin, fout);
                let mut dx = vec![0f32; rows * fin];
                matmul(&d, &wt, &mut dx, rows, fout, fin, false);
                d = dx;
            }
        }
        want_dx.then_some(d)
    }
}
