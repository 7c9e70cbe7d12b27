//! Dense f32 kernels with a fixed order of operations: every output element is
//! accumulated in the same sequence on every target (no FMA contraction, no
//! reassociation), so native and WebAssembly builds agree bit for bit.
//!
//! The matrix products run register tiles: an `MR x NR` block of C stays in
//! registers while p runs over the shared dimension, so each element of C still
//! receives `c += a[i,p] * b[p,j]` for p = 0, 1, ... in order, one rounding per
//! multiply and per add, exactly as a plain triple loop would. Only the speed
//! depends on the tile and the instruction set: on x86-64 the kernels are also
//! compiled for AVX2 and AVX-512 and picked at run time (multiplies and adds
//! stay separate instructions, so the bits do not change); wasm gets simd128
//! where the build enables it.

/// C (m x n) = A (m x k) . B (k x n), row-major. `acc`: add to C instead of overwriting.
pub fn matmul(a: &[f32], b: &[f32], c: &mut [f32], m: usize, k: usize, n: usize, acc: bool) {
    assert!(
        a.len() == m * k && b.len() == k * n && c.len() == m * n,
        "matmul: shapes {m}x{k} . {k}x{n} do not match lengths {}, {}, {}",
        a.len(),
        b.len(),
        c.len()
    );
    // a[i, p] = a[i * k + p]; without `acc` the first pass over the shared
    // dimension starts its tiles at zero rather than reading C
    gemm(a, k, 1, b, c, m, k, n, !acc);
}

/// C (k x n) = A^T . B with A (m x k), B (m x n). `acc`: add to C.
pub fn matmul_tn(a: &[f32], b: &[f32], c: &mut [f32], m: usize, k: usize, n: usize, acc: bool) {
    assert!(
        a.len() == m * k && b.len() == m * n && c.len() == k * n,
        "matmul_tn: shapes ({m}x{k})^T . {m}x{n} do not match lengths {}, {}, {}",
        a.len(),
        b.len(),
        c.len()
    );
    // C (k x n) += At (k x m) . B (m x n) with At[i, p] = a[p * k + i]
    gemm(a, 1, k, b, c, k, m, n, !acc);
}

/// C (rows x n) += A' (rows x depth) . B (depth x n), where A'[i, p] =
/// `a[i * ars + p * acs]`, B and C row-major, with the widest kernel the CPU
/// has; `fresh`: C = A' . B, whatever C held (the bits of a C filled with
/// zeros first, without the pass that fills it). A large product is split into
/// blocks of C's rows over the threads [`product_threads`] allows: every
/// element of C is still the same sum in the same order (only the sum over
/// `depth` is a reduction, and it is never split), so the bits do not depend
/// on the thread count.
#[allow(clippy::too_many_arguments)]
fn gemm(
    a: &[f32],
    ars: usize,
    acs: usize,
    b: &[f32],
    c: &mut [f32],
    rows: usize,
    depth: usize,
    n: usize,
    fresh: bool,
) {
    if rows == 0 || n == 0 {
        return;
    }
    if depth == 0 {
        if fresh {
            c[..rows * n].fill(0.0);
        }
        return;
    }
    #[cfg(not(target_arch = "wasm32"))]
    if par::gemm_split(a, ars, acs, b, c, rows, depth, n, fresh) {
        return;
    }
    debug_assert!((rows - 1) * ars + (depth - 1) * acs < a.len());
    #[cfg(target_arch = "x86_64")]
    {
        match simd_level() {
            // SAFETY: the CPU has the features each kernel was compiled for
            // (checked by `simd_level`); the shapes were checked by the callers.
            SimdLevel::Avx512 => unsafe {
                return gemm_avx512(a, ars, acs, b, c, rows, depth, n, fresh);
            },
            SimdLevel::Avx2 => unsafe {
                return gemm_avx2(a, ars, acs, b, c, rows, depth, n, fresh);
            },
            SimdLevel::Base => {}
        }
    }
    gemm_tiles::<4, 8>(a, ars, acs, b, c, rows, depth, n, fresh)
}

/// Threads the matrix products of the calling thread may use from now until
/// the returned guard is dropped (which restores the previous count; 1, the
/// default, computes on the caller alone). Products of fewer than
/// [`PAR_MIN_WORK`] multiply-adds, or with too few rows to share, stay on the
/// caller. Results are the same for any count. No threads on wasm32.
pub fn product_threads(threads: usize) -> ProductThreads {
    #[cfg(not(target_arch = "wasm32"))]
    {
        ProductThreads {
            previous: par::set_threads(threads.max(1)),
        }
    }
    #[cfg(target_arch = "wasm32")]
    {
        let _ = threads;
        ProductThreads { previous: 1 }
    }
}

/// Restores the product thread count it replaced when dropped; see [`product_threads`].
#[must_use = "the thread count holds only while the guard lives"]
pub struct ProductThreads {
    previous: usize,
}

impl Drop for ProductThreads {
    fn drop(&mut self) {
        #[cfg(not(target_arch = "wasm32"))]
        par::set_threads(self.previous);
        #[cfg(target_arch = "wasm32")]
        let _ = self.previous;
    }
}

/// Contiguous blocks `(start, end)` covering `0..rows`, one per thread the
/// calling thread's products may use (see [`product_threads`]), or a single
/// block when that is one thread or `rows * work_per_row` is under
/// [`PAR_MIN_WORK`]. For work done row by row, independently per row.
pub fn row_blocks(rows: usize, work_per_row: usize) -> RowBlocks {
    #[cfg(not(target_arch = "wasm32"))]
    let threads = par::threads();
    #[cfg(target_arch = "wasm32")]
    let threads = 1;
    let blocks = if rows.saturating_mul(work_per_row) < PAR_MIN_WORK {
        1
    } else {
        threads.clamp(1, rows.max(1))
    };
    let per = rows.div_ceil(blocks).max(1);
    RowBlocks {
        rows,
        per,
        next: 0,
        count: rows.div_ceil(per).max(1),
    }
}

/// The blocks of [`row_blocks`], in order (an iterator: no allocation).
#[derive(Clone, Copy, Debug)]
pub struct RowBlocks {
    rows: usize,
    per: usize,
    next: usize,
    count: usize,
}

impl Iterator for RowBlocks {
    type Item = (usize, usize);
    fn next(&mut self) -> Option<(usize, usize)> {
        (self.next < self.count).then(|| {
            let i = self.next;
            self.next += 1;
            (i * self.per, ((i + 1) * self.per).min(self.rows))
        })
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.count - self.next;
        (left, Some(left))
    }
}

impl ExactSizeIterator for RowBlocks {}

/// Calls `f` on every part: on the product threads (see [`product_threads`])
/// when there are several parts, else on the calling thread, in order. A
/// product computed inside `f` runs on the thread that runs `f`.
pub fn for_each_part<P: Send>(parts: &mut [P], f: impl Fn(&mut P) + Sync) {
    #[cfg(not(target_arch = "wasm32"))]
    if parts.len() > 1 && par::threads() > 1 {
        if !par::for_each_part(parts, &f) {
            parts.iter_mut().for_each(&f);
        }
        return;
    }
    parts.iter_mut().for_each(f);
}

/// Fewest multiply-adds worth splitting a product over threads: 2^20 take
/// some hundreds of microseconds, well above handing a task to a worker that
/// is still watching for one (the pool's workers spin briefly before they
/// park). Measured on 2 cores, two threads over one: 2^19 made B = 16 with 500
/// items 0.73x, 2^20 1.00x; without the spin, 2^20 gave 0.78x there
/// (`npm run bench -- --only train`).
pub const PAR_MIN_WORK: usize = 1 << 20;

#[cfg(not(target_arch = "wasm32"))]
mod par {
    use ialp_sim::pool::ThreadPool;
    use std::cell::{Cell, RefCell};

    thread_local! {
        /// Threads this thread's products may use.
        static THREADS: Cell<usize> = const { Cell::new(1) };
        /// Started on the first split product (with the count it was asked
        /// for: a thread that cannot start leaves fewer), kept parked for the next.
        static POOL: RefCell<Option<(usize, ThreadPool)>> = const { RefCell::new(None) };
    }

    /// Sets the count, returning the one it replaces.
    pub(super) fn set_threads(threads: usize) -> usize {
        THREADS.with(|t| t.replace(threads))
    }

    pub(super) fn threads() -> usize {
        THREADS.with(Cell::get)
    }

    /// Runs `f` with this thread's pool (started, or restarted for a new
    /// count, here); None when the pool is busy (`f` of a task calling this again).
    fn with_pool<R>(f: impl FnOnce(&mut ThreadPool) -> R) -> Option<R> {
        POOL.with(|cell| {
            let mut slot = cell.try_borrow_mut().ok()?;
            let threads = threads();
            if slot.as_ref().map(|(asked, _)| *asked) != Some(threads) {
                *slot = Some((threads, ThreadPool::new(threads)));
            }
            let (_, pool) = slot.as_mut().expect("just started");
            Some(f(pool))
        })
    }

    /// Runs `f` on the parts over the pool; false (nothing done) when it is busy.
    pub(super) fn for_each_part<P: Send>(parts: &mut [P], f: &(impl Fn(&mut P) + Sync)) -> bool {
        with_pool(|pool| pool.for_each_mut(parts, |_, p| f(p))).is_some()
    }

    /// Rows per block: a multiple of the widest row tile, so blocks keep full tiles.
    const ROW_ALIGN: usize = 8;

    /// Runs the product in row blocks over the pool; false (nothing done) when
    /// it is too small to split, one thread is allowed, or the pool is busy
    /// (a product inside a product's task runs serially).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn gemm_split(
        a: &[f32],
        ars: usize,
        acs: usize,
        b: &[f32],
        c: &mut [f32],
        rows: usize,
        depth: usize,
        n: usize,
        fresh: bool,
    ) -> bool {
        let threads = threads();
        let work = rows.saturating_mul(depth).saturating_mul(n);
        if threads < 2 || work < super::PAR_MIN_WORK || rows < 2 * ROW_ALIGN {
            return false;
        }
        with_pool(|pool| {
            let blocks = pool.threads().min(rows / ROW_ALIGN).max(1);
            let per = rows.div_ceil(blocks).div_ceil(ROW_ALIGN) * ROW_ALIGN;
            let mut parts: Vec<(usize, &mut [f32])> = c[..rows * n]
                .chunks_mut(per * n)
                .enumerate()
                .map(|(i, chunk)| (i * per, chunk))
                .collect();
            // each block on one thread: inside a task the pool is busy (the
            // caller) or the count is 1 (a worker), so `gemm` does not split again
            pool.for_each_mut(&mut parts, |_, (r0, chunk)| {
                let r = chunk.len() / n;
                super::gemm(&a[*r0 * ars..], ars, acs, b, chunk, r, depth, n, fresh);
            });
        })
        .is_some()
    }
}

#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum SimdLevel {
    Base,
    Avx2,
    Avx512,
}

#[cfg(target_arch = "x86_64")]
fn simd_level() -> SimdLevel {
    use std::sync::atomic::{AtomicU8, Ordering};
    static LEVEL: AtomicU8 = AtomicU8::new(u8::MAX);
    let level = match LEVEL.load(Ordering::Relaxed) {
        0 => SimdLevel::Base,
        1 => SimdLevel::Avx2,
        2 => SimdLevel::Avx512,
        _ => {
            let widest = if is_x86_feature_detected!("avx512f") {
                SimdLevel::Avx512
            } else if is_x86_feature_detected!("avx2") {
                SimdLevel::Avx2
            } else {
                SimdLevel::Base
            };
            // a cap: never wider than the CPU has
            let l = match std::env::var("IALP_SIMD").as_deref() {
                Err(_) | Ok("" | "auto" | "avx512") => widest,
                Ok("avx2") => widest.min(SimdLevel::Avx2),
                Ok("base") => SimdLevel::Base,
                Ok(other) => {
                    eprintln!(
                        "ialp: IALP_SIMD=\"{other}\" is not one of auto, avx512, avx2, base; using {widest:?}"
                    );
                    widest
                }
            };
            LEVEL.store(l as u8, Ordering::Relaxed);
            l
        }
    };
    level
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_avx2(
    a: &[f32],
    ars: usize,
    acs: usize,
    b: &[f32],
    c: &mut [f32],
    rows: usize,
    depth: usize,
    n: usize,
    fresh: bool,
) {
    gemm_tiles::<4, 16>(a, ars, acs, b, c, rows, depth, n, fresh)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_avx512(
    a: &[f32],
    ars: usize,
    acs: usize,
    b: &[f32],
    c: &mut [f32],
    rows: usize,
    depth: usize,
    n: usize,
    fresh: bool,
) {
    gemm_tiles::<8, 32>(a, ars, acs, b, c, rows, depth, n, fresh)
}

/// Depth and rows handled per block: a KC x n slice of B and an MC x KC block
/// of A stay in cache while the column panels run over them.
const KC: usize = 256;
const MC: usize = 64;

/// The tiled loop. The shared dimension runs in chunks of [`KC`] (in order,
/// so every element of C still gets its products in order: a chunk adds to
/// what the chunks before it left in C), the rows in blocks of [`MC`]; within
/// them full `MR x NR` tiles, then narrower column tiles of 8 and 1, each with
/// rows by `MR` and then one at a time.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn gemm_tiles<const MR: usize, const NR: usize>(
    a: &[f32],
    ars: usize,
    acs: usize,
    b: &[f32],
    c: &mut [f32],
    rows: usize,
    depth: usize,
    n: usize,
    fresh: bool,
) {
    for p0 in (0..depth).step_by(KC) {
        // the first chunk of a fresh product starts from zero, the others from C
        let ps = (p0, (p0 + KC).min(depth), !(fresh && p0 == 0));
        for r0 in (0..rows).step_by(MC) {
            let rs = (r0, (r0 + MC).min(rows));
            let mut j = 0;
            while j + NR <= n {
                col_panel::<MR, NR>(a, ars, acs, b, c, rs, ps, n, j);
                j += NR;
            }
            if NR > 8 {
                while j + 8 <= n {
                    col_panel::<MR, 8>(a, ars, acs, b, c, rs, ps, n, j);
                    j += 8;
                }
            }
            while j < n {
                col_panel::<MR, 1>(a, ars, acs, b, c, rs, ps, n, j);
                j += 1;
            }
        }
    }
}

/// Columns `j0 .. j0 + NR` of C, rows `rs.0 .. rs.1`, depth `ps.0 .. ps.1`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn col_panel<const MR: usize, const NR: usize>(
    a: &[f32],
    ars: usize,
    acs: usize,
    b: &[f32],
    c: &mut [f32],
    rs: (usize, usize),
    ps: (usize, usize, bool),
    n: usize,
    j0: usize,
) {
    let mut i = rs.0;
    while i + MR <= rs.1 {
        tile::<MR, NR>(a, ars, acs, b, c, ps, n, i, j0);
        i += MR;
    }
    while i < rs.1 {
        tile::<1, NR>(a, ars, acs, b, c, ps, n, i, j0);
        i += 1;
    }
}

/// C[i0.., j0..] (an R x NR block) += sum over p of A'[i, p] * B[p, j], with p in
/// order and the block kept in registers. Zeros of A' are multiplied like any
/// other value: adding the resulting +-0 leaves a finite sum unchanged, so the
/// bits equal those of a loop that skips them (tested), and a dense loop keeps
/// the pipeline full where a test per value would not.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn tile<const R: usize, const NR: usize>(
    a: &[f32],
    ars: usize,
    acs: usize,
    b: &[f32],
    c: &mut [f32],
    (p0, p1, load): (usize, usize, bool),
    n: usize,
    i0: usize,
    j0: usize,
) {
    assert!(i0 + R <= c.len() / n && j0 + NR <= n && b.len() >= p1 * n && p0 < p1);
    assert!((i0 + R - 1) * ars + (p1 - 1) * acs < a.len());
    let mut acc = [[0f32; NR]; R];
    if load {
        for (r, row) in acc.iter_mut().enumerate() {
            row.copy_from_slice(&c[(i0 + r) * n + j0..(i0 + r) * n + j0 + NR]);
        }
    }
    let a0 = i0 * ars;
    for p in p0..p1 {
        let ap = a0 + p * acs;
        // SAFETY: p * n + j0 + NR <= p1 * n <= b.len(), asserted above
        let bp: &[f32; NR] = unsafe { &*(b.as_ptr().add(p * n + j0) as *const [f32; NR]) };
        for (r, row) in acc.iter_mut().enumerate() {
            // SAFETY: (i0 + r) * ars + p * acs <= the bound asserted above
            let x = unsafe { *a.get_unchecked(ap + r * ars) };
            for j in 0..NR {
                row[j] += x * bp[j];
            }
        }
    }
    for (r, row) in acc.iter().enumerate() {
        c[(i0 + r) * n + j0..(i0 + r) * n + j0 + NR].copy_from_slice(row);
    }
}

/// `tanh` of every element, in place: Cephes' `tanhf` (an odd polynomial below
/// 0.625, `1 - 2 / (e^2|x| + 1)` above, with `e^y` by a degree-6 polynomial and
/// an exponent built from bits), written with additions, multiplications, one
/// division and selects only, so it vectorises and gives the same bits on every
/// target. Within 2 ulp of the exact tanh (tested), NaN stays NaN.
pub fn tanh_in_place(v: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        match simd_level() {
            // SAFETY: the CPU has the features (checked by `simd_level`).
            SimdLevel::Avx512 => return unsafe { tanh_avx512(v) },
            SimdLevel::Avx2 => return unsafe { tanh_avx2(v) },
            SimdLevel::Base => {}
        }
    }
    v.iter_mut().for_each(|x| *x = tanh(*x));
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn tanh_avx2(v: &mut [f32]) {
    v.iter_mut().for_each(|x| *x = tanh(*x));
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn tanh_avx512(v: &mut [f32]) {
    v.iter_mut().for_each(|x| *x = tanh(*x));
}

/// One element of [`tanh_in_place`].
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let ax = x.abs();
    let z = x * x;
    let small =
        ((((-5.704_988_7e-3 * z + 2.063_909e-2) * z - 5.373_971_6e-2) * z + 1.333_144_2e-1) * z
            - 3.333_328e-1)
            * z
            * x
            + x;
    // e^y for y = 2|x| in [1.25, 20]; tanh(10) rounds to 1 already
    let s = exp_core((ax + ax).min(20.0));
    let big = (1.0 - 2.0 / (s + 1.0)).copysign(x);
    if ax >= 0.625 {
        big
    } else {
        small
    }
}

/// Cephes' `expf` for y in [-87, 88]: y = n ln 2 + r with n rounded to the
/// nearest integer (by adding and removing 1.5 * 2^23), e^r by a degree-6
/// polynomial, 2^n from exponent bits. Within 2 ulp (tested).
///
/// n is read from the bits of `t = y log2 e + 1.5 * 2^23` (in [2^23, 2^24)
/// one unit is one ulp, so the bits are 0x4B40_0000 + n): integer arithmetic
/// that vectorises, where `n as i32` (a saturating conversion) made the
/// compiler convert lane by lane. The same 2^n, so the same bits.
#[inline(always)]
fn exp_core(y: f32) -> f32 {
    let t = y * std::f32::consts::LOG2_E + 12_582_912.0;
    let n = t - 12_582_912.0;
    let r = (y - n * 0.693_359_4) - n * -2.121_944_4e-4;
    let p = (((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2)
        * r
        + 1.666_666_5e-1)
        * r
        + 5e-1)
        * (r * r)
        + r
        + 1.0;
    let biased = (t.to_bits() as i32 - 0x4B40_0000 + 127) as u32;
    p * f32::from_bits(biased << 23)
}

/// `out[k] = e^(row[k] - shift)` for `row[k] <= shift` (a softmax numerator;
/// below e^-87 it is 0), returning their sum, added in 8 interleaved lanes
/// (element k to lane k % 8, lanes combined in a fixed order).
pub fn exp_shifted_into(row: &[f32], shift: f32, out: &mut [f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        match simd_level() {
            // SAFETY: the CPU has the features (checked by `simd_level`).
            SimdLevel::Avx512 => return unsafe { exp_shifted_avx512(row, shift, out) },
            SimdLevel::Avx2 => return unsafe { exp_shifted_avx2(row, shift, out) },
            SimdLevel::Base => {}
        }
    }
    exp_shifted(row, shift, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn exp_shifted_avx2(row: &[f32], shift: f32, out: &mut [f32]) -> f32 {
    exp_shifted(row, shift, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn exp_shifted_avx512(row: &[f32], shift: f32, out: &mut [f32]) -> f32 {
    exp_shifted(row, shift, out)
}

#[inline(always)]
fn exp_shifted(row: &[f32], shift: f32, out: &mut [f32]) -> f32 {
    assert_eq!(row.len(), out.len(), "exp_shifted_into: lengths differ");
    for (o, &z) in out.iter_mut().zip(row) {
        let y = z - shift;
        let e = exp_core(y.max(-87.0));
        *o = if y >= -87.0 { e } else { 0.0 };
    }
    let mut l = [0f32; 8];
    let chunks = out.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for j in 0..8 {
            l[j] += c[j];
        }
    }
    for (j, &v) in tail.iter().enumerate() {
        l[j] += v;
    }
    ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]))
}

/// The largest element (NEG_INFINITY for an empty row), taken in 8 lanes: max
/// is exact, so the result is the plain loop's whatever the order.
#[inline]
pub fn max_of(row: &[f32]) -> f32 {
    let mut l = [f32::NEG_INFINITY; 8];
    let chunks = row.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for j in 0..8 {
            l[j] = l[j].max(c[j]);
        }
    }
    for (j, &v) in tail.iter().enumerate() {
        l[j] = l[j].max(v);
    }
    ((l[0].max(l[4])).max(l[2].max(l[6]))).max((l[1].max(l[5])).max(l[3].max(l[7])))
}

/// Sum of `a[k] * b[k]`, in 8 interleaved lanes combined in a fixed order (the
/// same bits on every target).
#[inline]
pub fn dot_lanes(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "dot_lanes: lengths differ");
    let mut l = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ta, tb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for j in 0..8 {
            l[j] += x[j] * y[j];
        }
    }
    for (j, (&x, &y)) in ta.iter().zip(tb).enumerate() {
        l[j] += x * y;
    }
    ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]))
}

/// Draws an index from softmax(row) with one uniform `u01` in [0, 1): the
/// unnormalised probabilities `e^(z - max)` go to `scratch` (as in
/// [`exp_shifted_into`]), then `u01 * sum` is walked down 8 elements at a time
/// (each block's sum in a fixed order) and inside the block where it turns
/// negative. The same bits on every target; rounding that leaves it
/// non-negative at the end picks the last item of non-zero probability.
pub fn sample_softmax(row: &[f32], u01: f32, scratch: &mut [f32]) -> u32 {
    let m = max_of(row);
    let total = exp_shifted_into(row, m, scratch);
    let mut u = u01 * total;
    let n = row.len();
    let mut j = 0;
    while j + 8 <= n {
        let c = &scratch[j..j + 8];
        let block = ((c[0] + c[4]) + (c[2] + c[6])) + ((c[1] + c[5]) + (c[3] + c[7]));
        if u - block < 0.0 {
            break;
        }
        u -= block;
        j += 8;
    }
    for (k, &p) in scratch[j..].iter().enumerate() {
        u -= p;
        if u < 0.0 {
            return (j + k) as u32;
        }
    }
    scratch.iter().rposition(|&p| p > 0.0).unwrap_or(n - 1) as u32
}

/// `transpose` into a reused buffer.
pub fn transpose_into(a: &[f32], rows: usize, cols: usize, out: &mut Vec<f32>) {
    out.clear();
    out.resize(rows * cols, 0.0);
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = a[r * cols + c];
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

    /// The order the kernels promise: c += a[i,p] * b[p,j] for p in order (skipping
    /// zeros of A, as the kernels before the register tiles did: same bits).
    fn reference(a: &[f32], b: &[f32], c: &mut [f32], m: usize, k: usize, n: usize) {
        for i in 0..m {
            for p in 0..k {
                let x = a[i * k + p];
                if x != 0.0 {
                    for j in 0..n {
                        c[i * n + j] += x * b[p * n + j];
                    }
                }
            }
        }
    }

    fn data(len: usize, seed: u32, zeros: bool) -> Vec<f32> {
        (0..len)
            .map(|i| {
                let h = (i as u32 ^ seed).wrapping_mul(2_654_435_761) >> 8;
                if zeros && h.is_multiple_of(3) {
                    0.0
                } else {
                    (h % 20_000) as f32 / 7_919.0 - 1.3
                }
            })
            .collect()
    }

    /// Every kernel this CPU can run, the portable one included.
    #[allow(clippy::type_complexity)]
    fn kernels() -> Vec<(
        &'static str,
        fn(&[f32], usize, usize, &[f32], &mut [f32], usize, usize, usize, bool),
    )> {
        let mut v: Vec<(
            &'static str,
            fn(&[f32], usize, usize, &[f32], &mut [f32], usize, usize, usize, bool),
        )> = vec![("base", gemm_tiles::<4, 8>)];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") {
                // SAFETY: avx2 checked just above
                v.push(("avx2", |a, ars, acs, b, c, r, d, n, f| unsafe {
                    gemm_avx2(a, ars, acs, b, c, r, d, n, f)
                }));
            }
            if is_x86_feature_detected!("avx512f") {
                // SAFETY: avx512f checked just above
                v.push(("avx512", |a, ars, acs, b, c, r, d, n, f| unsafe {
                    gemm_avx512(a, ars, acs, b, c, r, d, n, f)
                }));
            }
        }
        v
    }

    /// Every element equal bit for bit (NaN payloads and signed zeros included).
    fn same_bits(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
    }

    fn ulps(a: f32, b: f32) -> i64 {
        let key = |x: f32| {
            let i = x.to_bits() as i32 as i64;
            if i < 0 {
                (i32::MIN as i64) - i
            } else {
                i
            }
        };
        (key(a) - key(b)).abs()
    }

    /// Products split over threads give the bits of the same product on one
    /// thread, for both layouts, ragged row counts and accumulation.
    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn products_over_threads_keep_every_bit() {
        for &(m, k, n) in &[
            (1024, 64, 500),
            (203, 97, 333),
            (17, 2048, 40),
            (64, 1024, 64),
        ] {
            assert!(m * k * n >= PAR_MIN_WORK, "{m}x{k}x{n} would not split");
            let a = data(m * k, 11, true);
            let b = data(k * n, 12, false);
            let bt = data(m * n, 13, false);
            let c0 = data(m * n, 14, false);
            let run = |threads: usize| {
                let _t = product_threads(threads);
                let mut c = c0.clone();
                matmul(&a, &b, &mut c, m, k, n, true);
                let mut d = vec![0f32; k * n];
                matmul_tn(&a, &bt, &mut d, m, k, n, false);
                (c, d)
            };
            let one = run(1);
            let mut want = c0.clone();
            reference(&a, &b, &mut want, m, k, n);
            assert!(same_bits(&one.0, &want));
            for threads in [2, 3, 8] {
                let got = run(threads);
                assert!(
                    same_bits(&got.0, &one.0),
                    "matmul {m}x{k}x{n} on {threads} threads"
                );
                assert!(
                    same_bits(&got.1, &one.1),
                    "matmul_tn {m}x{k}x{n} on {threads} threads"
                );
            }
        }
        // the guard restores the count it replaced
        let outer = product_threads(4);
        drop(product_threads(2));
        assert_eq!(par::set_threads(4), 4);
        drop(outer);
        assert_eq!(par::set_threads(1), 1);
    }

    #[test]
    fn tanh_is_within_two_ulp_and_the_same_on_every_kernel() {
        let mut worst = (0, 0f32);
        let mut xs: Vec<f32> = (-200_000..=200_000).map(|i| i as f32 * 6e-5).collect();
        xs.extend([
            0.0,
            -0.0,
            1e-30,
            -1e-30,
            0.625,
            -0.625,
            9.0,
            20.0,
            -50.0,
            f32::MAX,
        ]);
        xs.extend([f32::INFINITY, f32::NEG_INFINITY, 1e-8, 3.4e-5]);
        for &x in &xs {
            let want = (x as f64).tanh() as f32;
            let got = tanh(x);
            let e = ulps(got, want);
            if e > worst.0 {
                worst = (e, x);
            }
        }
        assert!(worst.0 <= 2, "tanh off by {} ulp at {}", worst.0, worst.1);
        assert!(tanh(f32::NAN).is_nan());
        assert_eq!(tanh(f32::INFINITY), 1.0);
        assert_eq!(tanh(-1e6), -1.0);
        let mut v = xs.clone();
        tanh_in_place(&mut v);
        for (x, y) in xs.iter().zip(&v) {
            assert_eq!(tanh(*x).to_bits(), y.to_bits(), "at {x}");
        }
    }

    #[test]
    fn exp_is_within_two_ulp_and_sums_in_lanes() {
        let xs: Vec<f32> = (0..=289_000).map(|i| -(i as f32) * 3e-4).collect();
        let mut out = vec![0f32; xs.len()];
        let s = exp_shifted_into(&xs, 0.0, &mut out);
        for (&x, &e) in xs.iter().zip(&out) {
            let want = (x as f64).exp() as f32;
            assert!(ulps(e, want) <= 2, "exp({x}) = {e}, want {want}");
        }
        let want: f64 = out.iter().map(|&v| v as f64).sum();
        assert!((s as f64 - want).abs() < 1e-4 * want);
        let mut o = [0f32; 3];
        exp_shifted_into(&[-100.0, f32::NEG_INFINITY, 5.0], 5.0, &mut o);
        assert_eq!(o, [0.0, 0.0, 1.0]);
        assert_eq!(exp_core(18.0).to_bits(), ((18f64).exp() as f32).to_bits());
        // 2^n from t's bits is the 2^n of the conversion it replaced
        for i in -870_000..=880_000 {
            let y = i as f32 * 1e-4;
            let t = y * std::f32::consts::LOG2_E + 12_582_912.0;
            let n = t - 12_582_912.0;
            let biased = (t.to_bits() as i32 - 0x4B40_0000 + 127) as u32;
            assert_eq!(biased, (n as i32 + 127) as u32, "at {y}");
        }
    }

    #[test]
    fn sample_softmax_draws_in_proportion_and_never_a_zero() {
        // 21 items (two blocks of 8 and a tail); item 3 has probability ~0
        let mut z: Vec<f32> = (0..21).map(|i| (i % 5) as f32 * 0.4).collect();
        z[3] = -200.0;
        let mut e = vec![0f32; z.len()];
        let total = exp_shifted_into(&z, max_of(&z), &mut e);
        let mut counts = [0u32; 21];
        let draws = 200_000;
        let mut scratch = vec![0f32; 21];
        for k in 0..draws {
            let u = (k as f32 + 0.5) / draws as f32;
            counts[sample_softmax(&z, u, &mut scratch) as usize] += 1;
        }
        assert_eq!(counts[3], 0);
        for j in 0..21 {
            let want = e[j] / total * draws as f32;
            assert!(
                (counts[j] as f32 - want).abs() <= 2.0,
                "item {j}: {} vs {want}",
                counts[j]
            );
        }
        // u at the top end never runs past the last item of non-zero probability
        let mut z = vec![0f32; 12];
        z[11] = -300.0;
        assert_eq!(sample_softmax(&z, 0.999_999_9, &mut [0f32; 12]), 10);
        assert_eq!(max_of(&[1.0, -3.0, 7.5, 2.0, 7.5, 0.0, 1.0, 2.0, 3.0]), 7.5);
        assert_eq!(dot_lanes(&[1.0; 11], &[2.0; 11]), 22.0);
    }

    #[test]
    fn kernels_match_the_plain_loop_bit_for_bit() {
        let shapes = [
            (1, 1, 1),
            (3, 4, 5),
            (9, 7, 33),
            (17, 128, 64),
            (8, 32, 500),
            (13, 500, 32),
            (64, 64, 1),
            (33, 19, 47),
            (130, 300, 40),
        ];
        for &(m, k, n) in &shapes {
            for zeros in [false, true] {
                let a = data(m * k, 1, zeros);
                let b = data(k * n, 2, false);
                let c0 = data(m * n, 3, false);
                let mut want = c0.clone();
                reference(&a, &b, &mut want, m, k, n);
                let mut want_fresh = vec![0f32; m * n];
                reference(&a, &b, &mut want_fresh, m, k, n);
                let at = transpose(&a, m, k);
                for (name, f) in kernels() {
                    // fresh: what C held (NaN here) is not read, the bits are those from zeros
                    let mut fresh = vec![f32::NAN; m * n];
                    f(&a, k, 1, &b, &mut fresh, m, k, n, true);
                    assert!(
                        same_bits(&fresh, &want_fresh),
                        "{name} fresh {m}x{k}x{n} zeros={zeros}"
                    );
                    let mut got = c0.clone();
                    f(&a, k, 1, &b, &mut got, m, k, n, false);
                    assert!(same_bits(&got, &want), "{name} {m}x{k}x{n} zeros={zeros}");
                    let mut got_tn = c0.clone();
                    f(&at, 1, m, &b, &mut got_tn, m, k, n, false);
                    assert!(
                        same_bits(&got_tn, &want),
                        "{name} transposed {m}x{k}x{n} zeros={zeros}"
                    );
                }
                let mut c = c0.clone();
                matmul(&a, &b, &mut c, m, k, n, true);
                assert_eq!(c, want);
                let mut c2 = vec![f32::NAN; m * n];
                matmul_tn(&at, &b, &mut c2, k, m, n, false);
                let mut want2 = vec![0f32; m * n];
                reference(&a, &b, &mut want2, m, k, n);
                assert_eq!(c2, want2);
            }
        }
    }
}
