//! `synthetic`: a seeded latent-topic population (RecSim-like). Items cluster
//! around category centroids; each user likes a few categories; rewards come
//! from user-item affinity plus noise; interests drift toward what the user enjoyed.
//! User vectors are derived from (seed, user id) on demand, so the population can
//! be millions of users without storing them.

use crate::error::{check_min, check_range, Result};
use crate::rng::Rng;
use crate::world::World;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct SyntheticConfig {
    pub n_users: usize,
    pub n_items: usize,
    pub n_categories: usize,
    /// d: dimension of the latent topic space.
    pub dim: usize,
    /// How many categories each user favours.
    pub user_focus: usize,
    /// Spread of items around their category centroid (0 = all alike).
    pub item_spread: f32,
    /// reward = sigmoid(gain * <u, v> + bias) + noise * N(0, 1), clipped to [0, 1].
    pub gain: f32,
    pub bias: f32,
    pub noise: f32,
    /// eta: u <- normalise(u + eta * r * (v - u)) after each step.
    pub drift: f32,
    /// Noise on the item vectors the policy sees (it never sees the true ones).
    pub feature_noise: f32,
    /// Seed of the world (items, centroids, users); episodes have their own seed.
    pub seed: u64,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        SyntheticConfig {
            n_users: 10_000,
            n_items: 500,
            n_categories: 10,
            dim: 16,
            user_focus: 2,
            item_spread: 0.5,
            gain: 5.0,
            bias: -1.5,
            noise: 0.1,
            drift: 0.05,
            feature_noise: 0.2,
            seed: 0,
        }
    }
}

impl SyntheticConfig {
    pub fn validate(&self) -> Result<()> {
        check_min("synthetic.nUsers", self.n_users, 1)?;
        check_min("synthetic.nItems", self.n_items, 1)?;
        check_min("synthetic.nCategories", self.n_categories, 1)?;
        check_min("synthetic.dim", self.dim, 1)?;
        check_min("synthetic.userFocus", self.user_focus, 1)?;
        if self.dim > 4096 || self.n_categories > 1 << 20 {
            return Err(crate::Error::invalid(
                "synthetic.dim / nCategories",
                "dim <= 4096 and nCategories <= 2^20",
                format!("{} / {}", self.dim, self.n_categories),
            ));
        }
        if self.n_items.saturating_mul(self.dim + self.n_categories) > 1 << 31 {
            return Err(crate::Error::invalid(
                "synthetic.nItems x (dim + nCategories)",
                "at most 2^31 values of item features",
                self.n_items.saturating_mul(self.dim + self.n_categories),
            ));
        }
        if self.n_users > u32::MAX as usize || self.n_items >= u32::MAX as usize {
            return Err(crate::Error::invalid(
                "synthetic.nUsers/nItems",
                "fewer than 2^32",
                self.n_users.max(self.n_items),
            ));
        }
        check_range("synthetic.itemSpread", self.item_spread as f64, 0.0, 100.0)?;
        check_range("synthetic.gain", self.gain as f64, -1e3, 1e3)?;
        check_range("synthetic.bias", self.bias as f64, -1e3, 1e3)?;
        check_range("synthetic.noise", self.noise as f64, 0.0, 10.0)?;
        check_range("synthetic.drift", self.drift as f64, 0.0, 1.0)?;
        check_range(
            "synthetic.featureNoise",
            self.feature_noise as f64,
            0.0,
            100.0,
        )?;
        Ok(())
    }
}

pub struct Synthetic {
    cfg: SyntheticConfig,
    centroids: Vec<f32>,
    item_vecs: Vec<f32>,
    item_cats: Vec<u32>,
    features: Vec<f32>,
    feature_dim: usize,
}

/// Lanes of the f32 reductions below: sums run in 8 interleaved partial sums
/// (element k goes to lane k % 8), combined as `((l0 + l4) + (l2 + l6)) +
/// ((l1 + l5) + (l3 + l7))`. The order is written out, so the bits are the same on
/// every target (LLVM does not reassociate f32), and the lanes map onto SIMD
/// registers, which a single running sum (one add after another) cannot.
const LANES: usize = 8;

#[inline]
fn combine(l: [f32; LANES]) -> f32 {
    ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]))
}

/// `sum_k a[k] * b[k]` in [`LANES`] partial sums.
#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(any(
        target_arch = "x86_64",
        all(target_arch = "wasm32", target_feature = "simd128")
    ))]
    {
        lanes::dot(a, b)
    }
    #[cfg(not(any(
        target_arch = "x86_64",
        all(target_arch = "wasm32", target_feature = "simd128")
    )))]
    {
        let mut l = [0f32; LANES];
        let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
        let (ra, rb) = (ca.remainder(), cb.remainder());
        for (x, y) in ca.zip(cb) {
            for j in 0..LANES {
                l[j] += x[j] * y[j];
            }
        }
        for (j, (x, y)) in ra.iter().zip(rb).enumerate() {
            l[j] += x * y;
        }
        combine(l)
    }
}

/// `u <- u + eta (v - u)` element by element, returning the sum of the squares
/// of the new `u` in [`LANES`] partial sums, as [`dot`] sums.
#[inline]
fn drift(u: &mut [f32], v: &[f32], eta: f32) -> f32 {
    #[cfg(any(
        target_arch = "x86_64",
        all(target_arch = "wasm32", target_feature = "simd128")
    ))]
    {
        lanes::drift(u, v, eta)
    }
    #[cfg(not(any(
        target_arch = "x86_64",
        all(target_arch = "wasm32", target_feature = "simd128")
    )))]
    {
        let mut l = [0f32; LANES];
        let (cu, cv) = (u.chunks_exact_mut(LANES), v.chunks_exact(LANES));
        let rv = cv.remainder();
        for (u, v) in cu.zip(cv) {
            for j in 0..LANES {
                u[j] += eta * (v[j] - u[j]);
                l[j] += u[j] * u[j];
            }
        }
        let tail = u.len() / LANES * LANES;
        for (j, (u, &v)) in u[tail..].iter_mut().zip(rv).enumerate() {
            *u += eta * (v - *u);
            l[j] += *u * *u;
        }
        combine(l)
    }
}

/// The same operations as the portable [`dot`] and [`drift`] (and the
/// scalar `sigmoid`, `1 / sqrt`), in the same order per element, on 4-lane
/// registers: SSE2 on x86_64 (every x86_64 CPU has it) and simd128 on wasm32
/// builds that enable it. The algorithms are written once, over [`V4`]; lanes
/// 0-3 of the [`LANES`] partial sums sit in one register, 4-7 in another.
/// LLVM's own vectorisation of the portable loops splits the 8 lanes unevenly
/// and shuffles a lot. f32 arithmetic on either is IEEE (round to nearest, no
/// fusing), so the bits equal the scalar code's.
#[cfg(any(
    target_arch = "x86_64",
    all(target_arch = "wasm32", target_feature = "simd128")
))]
mod lanes {
    use super::{combine, LANES};

    /// Four f32 lanes (and their bits as i32 lanes, for `sigmoid4`).
    pub trait V4: Copy {
        /// # Safety
        /// `p` points to 4 readable f32.
        unsafe fn load(p: *const f32) -> Self;
        /// # Safety
        /// `p` points to 4 writable f32.
        unsafe fn store(self, p: *mut f32);
        fn splat(x: f32) -> Self;
        fn add(self, o: Self) -> Self;
        fn sub(self, o: Self) -> Self;
        fn mul(self, o: Self) -> Self;
        fn div(self, o: Self) -> Self;
        fn sqrt(self) -> Self;
        /// Bitwise, on the f32 or i32 view alike.
        fn and(self, o: Self) -> Self;
        fn or(self, o: Self) -> Self;
        fn xor(self, o: Self) -> Self;
        /// `!self & o`
        fn andnot(self, o: Self) -> Self;
        /// All-ones lanes where `self > o` as f32.
        fn gt_f(self, o: Self) -> Self;
        /// All-ones lanes where `self > o` / `self < o` as i32.
        fn gt_i(self, o: Self) -> Self;
        fn lt_i(self, o: Self) -> Self;
        fn splat_i(x: i32) -> Self;
        fn add_i(self, o: Self) -> Self;
        /// Arithmetic shift right by 31 (the sign as 0 / -1).
        fn sign_i(self) -> Self;
        /// Shift left by 23 (into the exponent field).
        fn shl23_i(self) -> Self;
        /// f32 -> i32 truncating (the arguments here are within +-127).
        fn trunc_i(self) -> Self;
        /// i32 -> f32.
        fn to_f(self) -> Self;
        /// Whether every i32 lane is all ones.
        fn all_ones(self) -> bool;
        /// `((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7))`, as `combine`.
        fn hsum(lo: Self, hi: Self) -> f32;
    }

    #[cfg(target_arch = "x86_64")]
    mod sse {
        use core::arch::x86_64::*;

        // SAFETY (every block below): SSE2 is part of x86_64; loads and stores
        // are the callers' promise (`V4::load` / `V4::store`).
        impl super::V4 for __m128 {
            #[inline(always)]
            unsafe fn load(p: *const f32) -> Self {
                unsafe { _mm_loadu_ps(p) }
            }
            #[inline(always)]
            unsafe fn store(self, p: *mut f32) {
                unsafe { _mm_storeu_ps(p, self) }
            }
            #[inline(always)]
            fn splat(x: f32) -> Self {
                unsafe { _mm_set1_ps(x) }
            }
            #[inline(always)]
            fn add(self, o: Self) -> Self {
                unsafe { _mm_add_ps(self, o) }
            }
            #[inline(always)]
            fn sub(self, o: Self) -> Self {
                unsafe { _mm_sub_ps(self, o) }
            }
            #[inline(always)]
            fn mul(self, o: Self) -> Self {
                unsafe { _mm_mul_ps(self, o) }
            }
            #[inline(always)]
            fn div(self, o: Self) -> Self {
                unsafe { _mm_div_ps(self, o) }
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                unsafe { _mm_sqrt_ps(self) }
            }
            #[inline(always)]
            fn and(self, o: Self) -> Self {
                unsafe { _mm_and_ps(self, o) }
            }
            #[inline(always)]
            fn or(self, o: Self) -> Self {
                unsafe { _mm_or_ps(self, o) }
            }
            #[inline(always)]
            fn xor(self, o: Self) -> Self {
                unsafe { _mm_xor_ps(self, o) }
            }
            #[inline(always)]
            fn andnot(self, o: Self) -> Self {
                unsafe { _mm_andnot_ps(self, o) }
            }
            #[inline(always)]
            fn gt_f(self, o: Self) -> Self {
                unsafe { _mm_cmpgt_ps(self, o) }
            }
            #[inline(always)]
            fn gt_i(self, o: Self) -> Self {
                unsafe {
                    _mm_castsi128_ps(_mm_cmpgt_epi32(_mm_castps_si128(self), _mm_castps_si128(o)))
                }
            }
            #[inline(always)]
            fn lt_i(self, o: Self) -> Self {
                unsafe {
                    _mm_castsi128_ps(_mm_cmplt_epi32(_mm_castps_si128(self), _mm_castps_si128(o)))
                }
            }
            #[inline(always)]
            fn splat_i(x: i32) -> Self {
                unsafe { _mm_castsi128_ps(_mm_set1_epi32(x)) }
            }
            #[inline(always)]
            fn add_i(self, o: Self) -> Self {
                unsafe {
                    _mm_castsi128_ps(_mm_add_epi32(_mm_castps_si128(self), _mm_castps_si128(o)))
                }
            }
            #[inline(always)]
            fn sign_i(self) -> Self {
                unsafe { _mm_castsi128_ps(_mm_srai_epi32(_mm_castps_si128(self), 31)) }
            }
            #[inline(always)]
            fn shl23_i(self) -> Self {
                unsafe { _mm_castsi128_ps(_mm_slli_epi32(_mm_castps_si128(self), 23)) }
            }
            #[inline(always)]
            fn trunc_i(self) -> Self {
                unsafe { _mm_castsi128_ps(_mm_cvttps_epi32(self)) }
            }
            #[inline(always)]
            fn to_f(self) -> Self {
                unsafe { _mm_cvtepi32_ps(_mm_castps_si128(self)) }
            }
            #[inline(always)]
            fn all_ones(self) -> bool {
                unsafe { _mm_movemask_ps(self) == 0xF }
            }
            #[inline(always)]
            fn hsum(lo: Self, hi: Self) -> f32 {
                unsafe {
                    let s = _mm_add_ps(lo, hi); // l0+l4, l1+l5, l2+l6, l3+l7
                    let t = _mm_add_ps(s, _mm_movehl_ps(s, s)); // (l0+l4)+(l2+l6), (l1+l5)+(l3+l7)
                    _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps(t, t, 1)))
                }
            }
        }

        pub type F4 = __m128;
    }

    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    mod simd128 {
        use core::arch::wasm32::*;

        // simd128 is enabled for this build (the cfg above); loads and stores
        // are the callers' promise (`V4::load` / `V4::store`).
        impl super::V4 for v128 {
            #[inline(always)]
            unsafe fn load(p: *const f32) -> Self {
                unsafe { v128_load(p as *const v128) }
            }
            #[inline(always)]
            unsafe fn store(self, p: *mut f32) {
                unsafe { v128_store(p as *mut v128, self) }
            }
            #[inline(always)]
            fn splat(x: f32) -> Self {
                f32x4_splat(x)
            }
            #[inline(always)]
            fn add(self, o: Self) -> Self {
                f32x4_add(self, o)
            }
            #[inline(always)]
            fn sub(self, o: Self) -> Self {
                f32x4_sub(self, o)
            }
            #[inline(always)]
            fn mul(self, o: Self) -> Self {
                f32x4_mul(self, o)
            }
            #[inline(always)]
            fn div(self, o: Self) -> Self {
                f32x4_div(self, o)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                f32x4_sqrt(self)
            }
            #[inline(always)]
            fn and(self, o: Self) -> Self {
                v128_and(self, o)
            }
            #[inline(always)]
            fn or(self, o: Self) -> Self {
                v128_or(self, o)
            }
            #[inline(always)]
            fn xor(self, o: Self) -> Self {
                v128_xor(self, o)
            }
            #[inline(always)]
            fn andnot(self, o: Self) -> Self {
                v128_andnot(o, self)
            }
            #[inline(always)]
            fn gt_f(self, o: Self) -> Self {
                f32x4_gt(self, o)
            }
            #[inline(always)]
            fn gt_i(self, o: Self) -> Self {
                i32x4_gt(self, o)
            }
            #[inline(always)]
            fn lt_i(self, o: Self) -> Self {
                i32x4_lt(self, o)
            }
            #[inline(always)]
            fn splat_i(x: i32) -> Self {
                i32x4_splat(x)
            }
            #[inline(always)]
            fn add_i(self, o: Self) -> Self {
                i32x4_add(self, o)
            }
            #[inline(always)]
            fn sign_i(self) -> Self {
                i32x4_shr(self, 31)
            }
            #[inline(always)]
            fn shl23_i(self) -> Self {
                i32x4_shl(self, 23)
            }
            #[inline(always)]
            fn trunc_i(self) -> Self {
                i32x4_trunc_sat_f32x4(self)
            }
            #[inline(always)]
            fn to_f(self) -> Self {
                f32x4_convert_i32x4(self)
            }
            #[inline(always)]
            fn all_ones(self) -> bool {
                i32x4_all_true(self)
            }
            #[inline(always)]
            fn hsum(lo: Self, hi: Self) -> f32 {
                let s = f32x4_add(lo, hi); // l0+l4, l1+l5, l2+l6, l3+l7
                let t = f32x4_add(s, i32x4_shuffle::<2, 3, 2, 3>(s, s)); // (l0+l4)+(l2+l6), (l1+l5)+(l3+l7)
                f32x4_extract_lane::<0>(t) + f32x4_extract_lane::<1>(t)
            }
        }

        pub type F4 = v128;
    }

    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    use simd128::F4;
    #[cfg(target_arch = "x86_64")]
    use sse::F4;

    /// `combine` of the lanes `lo` (0-3) and `hi` (4-7) plus the scalar tail
    /// `a[k] * b[k]` added to lane `k`, in the order `combine` adds them.
    #[inline(always)]
    fn finish(lo: F4, hi: F4, tail: impl FnOnce(&mut [f32; LANES])) -> f32 {
        let mut l = [0f32; LANES];
        // SAFETY: `l` holds 8 f32
        unsafe {
            lo.store(l.as_mut_ptr());
            hi.store(l.as_mut_ptr().add(4));
        }
        tail(&mut l);
        combine(l)
    }

    /// `sigmoid` of four lanes: `1 / (1 + libm::expf(-x))` with libm's `expf`
    /// (FreeBSD's `e_expf.c`) written out lane by lane, the same f32
    /// operations in the same order for every argument with
    /// `2^-14 < |x| < 87.33655` (where expf's result is normal and its
    /// branches only choose `k`); a vector with any other lane goes to the
    /// scalar `sigmoid`. Checked against it bit for bit over the f32 range
    /// (tests `sigmoid4_matches_scalar*`).
    #[inline(always)]
    pub fn sigmoid4(v: &mut [f32; 4]) {
        // libm's constants, by their bits
        const LN2_HI: f32 = f32::from_bits(0x3f31_7200);
        const LN2_LO: f32 = f32::from_bits(0x35bf_be8e);
        const INV_LN2: f32 = f32::from_bits(0x3fb8_aa3b);
        const P1: f32 = f32::from_bits(0x3e2a_aa8f);
        const P2: f32 = f32::from_bits(0xbb35_5215);
        // SAFETY: `v` holds 4 f32
        let x = unsafe { F4::load(v.as_ptr()) }.xor(F4::splat(-0.0));
        let hx = x.and(F4::splat_i(0x7fff_ffff));
        let fast = hx
            .gt_i(F4::splat_i(0x3900_0000))
            .and(hx.lt_i(F4::splat_i(0x42ae_ac50)));
        if !fast.all_ones() {
            v.iter_mut().for_each(|x| *x = super::sigmoid(*x));
            return;
        }
        let neg = x.sign_i(); // -1 where x < 0
                              // |x| > 1.5 ln2: k = (int)(x / ln2 + (x < 0 ? -0.5 : 0.5))
        let half = x.and(F4::splat(-0.0)).or(F4::splat(0.5));
        let k_big = F4::splat(INV_LN2).mul(x).add(half).trunc_i();
        // 0.5 ln2 < |x| <= 1.5 ln2: k = 1 - 2 sign; below: k = 0
        let k_mid = neg.or(F4::splat_i(1));
        let big = hx.gt_i(F4::splat_i(0x3f85_1592));
        let mid = hx.gt_i(F4::splat_i(0x3eb1_7218));
        let k = big.and(k_big).or(big.andnot(mid.and(k_mid)));
        // with k = 0 these give hi = x, lo = +0 and x unchanged, as
        // expf's branch for |x| <= 0.5 ln2 sets them
        let kf = k.to_f();
        let hi = x.sub(kf.mul(F4::splat(LN2_HI)));
        let lo = kf.mul(F4::splat(LN2_LO));
        let x = hi.sub(lo);
        let xx = x.mul(x);
        let c = x.sub(xx.mul(F4::splat(P1).add(xx.mul(F4::splat(P2)))));
        let one = F4::splat(1.0);
        let q = x.mul(c).div(F4::splat(2.0).sub(c));
        let y = one.add(q.sub(lo).add(hi));
        // scalbnf(y, k) for -126 <= k <= 126: one multiplication by 2^k
        // (and by 1 for k = 0, where expf returns y)
        let scale = k.add_i(F4::splat_i(0x7f)).shl23_i();
        let e = y.mul(scale);
        // SAFETY: `v` holds 4 f32
        unsafe { one.div(one.add(e)).store(v.as_mut_ptr()) }
    }

    /// `1 / sqrt(x)` of four lanes, NaN where the root is not positive.
    #[inline(always)]
    pub fn inverse_norms4(q: &mut [f32; 4]) {
        // SAFETY: `q` holds 4 f32
        let n = unsafe { F4::load(q.as_ptr()) }.sqrt();
        let inv = F4::splat(1.0).div(n);
        let pos = n.gt_f(F4::splat(0.0));
        let nan = pos.andnot(F4::splat(f32::NAN));
        // SAFETY: `q` holds 4 f32
        unsafe { pos.and(inv).or(nan).store(q.as_mut_ptr()) }
    }

    #[inline(always)]
    pub fn dot(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let full = n / LANES * LANES;
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let (mut lo, mut hi) = (F4::splat(0.0), F4::splat(0.0));
        let mut k = 0;
        while k < full {
            // SAFETY: a[k..k + 8] and b[k..k + 8] with k + 8 <= full <= n
            let (p0, p1) = unsafe {
                (
                    F4::load(pa.add(k)).mul(F4::load(pb.add(k))),
                    F4::load(pa.add(k + 4)).mul(F4::load(pb.add(k + 4))),
                )
            };
            lo = lo.add(p0);
            hi = hi.add(p1);
            k += LANES;
        }
        if full == n {
            F4::hsum(lo, hi)
        } else {
            finish(lo, hi, |l| {
                for (j, (x, y)) in a[full..n].iter().zip(&b[full..n]).enumerate() {
                    l[j] += x * y;
                }
            })
        }
    }

    #[inline(always)]
    pub fn drift(u: &mut [f32], v: &[f32], eta: f32) -> f32 {
        let n = u.len().min(v.len());
        let full = n / LANES * LANES;
        let (pu, pv) = (u.as_mut_ptr(), v.as_ptr());
        let e = F4::splat(eta);
        let (mut lo, mut hi) = (F4::splat(0.0), F4::splat(0.0));
        let mut k = 0;
        while k < full {
            // SAFETY: u[k..k + 8] and v[k..k + 8] with k + 8 <= full <= n
            unsafe {
                let u0 = F4::load(pu.add(k));
                let u1 = F4::load(pu.add(k + 4));
                let d0 = F4::load(pv.add(k)).sub(u0);
                let d1 = F4::load(pv.add(k + 4)).sub(u1);
                let u0 = u0.add(e.mul(d0));
                let u1 = u1.add(e.mul(d1));
                u0.store(pu.add(k));
                u1.store(pu.add(k + 4));
                lo = lo.add(u0.mul(u0));
                hi = hi.add(u1.mul(u1));
            }
            k += LANES;
        }
        if full == n {
            F4::hsum(lo, hi)
        } else {
            finish(lo, hi, |l| {
                for (j, (x, &y)) in u[full..n].iter_mut().zip(&v[full..n]).enumerate() {
                    *x += eta * (y - *x);
                    l[j] += *x * *x;
                }
            })
        }
    }
}

/// Scales `v` to unit length (multiplying by 1 / norm); leaves a zero vector as is.
#[inline]
fn scale_to_unit(v: &mut [f32], sum_sq: f32) {
    let n = libm::sqrtf(sum_sq);
    if n > 0.0 {
        let inv = 1.0 / n;
        v.iter_mut().for_each(|x| *x *= inv);
    }
}

/// `sum_sq` -> `1 / sqrt(sum_sq)` as [`scale_to_unit`] computes it, or NaN
/// where the norm is not positive (`scale_to_unit` leaves such a vector as is);
/// four at a time with SSE2 or simd128 (their sqrt and divide round as the
/// scalar ones).
#[inline]
fn inverse_norms(x: &mut [f32]) {
    #[cfg(any(
        target_arch = "x86_64",
        all(target_arch = "wasm32", target_feature = "simd128")
    ))]
    let x = {
        let mut c = x.chunks_exact_mut(4);
        for q in &mut c {
            lanes::inverse_norms4(q.try_into().unwrap());
        }
        c.into_remainder()
    };
    for v in x {
        let n = libm::sqrtf(*v);
        *v = if n > 0.0 { 1.0 / n } else { f32::NAN };
    }
}

fn normalise(v: &mut [f32]) {
    scale_to_unit(v, dot(v, v));
}

#[inline]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + libm::expf(-x))
}

/// [`sigmoid`] of every element, four at a time with SSE2 or simd128.
#[inline]
fn sigmoids(x: &mut [f32]) {
    #[cfg(any(
        target_arch = "x86_64",
        all(target_arch = "wasm32", target_feature = "simd128")
    ))]
    let x = {
        let mut c = x.chunks_exact_mut(4);
        for q in &mut c {
            lanes::sigmoid4(q.try_into().unwrap());
        }
        c.into_remainder()
    };
    for v in x {
        *v = sigmoid(*v);
    }
}

impl Synthetic {
    pub fn new(cfg: SyntheticConfig) -> Result<Self> {
        cfg.validate()?;
        let d = cfg.dim;
        let mut rng = Rng::stream(cfg.seed, 0x5EED_0001);
        let mut centroids = vec![0f32; cfg.n_categories * d];
        for c in centroids.chunks_mut(d) {
            c.iter_mut().for_each(|x| *x = rng.normal_ziggurat());
            normalise(c);
        }
        let scale = cfg.item_spread / libm::sqrtf(d as f32);
        let fscale = cfg.feature_noise / libm::sqrtf(d as f32);
        let feature_dim = d + cfg.n_categories;
        let mut item_vecs = vec![0f32; cfg.n_items * d];
        let mut item_cats = vec![0u32; cfg.n_items];
        let mut features = vec![0f32; cfg.n_items * feature_dim];
        for i in 0..cfg.n_items {
            let cat = rng.below(cfg.n_categories as u32);
            item_cats[i] = cat;
            let v = &mut item_vecs[i * d..(i + 1) * d];
            let c = &centroids[cat as usize * d..(cat as usize + 1) * d];
            for (x, &m) in v.iter_mut().zip(c) {
                *x = m + scale * rng.normal_ziggurat();
            }
            normalise(v);
            let f = &mut features[i * feature_dim..(i + 1) * feature_dim];
            for k in 0..d {
                f[k] = v[k] + fscale * rng.normal_ziggurat();
            }
            f[d + cat as usize] = 1.0;
        }
        Ok(Synthetic {
            cfg,
            centroids,
            item_vecs,
            item_cats,
            features,
            feature_dim,
        })
    }

    pub fn config(&self) -> &SyntheticConfig {
        &self.cfg
    }

    /// The true (hidden) latent vector of an item.
    pub fn item_vector(&self, item: usize) -> &[f32] {
        &self.item_vecs[item * self.cfg.dim..(item + 1) * self.cfg.dim]
    }

    /// Expected reward (no noise) of `item` for a user in `state`.
    #[inline]
    pub fn expected_reward(&self, state: &[f32], item: usize) -> f32 {
        let v = self.item_vector(item);
        sigmoid(self.cfg.gain * dot(state, v) + self.cfg.bias)
    }
}

impl World for Synthetic {
    fn name(&self) -> &str {
        "synthetic"
    }
    fn n_users(&self) -> usize {
        self.cfg.n_users
    }
    fn n_items(&self) -> usize {
        self.cfg.n_items
    }
    fn n_categories(&self) -> usize {
        self.cfg.n_categories
    }
    fn item_category(&self, item: usize) -> u32 {
        self.item_cats[item]
    }
    fn feature_dim(&self) -> usize {
        self.feature_dim
    }
    fn item_features(&self) -> &[f32] {
        &self.features
    }
    fn user_state_dim(&self) -> usize {
        self.cfg.dim
    }

    fn init_user(&self, user: u32, state: &mut [f32]) {
        let d = self.cfg.dim;
        let mut rng = Rng::stream(self.cfg.seed, 0x0005_E500_0000_0000 | user as u64);
        let scale = 0.3 / libm::sqrtf(d as f32);
        state
            .iter_mut()
            .for_each(|x| *x = scale * rng.normal_ziggurat());
        for _ in 0..self.cfg.user_focus {
            let c = rng.below(self.cfg.n_categories as u32) as usize;
            let w = 0.5 + rng.uniform();
            for (x, &m) in state.iter_mut().zip(&self.centroids[c * d..(c + 1) * d]) {
                *x += w * m;
            }
        }
        normalise(state);
    }

    #[inline]
    fn respond(&self, _user: u32, state: &mut [f32], item: u32, rng: &mut Rng) -> f32 {
        let mean = self.expected_reward(state, item as usize);
        self.respond_rest(state, item as usize, mean, rng)
    }

    /// See [`Synthetic::respond_blocks`].
    fn respond_batch(
        &self,
        _users: &[u32],
        states: &mut [f32],
        items: &[u32],
        rngs: &mut [Rng],
        skip: &[bool],
        rewards: &mut [f32],
    ) {
        let n = items.len();
        let skip = &skip[..n];
        self.respond_blocks(states, rngs, n, |j| j, |j| !skip[j], items, rewards);
    }

    /// See [`Synthetic::respond_blocks`].
    fn respond_at(
        &self,
        _users: &[u32],
        states: &mut [f32],
        rngs: &mut [Rng],
        slots: &[u32],
        items: &[u32],
        rewards: &mut [f32],
    ) {
        let n = slots.len();
        self.respond_blocks(
            states,
            rngs,
            n,
            |j| slots[j] as usize,
            |_| true,
            items,
            rewards,
        );
    }
}

impl Synthetic {
    /// `respond` for users j < n that are `active(j)`: state and RNG of slot
    /// `slot(j)`, `items[j]`, reward into `rewards[j]`. Three passes over
    /// blocks of users: the affinities, the sigmoids, then noise and drift.
    /// The same operations per user; the passes give the CPU independent
    /// `expf`s (four at a time on x86_64) and drift updates to overlap, where
    /// one user's chain (dot, exp, divide, drift, sqrt, divide) is a long wait.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn respond_blocks(
        &self,
        states: &mut [f32],
        rngs: &mut [Rng],
        n: usize,
        slot: impl Fn(usize) -> usize,
        active: impl Fn(usize) -> bool,
        items: &[u32],
        rewards: &mut [f32],
    ) {
        const BLOCK: usize = 64;
        let d = self.cfg.dim;
        let (items, rewards) = (&items[..n], &mut rewards[..n]);
        let mut mean = [0f32; BLOCK];
        for b0 in (0..n).step_by(BLOCK) {
            let m = BLOCK.min(n - b0);
            for j in 0..m {
                mean[j] = if active(b0 + j) {
                    let s = slot(b0 + j);
                    let v = self.item_vector(items[b0 + j] as usize);
                    self.cfg.gain * dot(&states[s * d..(s + 1) * d], v) + self.cfg.bias
                } else {
                    1.0 // anything in range of `lanes::sigmoid4`'s fast path
                };
            }
            sigmoids(&mut mean[..m]);
            // noise and drift; the norms of the drifted states (sqrt and
            // divide, the slowest steps of the chain) four at a time after it
            let drifting = self.cfg.drift > 0.0;
            for j in 0..m {
                if active(b0 + j) {
                    let s = slot(b0 + j);
                    let item = items[b0 + j] as usize;
                    let r = self.noisy_reward(mean[j], &mut rngs[s]);
                    rewards[b0 + j] = r;
                    if drifting {
                        let u = &mut states[s * d..(s + 1) * d];
                        mean[j] = drift(u, self.item_vector(item), self.cfg.drift * r);
                    }
                }
            }
            if drifting {
                inverse_norms(&mut mean[..m]);
                for (j, &inv) in mean[..m].iter().enumerate() {
                    // NaN where the norm is not positive: the state stays as it is
                    if active(b0 + j) && !inv.is_nan() {
                        let s = slot(b0 + j);
                        states[s * d..(s + 1) * d]
                            .iter_mut()
                            .for_each(|x| *x *= inv);
                    }
                }
            }
        }
    }

    #[inline(always)]
    fn noisy_reward(&self, mean: f32, rng: &mut Rng) -> f32 {
        (mean + self.cfg.noise * rng.normal_ziggurat()).clamp(0.0, 1.0)
    }

    /// The reward given its noiseless `mean`, and the drift of the user's state.
    #[inline(always)]
    fn respond_rest(&self, state: &mut [f32], item: usize, mean: f32, rng: &mut Rng) -> f32 {
        let r = self.noisy_reward(mean, rng);
        if self.cfg.drift > 0.0 {
            // u <- u + eta (v - u), summing the squares of the new u in lanes as
            // `dot` does, then u <- u / |u|
            let eta = self.cfg.drift * r;
            let sum_sq = drift(state, self.item_vector(item), eta);
            scale_to_unit(state, sum_sq);
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_world() {
        let a = Synthetic::new(SyntheticConfig::default()).unwrap();
        let b = Synthetic::new(SyntheticConfig::default()).unwrap();
        assert_eq!(a.item_features(), b.item_features());
        let c = Synthetic::new(SyntheticConfig {
            seed: 1,
            ..Default::default()
        })
        .unwrap();
        assert_ne!(a.item_features(), c.item_features());
    }

    #[test]
    fn users_prefer_some_categories() {
        let w = Synthetic::new(SyntheticConfig::default()).unwrap();
        let mut s = vec![0f32; w.user_state_dim()];
        w.init_user(42, &mut s);
        let mut per_cat = vec![(0f32, 0u32); w.n_categories()];
        for i in 0..w.n_items() {
            let e = &mut per_cat[w.item_category(i) as usize];
            e.0 += w.expected_reward(&s, i);
            e.1 += 1;
        }
        let means: Vec<f32> = per_cat.iter().map(|(s, n)| s / *n as f32).collect();
        let best = means.iter().cloned().fold(0.0, f32::max);
        let worst = means.iter().cloned().fold(1.0, f32::min);
        assert!(best - worst > 0.3, "{means:?}");
    }

    /// `lanes::sigmoid4` against the scalar `sigmoid` on every `stride`-th f32
    /// bit pattern, offset by `start`, four neighbours at a time.
    #[cfg(target_arch = "x86_64")]
    fn check_sigmoid4(start: u32, stride: u32) {
        let mut b = start as u64;
        while b < 1 << 32 {
            let mut v = [0f32; 4];
            for (j, x) in v.iter_mut().enumerate() {
                *x = f32::from_bits((b as u32).wrapping_add(j as u32));
            }
            let want = v.map(sigmoid);
            lanes::sigmoid4(&mut v);
            for j in 0..4 {
                assert_eq!(
                    v[j].to_bits(),
                    want[j].to_bits(),
                    "x bits {:#x}",
                    b + j as u64
                );
            }
            b += stride as u64;
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn sigmoid4_matches_scalar() {
        check_sigmoid4(0, 997);
        check_sigmoid4(0x3000_0000, 1 << 20); // mixed lanes around the fast path's bounds
        let mut v = [0.3f32, -87.4, 1.0, -2.0];
        lanes::sigmoid4(&mut v);
        assert_eq!(v, [0.3f32, -87.4, 1.0, -2.0].map(sigmoid));
    }

    /// Every f32 (a minute or so in release: `cargo test --release -p
    /// ialp-sim sigmoid4_matches_scalar_everywhere -- --ignored`).
    #[cfg(target_arch = "x86_64")]
    #[test]
    #[ignore]
    fn sigmoid4_matches_scalar_everywhere() {
        check_sigmoid4(0, 4);
    }

    #[test]
    fn rejects_zero_items() {
        let e = Synthetic::new(SyntheticConfig {
            n_items: 0,
            ..Default::default()
        })
        .err()
        .unwrap();
        assert!(e.message().contains("synthetic.nItems"), "{e}");
    }
}
