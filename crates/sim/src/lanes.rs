//! The SIMD lane kernels of the `synthetic` world (dot products, interest
//! drift, sigmoids, inverse norms): a portable 8-lane version, and the same
//! operations on 4-lane registers (SSE2 on x86_64, simd128 on wasm32) that give
//! the same bits.

/// Lanes of the f32 reductions in this file: sums run in 8 interleaved partial sums
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
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(any(
        target_arch = "x86_64",
        all(target_arch = "wasm32", target_feature = "simd128")
    ))]
    {
        simd::dot(a, b)
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
pub(crate) fn drift(u: &mut [f32], v: &[f32], eta: f32) -> f32 {
    #[cfg(any(
        target_arch = "x86_64",
        all(target_arch = "wasm32", target_feature = "simd128")
    ))]
    {
        simd::drift(u, v, eta)
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
mod simd {
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
pub(crate) fn scale_to_unit(v: &mut [f32], sum_sq: f32) {
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
pub(crate) fn inverse_norms(x: &mut [f32]) {
    #[cfg(any(
        target_arch = "x86_64",
        all(target_arch = "wasm32", target_feature = "simd128")
    ))]
    let x = {
        let mut c = x.chunks_exact_mut(4);
        for q in &mut c {
            simd::inverse_norms4(q.try_into().unwrap());
        }
        c.into_remainder()
    };
    for v in x {
        let n = libm::sqrtf(*v);
        *v = if n > 0.0 { 1.0 / n } else { f32::NAN };
    }
}

pub(crate) fn normalise(v: &mut [f32]) {
    scale_to_unit(v, dot(v, v));
}

#[inline]
pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + libm::expf(-x))
}

/// [`sigmoid`] of every element, four at a time with SSE2 or simd128.
#[inline]
pub(crate) fn sigmoids(x: &mut [f32]) {
    #[cfg(any(
        target_arch = "x86_64",
        all(target_arch = "wasm32", target_feature = "simd128")
    ))]
    let x = {
        let mut c = x.chunks_exact_mut(4);
        for q in &mut c {
            simd::sigmoid4(q.try_into().unwrap());
        }
        c.into_remainder()
    };
    for v in x {
        *v = sigmoid(*v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `simd::sigmoid4` against the scalar `sigmoid` on every `stride`-th f32
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
            simd::sigmoid4(&mut v);
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
        simd::sigmoid4(&mut v);
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
}
