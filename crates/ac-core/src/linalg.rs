//! Dense f32 kernels with a fixed order of operations: every output element is
//! accumulated in the same sequence on every target (no FMA contraction, no
//! reassociation), so native and WebAssembly builds agree bit for bit. The inner
//! loops are plain `axpy`s that the compiler vectorises across the output row.

/// C (m x n) = A (m x k) . B (k x n), row-major. `acc`: add to C instead of overwriting.
pub fn matmul(a: &[f32], b: &[f32], c: &mut [f32], m: usize, k: usize, n: usize, acc: bool) {
    debug_assert_eq!(a.len(), m * k);
    debug_assert_eq!(b.len(), k * n);
    debug_assert_eq!(c.len(), m * n);
    if !acc {
        c.fill(0.0);
    }
    for i in 0..m {
        let ci = &mut c[i * n..(i + 1) * n];
        let ai = &a[i * k..(i + 1) * k];
        for (p, &x) in ai.iter().enumerate() {
            if x != 0.0 {
                axpy(x, &b[p * n..(p + 1) * n], ci);
            }
        }
    }
}

/// C (k x n) = A^T . B with A (m x k), B (m x n). `acc`: add to C.
pub fn matmul_tn(a: &[f32], b: &[f32], c: &mut [f32], m: usize, k: usize, n: usize, acc: bool) {
    debug_assert_eq!(a.len(), m * k);
    debug_assert_eq!(b.len(), m * n);
    debug_assert_eq!(c.len(), k * n);
    if !acc {
        c.fill(0.0);
    }
    for p in 0..m {
        let bp = &b[p * n..(p + 1) * n];
        for (i, &x) in a[p * k..(p + 1) * k].iter().enumerate() {
            if x != 0.0 {
                axpy(x, bp, &mut c[i * n..(i + 1) * n]);
            }
        }
    }
}

/// Transpose of a row-major (rows x cols) matrix.
pub fn transpose(a: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0f32; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = a[r * cols + c];
        }
    }
    t
}

/// y += a * x
#[inline]
pub fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// Adds `bias` to every row of the (rows x bias.len()) matrix `y`.
pub fn add_row(y: &mut [f32], bias: &[f32]) {
    for row in y.chunks_exact_mut(bias.len()) {
        for (v, &b) in row.iter_mut().zip(bias) {
            *v += b;
        }
    }
}

/// Column sums of a (rows x cols) matrix, added to `out`.
pub fn col_sums_into(y: &[f32], cols: usize, out: &mut [f32]) {
    for row in y.chunks_exact(cols) {
        for (o, &v) in out.iter_mut().zip(row) {
            *o += v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matmul_matches_naive() {
        let (m, k, n) = (3, 4, 5);
        let a: Vec<f32> = (0..m * k).map(|i| i as f32 * 0.5 - 2.0).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32).sin()).collect();
        let mut c = vec![0f32; m * n];
        matmul(&a, &b, &mut c, m, k, n, false);
        for i in 0..m {
            for j in 0..n {
                let e: f32 = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
                assert!((c[i * n + j] - e).abs() < 1e-5);
            }
        }
        let at = transpose(&a, m, k);
        let mut c2 = vec![0f32; m * n];
        matmul_tn(&at, &b, &mut c2, k, m, n, false);
        assert_eq!(c, c2);
    }
}
