//! A multi-layer perceptron on flat row-major buffers: y = act(x W + b) per layer,
//! tanh between layers and none after the last. Backward returns gradients for
//! the weights and, when asked, for the input.

use crate::linalg::{add_row, col_sums_into, matmul, matmul_tn, tanh_in_place, transpose_into};
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
        let mut cache = MlpCache::default();
        self.forward_into(p, x, rows, &mut cache);
        cache
    }

    /// `forward` into the buffers of `cache` (no allocation once they are large enough).
    pub fn forward_into(&self, p: &Params, x: &[f32], rows: usize, cache: &mut MlpCache) {
        cache.rows = rows;
        cache.acts.resize_with(self.layers.len() + 1, Vec::new);
        cache.acts[0].clear();
        cache.acts[0].extend_from_slice(x);
        for (li, &(w, b, fin, fout)) in self.layers.iter().enumerate() {
            let (done, rest) = cache.acts.split_at_mut(li + 1);
            let y = &mut rest[0];
            y.resize(rows * fout, 0.0);
            matmul(&done[li], p.get(w), y, rows, fin, fout, false);
            add_row(y, p.get(b));
            if li + 1 < self.layers.len() {
                tanh_in_place(y);
            }
        }
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
        let mut s = MlpScratch::default();
        self.backward_into(p, cache, dy, grads, want_dx, &mut s)
            .map(|d| d.to_vec())
    }

    /// `backward` with its intermediate buffers in `s` (no allocation once they
    /// are large enough); d(loss)/d(input) is returned as a view of them.
    pub fn backward_into<'s>(
        &self,
        p: &Params,
        cache: &MlpCache,
        dy: &[f32],
        grads: &mut Params,
        want_dx: bool,
        s: &'s mut MlpScratch,
    ) -> Option<&'s [f32]> {
        let rows = cache.rows;
        s.d.clear();
        s.d.extend_from_slice(dy);
        for li in (0..self.layers.len()).rev() {
            let (w, b, fin, fout) = self.layers[li];
            if li + 1 < self.layers.len() {
                // tanh' = 1 - y^2
                for (g, &y) in s.d.iter_mut().zip(&cache.acts[li + 1]) {
                    *g *= 1.0 - y * y;
                }
            }
            matmul_tn(
                &cache.acts[li],
                &s.d,
                grads.get_mut(w),
                rows,
                fin,
                fout,
                true,
            );
            col_sums_into(&s.d, fout, grads.get_mut(b));
            if li > 0 || want_dx {
                transpose_into(p.get(w), fin, fout, &mut s.wt);
                s.dx.resize(rows * fin, 0.0);
                matmul(&s.d, &s.wt, &mut s.dx, rows, fout, fin, false);
                std::mem::swap(&mut s.d, &mut s.dx);
            }
        }
        want_dx.then_some(&s.d[..])
    }
}

/// The buffers `Mlp::backward_into` reuses between calls.
#[derive(Clone, Debug, Default)]
pub struct MlpScratch {
    d: Vec<f32>,
    dx: Vec<f32>,
    wt: Vec<f32>,
}
