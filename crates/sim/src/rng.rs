//! A small seeded generator (xoshiro256++ seeded by SplitMix64), identical on every
//! target, so native and WebAssembly runs draw the same numbers.

#[inline]
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut s = [0u64; 4];
        for v in &mut s {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            *v = splitmix64(x);
        }
        Rng { s }
    }

    /// An independent stream `stream` of `seed`. Environment slots use streams
    /// below 2^24; every other consumer tags its streams at or above 2^32, so
    /// no two consumers share one.
    pub fn stream(seed: u64, stream: u64) -> Self {
        Rng::new(splitmix64(seed) ^ splitmix64(stream.wrapping_mul(0xD1B5_4A32_D192_ED03)))
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let r = self.s[0]
            .wrapping_add(self.s[3])
            .rotate_left(23)
            .wrapping_add(self.s[0]);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        r
    }

    /// Uniform in [0, 1) with 24 random bits.
    #[inline]
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
    }

    /// Uniform integer in [0, n); n > 0 (Lemire's multiply-shift, bias < 2^-32).
    #[inline]
    pub fn below(&mut self, n: u32) -> u32 {
        (((self.next_u64() >> 32) * n as u64) >> 32) as u32
    }

    /// Standard normal (Box-Muller, one value per call).
    #[inline]
    pub fn normal(&mut self) -> f32 {
        let u1 = ((self.next_u64() >> 40) as f32 + 1.0) * (1.0 / (1u64 << 24) as f32);
        let u2 = self.uniform();
        libm::sqrtf(-2.0 * libm::logf(u1)) * libm::cosf(core::f32::consts::TAU * u2)
    }

    /// Uniform in (0, 1] with 24 random bits: an argument for `logf`.
    #[inline]
    fn uniform_open0(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 + 1.0) * (1.0 / (1u64 << 24) as f32)
    }

    /// Standard normal by the ziggurat method (Marsaglia and Tsang 2000, 128
    /// layers; tables [`ZIG_X`] and [`ZIG_F`]). One draw and one f32
    /// multiplication in 98.8% of calls; the rest use `libm`'s `expf` (a wedge)
    /// or `logf` (the tail beyond 3.44), so the bits are the same on every
    /// target. Uses only the high 32 bits of each draw: bits 0-6 pick the layer,
    /// bit 7 the sign, bits 8-31 the position in the layer.
    #[inline(always)]
    pub fn normal_ziggurat(&mut self) -> f32 {
        let h = (self.next_u64() >> 32) as u32;
        let i = (h & 0x7F) as usize;
        let x = (h >> 8) as f32 * (1.0 / (1u64 << 24) as f32) * ZIG_X[i];
        if x < ZIG_X[i + 1] {
            // `-x` when bit 7 is set, as a sign flip without a branch (a branch
            // on a random bit is mispredicted half of the time)
            return f32::from_bits(x.to_bits() ^ ((h & 0x80) << 24));
        }
        // the rest takes and returns the state by value: were `self` passed by
        // reference, it would escape, and a loop drawing normals would keep the
        // state in memory instead of registers
        let (rng, z) = Rng::normal_ziggurat_rest(self.clone(), h);
        *self = rng;
        z
    }

    /// [`Rng::normal_ziggurat`] after a draw `h` outside its layer's rectangle.
    #[cold]
    #[inline(never)]
    fn normal_ziggurat_rest(mut rng: Rng, h: u32) -> (Rng, f32) {
        let z = rng.normal_ziggurat_slow(h);
        (rng, z)
    }

    fn normal_ziggurat_slow(&mut self, mut h: u32) -> f32 {
        loop {
            let i = (h & 0x7F) as usize;
            let neg = h & 0x80 != 0;
            let x = (h >> 8) as f32 * (1.0 / (1u64 << 24) as f32) * ZIG_X[i];
            if x < ZIG_X[i + 1] {
                return if neg { -x } else { x };
            }
            if i == 0 {
                // the tail beyond r = ZIG_X[1] (Marsaglia 1964)
                let r = ZIG_X[1];
                loop {
                    let a = -libm::logf(self.uniform_open0()) / r;
                    let b = -libm::logf(self.uniform_open0());
                    if b + b > a * a {
                        let x = r + a;
                        return if neg { -x } else { x };
                    }
                }
            }
            let y = ZIG_F[i + 1] + self.uniform() * (ZIG_F[i] - ZIG_F[i + 1]);
            if y < libm::expf(-0.5 * x * x) {
                return if neg { -x } else { x };
            }
            h = (self.next_u64() >> 32) as u32;
        }
    }
}

/// Ziggurat layer edges for [`Rng::normal_ziggurat`], as f32 bit patterns
/// (also in benches/reference/synthetic.ts): `x[1] = r = 3.442619855899`,
/// `x[0] = v / f(r)`, `x[i+1] = sqrt(-2 ln(v / x[i] + f(x[i])))`, `x[128] = 0`,
/// with `v = 9.91256303526217e-3` the area of each layer and
/// `f(x) = exp(-x^2 / 2)`, computed in f64 and rounded to f32.
pub const ZIG_X: [f32; 129] = bits_to_f32(&[
    0x406da334, 0x405c53e2, 0x404e4706, 0x4045539f, 0x403ea2f6, 0x40393cef, 0x4034ae16, 0x4030b700,
    0x402d30f7, 0x402a0290, 0x40271a2b, 0x40246b0c, 0x4021ebae, 0x401f94c2, 0x401d608e, 0x401b4a7a,
    0x40194ecc, 0x40176a70, 0x40159ad5, 0x4013ddd1, 0x4012318c, 0x4010946f, 0x400f051a, 0x400d825c,
    0x400c0b26, 0x400a9e8b, 0x40093bb9, 0x4007e1f2, 0x4006908f, 0x400546f7, 0x400404a0, 0x4002c90f,
    0x400193d1, 0x4000647f, 0x3ffe7576, 0x3ffc2c58, 0x3ff9ed05, 0x3ff7b6e7, 0x3ff58975, 0x3ff3642d,
    0x3ff1469a, 0x3fef304a, 0x3fed20d5, 0x3feb17db, 0x3fe914fd, 0x3fe717e6, 0x3fe52042, 0x3fe32dc6,
    0x3fe14027, 0x3fdf571e, 0x3fdd726a, 0x3fdb91cb, 0x3fd9b504, 0x3fd7dbda, 0x3fd60616, 0x3fd43382,
    0x3fd263ea, 0x3fd0971c, 0x3fcecce7, 0x3fcd051c, 0x3fcb3f8d, 0x3fc97c0d, 0x3fc7ba71, 0x3fc5fa8e,
    0x3fc43c39, 0x3fc27f4a, 0x3fc0c398, 0x3fbf08fa, 0x3fbd4f48, 0x3fbb965b, 0x3fb9de0a, 0x3fb8262f,
    0x3fb66ea2, 0x3fb4b73b, 0x3fb2ffd1, 0x3fb1483d, 0x3faf9055, 0x3fadd7f1, 0x3fac1ee4, 0x3faa6506,
    0x3fa8aa28, 0x3fa6ee1f, 0x3fa530bb, 0x3fa371cc, 0x3fa1b120, 0x3f9fee85, 0x3f9e29c3, 0x3f9c62a4,
    0x3f9a98ec, 0x3f98cc5d, 0x3f96fcb8, 0x3f9529b8, 0x3f935314, 0x3f917880, 0x3f8f99aa, 0x3f8db63a,
    0x3f8bcdd4, 0x3f89e012, 0x3f87ec89, 0x3f85f2c2, 0x3f83f23f, 0x3f81ea74, 0x3f7fb591, 0x3f7b852c,
    0x3f774247, 0x3f72eb48, 0x3f6e7e66, 0x3f69f9a0, 0x3f655ab5, 0x3f609f16, 0x3f5bc3d4, 0x3f56c593,
    0x3f51a069, 0x3f4c4fc3, 0x3f46ce35, 0x3f411543, 0x3f3b1d0b, 0x3f34dbd9, 0x3f2e457f, 0x3f274a60,
    0x3f1fd5f7, 0x3f17cc6b, 0x3f0f0673, 0x3f0549b7, 0x3ef472bb, 0x3eda647f, 0x3eb9ca49, 0x3e8b6da4,
    0x00000000,
]);

/// `f(x[i])` for the f32 `x[i]` of [`ZIG_X`], rounded to f32.
pub const ZIG_F: [f32; 129] = bits_to_f32(&[
    0x3a84f40a, 0x3b2ef4f4, 0x3bb5d45b, 0x3c0d4db7, 0x3c41fa5c, 0x3c78803e, 0x3c984e77, 0x3cb511fb,
    0x3cd27abd, 0x3cf07ca9, 0x3d07872c, 0x3d171416, 0x3d26e1fc, 0x3d36ee51, 0x3d4736d9, 0x3d57b9c5,
    0x3d687577, 0x3d796897, 0x3d8548f9, 0x3d8df83d, 0x3d96c1a0, 0x3d9fa4c2, 0x3da8a14c, 0x3db1b6e9,
    0x3dbae55e, 0x3dc42c6e, 0x3dcd8bdf, 0x3dd70392, 0x3de09355, 0x3dea3b13, 0x3df3fab7, 0x3dfdd222,
    0x3e03e0a9, 0x3e08e41c, 0x3e0df363, 0x3e130e85, 0x3e18357f, 0x3e1d6855, 0x3e22a70c, 0x3e27f1ad,
    0x3e2d483d, 0x3e32aaca, 0x3e381960, 0x3e3d9406, 0x3e431ad4, 0x3e48add6, 0x3e4e4d23, 0x3e53f8c8,
    0x3e59b0de, 0x3e5f757f, 0x3e6546c0, 0x3e6b24bc, 0x3e710f90, 0x3e77075b, 0x3e7d0c3a, 0x3e818f28,
    0x3e849edf, 0x3e87b554, 0x3e8ad29c, 0x3e8df6ca, 0x3e9121f5, 0x3e945432, 0x3e978d98, 0x3e9ace40,
    0x3e9e1645, 0x3ea165c0, 0x3ea4bccc, 0x3ea81b89, 0x3eab8216, 0x3eaef091, 0x3eb2671f, 0x3eb5e5df,
    0x3eb96cf8, 0x3ebcfc91, 0x3ec094d4, 0x3ec435e9, 0x3ec7dfff, 0x3ecb9341, 0x3ecf4fe6, 0x3ed3161b,
    0x3ed6e61c, 0x3edac01e, 0x3edea45f, 0x3ee2931f, 0x3ee68ca1, 0x3eea9128, 0x3eeea103, 0x3ef2bc7c,
    0x3ef6e3eb, 0x3efb17a8, 0x3eff580d, 0x3f01d2c0, 0x3f040036, 0x3f0634a1, 0x3f08703d, 0x3f0ab34c,
    0x3f0cfe12, 0x3f0f50da, 0x3f11abf3, 0x3f140fb5, 0x3f167c7d, 0x3f18f2b0, 0x3f1b72bd, 0x3f1dfd1c,
    0x3f20924f, 0x3f2332e8, 0x3f25df84, 0x3f2898d5, 0x3f2b5f9d, 0x3f2e34b6, 0x3f311918, 0x3f340dd5,
    0x3f37142b, 0x3f3a2d82, 0x3f3d5b7d, 0x3f40a002, 0x3f43fd53, 0x3f47761e, 0x3f4b0da6, 0x3f4ec7f0,
    0x3f52aa0c, 0x3f56ba86, 0x3f5b0217, 0x3f5f8cdb, 0x3f646c92, 0x3f69bd3b, 0x3f6fb039, 0x3f76ae78,
    0x3f800000,
]);

const fn bits_to_f32(b: &[u32; 129]) -> [f32; 129] {
    let mut out = [0f32; 129];
    let mut i = 0;
    while i < 129 {
        out[i] = f32::from_bits(b[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| Rng::stream(7, 1).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(Rng::stream(7, 1).next_u64(), Rng::stream(7, 2).next_u64());
        assert_ne!(Rng::stream(7, 1).next_u64(), Rng::stream(8, 1).next_u64());
    }

    #[test]
    fn uniform_and_normal_moments() {
        let mut r = Rng::new(3);
        let n = 200_000;
        let (mut su, mut sn, mut sn2) = (0f64, 0f64, 0f64);
        for _ in 0..n {
            let u = r.uniform();
            assert!((0.0..1.0).contains(&u));
            su += u as f64;
            let z = r.normal() as f64;
            assert!(z.is_finite());
            sn += z;
            sn2 += z * z;
        }
        let n = n as f64;
        assert!((su / n - 0.5).abs() < 0.005);
        assert!((sn / n).abs() < 0.01);
        assert!((sn2 / n - 1.0).abs() < 0.02);
    }

    #[test]
    fn ziggurat_tables_follow_their_recursion() {
        let f = |x: f64| libm::exp(-0.5 * x * x);
        let (r, v) = (3.442619855899f64, 9.91256303526217e-3f64);
        assert_eq!(ZIG_X[1], r as f32);
        assert_eq!(ZIG_X[0], (v / f(r)) as f32);
        assert_eq!(ZIG_X[128], 0.0);
        for i in 0..129 {
            assert_eq!(ZIG_F[i], f(ZIG_X[i] as f64) as f32, "f[{i}]");
            if i < 128 {
                assert!(ZIG_X[i + 1] < ZIG_X[i]);
            }
        }
        // every layer has area v (to f32 precision): x[i] * (f(x[i+1]) - f(x[i]))
        for i in 1..127 {
            let (a, b) = (ZIG_X[i] as f64, ZIG_X[i + 1] as f64);
            assert!((a * (f(b) - f(a)) / v - 1.0).abs() < 1e-5, "layer {i}");
        }
    }

    #[test]
    fn ziggurat_normal_moments_and_tails() {
        let mut r = Rng::new(5);
        let n = 1_000_000;
        let (mut s1, mut s2, mut s3, mut s4) = (0f64, 0f64, 0f64, 0f64);
        let (mut beyond1, mut beyond2, mut beyond_r, mut neg) = (0u32, 0u32, 0u32, 0u32);
        for _ in 0..n {
            let z = r.normal_ziggurat() as f64;
            assert!(z.is_finite());
            s1 += z;
            s2 += z * z;
            s3 += z * z * z;
            s4 += z * z * z * z;
            beyond1 += (z.abs() > 1.0) as u32;
            beyond2 += (z.abs() > 2.0) as u32;
            beyond_r += (z.abs() > 3.442619855899) as u32;
            neg += (z < 0.0) as u32;
        }
        let nf = n as f64;
        assert!((s1 / nf).abs() < 0.005, "mean {}", s1 / nf);
        assert!((s2 / nf - 1.0).abs() < 0.005, "var {}", s2 / nf);
        assert!((s3 / nf).abs() < 0.02, "skew {}", s3 / nf);
        assert!((s4 / nf - 3.0).abs() < 0.05, "kurtosis {}", s4 / nf);
        // P(|z| > 1) = 0.3173, P(|z| > 2) = 0.04550, P(|z| > 3.4426) = 0.000576
        assert!((beyond1 as f64 / nf - 0.3173).abs() < 0.002);
        assert!((beyond2 as f64 / nf - 0.0455).abs() < 0.0008);
        assert!((beyond_r as f64 / nf - 0.000576).abs() < 0.0001);
        assert!((neg as f64 / nf - 0.5).abs() < 0.002);
    }

    #[test]
    fn below_covers_range_evenly() {
        let mut r = Rng::new(11);
        let mut counts = [0u32; 7];
        for _ in 0..70_000 {
            counts[r.below(7) as usize] += 1;
        }
        for c in counts {
            assert!((9_000..11_000).contains(&c), "{counts:?}");
        }
    }
}
