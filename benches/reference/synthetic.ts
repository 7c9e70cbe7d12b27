// A pure-TypeScript port of the `synthetic` environment (crates/sim: rng.rs,
// synthetic.rs, quit.rs, batch.rs), the baseline the native and wasm builds are
// measured against. It draws the same numbers and returns the same rewards, dones
// and episodes bit for bit (checked by __test__/bench-reference.test.ts):
//   - 64-bit integers (xoshiro256++, SplitMix64) are pairs of uint32 halves;
//   - every f32 operation is a double operation rounded by Math.fround, which is
//     exact for + - * / and sqrt (53 >= 2 * 24 + 2 bits);
//   - expf and logf are ports of the `libm` crate's versions (FreeBSD msun),
//     not Math.exp / Math.log, which differ in the last bit;
//   - normals come from the same ziggurat with the same tables (rng.rs);
//   - sums over the d latent dimensions run in the same 8 interleaved partial
//     sums as lanes.rs (`dot`).
// It is written for speed as a careful JavaScript developer would: flat typed
// arrays, no allocation per step.

const f = Math.fround;

// ---------------------------------------------------------------- 64-bit helpers
// Results of the helpers below, to avoid allocating pairs.
let HI = 0;
let LO = 0;

/** (ah:al) * (bh:bl) mod 2^64 into HI:LO. */
function mul64(ah: number, al: number, bh: number, bl: number): void {
  // al * bl in full, from 16-bit limbs
  const a0 = al & 0xffff;
  const a1 = al >>> 16;
  const b0 = bl & 0xffff;
  const b1 = bl >>> 16;
  const p00 = a0 * b0;
  const mid = a1 * b0 + a0 * b1; // < 2^33, exact
  const lo = p00 + (mid % 65536) * 65536; // < 2^33
  const carry = Math.floor(lo / 4294967296) + Math.floor(mid / 65536);
  LO = lo >>> 0;
  HI = (a1 * b1 + carry + Math.imul(ah, bl) + Math.imul(al, bh)) >>> 0;
}

/** (ah:al) + (bh:bl) mod 2^64 into HI:LO. */
function add64(ah: number, al: number, bh: number, bl: number): void {
  const lo = (al + bl) >>> 0;
  HI = (ah + bh + (lo < al ? 1 : 0)) >>> 0;
  LO = lo;
}

/** SplitMix64's output function of x into HI:LO. */
function splitmix64(xh: number, xl: number): void {
  add64(xh, xl, 0x9e3779b9, 0x7f4a7c15);
  let h = HI;
  let l = LO;
  // z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
  mul64(h ^ (h >>> 30), (l ^ ((l >>> 30) | (h << 2))) >>> 0, 0xbf58476d, 0x1ce4e5b9);
  h = HI;
  l = LO;
  // z = (z ^ (z >> 27)) * 0x94D049BB133111EB
  mul64(h ^ (h >>> 27), (l ^ ((l >>> 27) | (h << 5))) >>> 0, 0x94d049bb, 0x133111eb);
  h = HI;
  l = LO;
  // z ^ (z >> 31)
  HI = (h ^ (h >>> 31)) >>> 0;
  LO = (l ^ ((l >>> 31) | (h << 1))) >>> 0;
}

// ------------------------------------------------------------------------- RNG
/** xoshiro256++ states, 8 uint32 per generator: s0..s3 as (hi, lo) pairs. */
export type RngStates = Uint32Array;

/** Seeds generator `g` of `states` as Rust's `Rng::new(seed)` (seed as hi:lo). */
function seedRng(states: RngStates, g: number, seedHi: number, seedLo: number): void {
  let xh = seedHi >>> 0;
  let xl = seedLo >>> 0;
  for (let i = 0; i < 4; i++) {
    add64(xh, xl, 0x9e3779b9, 0x7f4a7c15);
    xh = HI;
    xl = LO;
    splitmix64(xh, xl);
    states[g * 8 + 2 * i] = HI;
    states[g * 8 + 2 * i + 1] = LO;
  }
}

/** Rust's `Rng::stream(seed, stream)`; both 64-bit values as hi:lo. */
function seedStream(states: RngStates, g: number, seedHi: number, seedLo: number, streamHi: number, streamLo: number): void {
  splitmix64(seedHi, seedLo);
  const ah = HI;
  const al = LO;
  mul64(streamHi, streamLo, 0xd1b54a32, 0xd192ed03);
  splitmix64(HI, LO);
  seedRng(states, g, (ah ^ HI) >>> 0, (al ^ LO) >>> 0);
}

/**
 * Advances generator `g` and returns the high 32 bits of its 64-bit output (every
 * draw of the simulator uses only those: `>> 32` and `>> 40`).
 */
function nextHi(s: RngStates, g: number): number {
  const o = g * 8;
  const s0h = s[o];
  const s0l = s[o + 1];
  const s1h = s[o + 2];
  const s1l = s[o + 3];
  let s2h = s[o + 4];
  let s2l = s[o + 5];
  let s3h = s[o + 6];
  let s3l = s[o + 7];
  // r = rotl(s0 + s3, 23) + s0
  const al = (s0l + s3l) >>> 0;
  const ah = (s0h + s3h + (al < s0l ? 1 : 0)) >>> 0;
  const rl = ((al << 23) | (ah >>> 9)) >>> 0;
  const rh = ((ah << 23) | (al >>> 9)) >>> 0;
  const outLo = (rl + s0l) >>> 0;
  const out = (rh + s0h + (outLo < rl ? 1 : 0)) >>> 0;
  // t = s1 << 17
  const th = ((s1h << 17) | (s1l >>> 15)) >>> 0;
  const tl = (s1l << 17) >>> 0;
  s2h = (s2h ^ s0h) >>> 0;
  s2l = (s2l ^ s0l) >>> 0;
  s3h = (s3h ^ s1h) >>> 0;
  s3l = (s3l ^ s1l) >>> 0;
  const n1h = (s1h ^ s2h) >>> 0;
  const n1l = (s1l ^ s2l) >>> 0;
  const n0h = (s0h ^ s3h) >>> 0;
  const n0l = (s0l ^ s3l) >>> 0;
  s2h = (s2h ^ th) >>> 0;
  s2l = (s2l ^ tl) >>> 0;
  // s3 = rotl(s3, 45) = rotl(swap halves, 13)
  s[o] = n0h;
  s[o + 1] = n0l;
  s[o + 2] = n1h;
  s[o + 3] = n1l;
  s[o + 4] = s2h;
  s[o + 5] = s2l;
  s[o + 6] = ((s3l << 13) | (s3h >>> 19)) >>> 0;
  s[o + 7] = ((s3h << 13) | (s3l >>> 19)) >>> 0;
  return out;
}

const TWO_M24 = 1 / 16777216;
const TWO_32 = 4294967296;

/** Uniform in [0, 1) with 24 random bits (`Rng::uniform`). */
function uniform(s: RngStates, g: number): number {
  return (nextHi(s, g) >>> 8) * TWO_M24;
}

/** Uniform integer in [0, n) (`Rng::below`: Lemire's multiply-shift). */
function below(s: RngStates, g: number, n: number): number {
  const x = nextHi(s, g);
  if (n < 2097152) return Math.floor((x * n) / TWO_32); // x * n < 2^53: exact
  const a = (x >>> 16) * n;
  const b = (x & 0xffff) * n;
  const a1 = Math.floor(a / 65536);
  return a1 + Math.floor(((a - a1 * 65536) * 65536 + b) / TWO_32);
}

/** Uniform in (0, 1] with 24 random bits (`Rng::uniform_open0`). */
function uniformOpen0(s: RngStates, g: number): number {
  return ((nextHi(s, g) >>> 8) + 1) * TWO_M24;
}

// Ziggurat tables (rng.rs `ZIG_X`, `ZIG_F`), the same f32 bit patterns.
const ZX = new Float32Array(
  new Uint32Array([
    0x406da334, 0x405c53e2, 0x404e4706, 0x4045539f, 0x403ea2f6, 0x40393cef,
    0x4034ae16, 0x4030b700, 0x402d30f7, 0x402a0290, 0x40271a2b, 0x40246b0c,
    0x4021ebae, 0x401f94c2, 0x401d608e, 0x401b4a7a, 0x40194ecc, 0x40176a70,
    0x40159ad5, 0x4013ddd1, 0x4012318c, 0x4010946f, 0x400f051a, 0x400d825c,
    0x400c0b26, 0x400a9e8b, 0x40093bb9, 0x4007e1f2, 0x4006908f, 0x400546f7,
    0x400404a0, 0x4002c90f, 0x400193d1, 0x4000647f, 0x3ffe7576, 0x3ffc2c58,
    0x3ff9ed05, 0x3ff7b6e7, 0x3ff58975, 0x3ff3642d, 0x3ff1469a, 0x3fef304a,
    0x3fed20d5, 0x3feb17db, 0x3fe914fd, 0x3fe717e6, 0x3fe52042, 0x3fe32dc6,
    0x3fe14027, 0x3fdf571e, 0x3fdd726a, 0x3fdb91cb, 0x3fd9b504, 0x3fd7dbda,
    0x3fd60616, 0x3fd43382, 0x3fd263ea, 0x3fd0971c, 0x3fcecce7, 0x3fcd051c,
    0x3fcb3f8d, 0x3fc97c0d, 0x3fc7ba71, 0x3fc5fa8e, 0x3fc43c39, 0x3fc27f4a,
    0x3fc0c398, 0x3fbf08fa, 0x3fbd4f48, 0x3fbb965b, 0x3fb9de0a, 0x3fb8262f,
    0x3fb66ea2, 0x3fb4b73b, 0x3fb2ffd1, 0x3fb1483d, 0x3faf9055, 0x3fadd7f1,
    0x3fac1ee4, 0x3faa6506, 0x3fa8aa28, 0x3fa6ee1f, 0x3fa530bb, 0x3fa371cc,
    0x3fa1b120, 0x3f9fee85, 0x3f9e29c3, 0x3f9c62a4, 0x3f9a98ec, 0x3f98cc5d,
    0x3f96fcb8, 0x3f9529b8, 0x3f935314, 0x3f917880, 0x3f8f99aa, 0x3f8db63a,
    0x3f8bcdd4, 0x3f89e012, 0x3f87ec89, 0x3f85f2c2, 0x3f83f23f, 0x3f81ea74,
    0x3f7fb591, 0x3f7b852c, 0x3f774247, 0x3f72eb48, 0x3f6e7e66, 0x3f69f9a0,
    0x3f655ab5, 0x3f609f16, 0x3f5bc3d4, 0x3f56c593, 0x3f51a069, 0x3f4c4fc3,
    0x3f46ce35, 0x3f411543, 0x3f3b1d0b, 0x3f34dbd9, 0x3f2e457f, 0x3f274a60,
    0x3f1fd5f7, 0x3f17cc6b, 0x3f0f0673, 0x3f0549b7, 0x3ef472bb, 0x3eda647f,
    0x3eb9ca49, 0x3e8b6da4, 0x00000000,
  ]).buffer,
);
const ZF = new Float32Array(
  new Uint32Array([
    0x3a84f40a, 0x3b2ef4f4, 0x3bb5d45b, 0x3c0d4db7, 0x3c41fa5c, 0x3c78803e,
    0x3c984e77, 0x3cb511fb, 0x3cd27abd, 0x3cf07ca9, 0x3d07872c, 0x3d171416,
    0x3d26e1fc, 0x3d36ee51, 0x3d4736d9, 0x3d57b9c5, 0x3d687577, 0x3d796897,
    0x3d8548f9, 0x3d8df83d, 0x3d96c1a0, 0x3d9fa4c2, 0x3da8a14c, 0x3db1b6e9,
    0x3dbae55e, 0x3dc42c6e, 0x3dcd8bdf, 0x3dd70392, 0x3de09355, 0x3dea3b13,
    0x3df3fab7, 0x3dfdd222, 0x3e03e0a9, 0x3e08e41c, 0x3e0df363, 0x3e130e85,
    0x3e18357f, 0x3e1d6855, 0x3e22a70c, 0x3e27f1ad, 0x3e2d483d, 0x3e32aaca,
    0x3e381960, 0x3e3d9406, 0x3e431ad4, 0x3e48add6, 0x3e4e4d23, 0x3e53f8c8,
    0x3e59b0de, 0x3e5f757f, 0x3e6546c0, 0x3e6b24bc, 0x3e710f90, 0x3e77075b,
    0x3e7d0c3a, 0x3e818f28, 0x3e849edf, 0x3e87b554, 0x3e8ad29c, 0x3e8df6ca,
    0x3e9121f5, 0x3e945432, 0x3e978d98, 0x3e9ace40, 0x3e9e1645, 0x3ea165c0,
    0x3ea4bccc, 0x3ea81b89, 0x3eab8216, 0x3eaef091, 0x3eb2671f, 0x3eb5e5df,
    0x3eb96cf8, 0x3ebcfc91, 0x3ec094d4, 0x3ec435e9, 0x3ec7dfff, 0x3ecb9341,
    0x3ecf4fe6, 0x3ed3161b, 0x3ed6e61c, 0x3edac01e, 0x3edea45f, 0x3ee2931f,
    0x3ee68ca1, 0x3eea9128, 0x3eeea103, 0x3ef2bc7c, 0x3ef6e3eb, 0x3efb17a8,
    0x3eff580d, 0x3f01d2c0, 0x3f040036, 0x3f0634a1, 0x3f08703d, 0x3f0ab34c,
    0x3f0cfe12, 0x3f0f50da, 0x3f11abf3, 0x3f140fb5, 0x3f167c7d, 0x3f18f2b0,
    0x3f1b72bd, 0x3f1dfd1c, 0x3f20924f, 0x3f2332e8, 0x3f25df84, 0x3f2898d5,
    0x3f2b5f9d, 0x3f2e34b6, 0x3f311918, 0x3f340dd5, 0x3f37142b, 0x3f3a2d82,
    0x3f3d5b7d, 0x3f40a002, 0x3f43fd53, 0x3f47761e, 0x3f4b0da6, 0x3f4ec7f0,
    0x3f52aa0c, 0x3f56ba86, 0x3f5b0217, 0x3f5f8cdb, 0x3f646c92, 0x3f69bd3b,
    0x3f6fb039, 0x3f76ae78, 0x3f800000,
  ]).buffer,
);
const ZR = ZX[1];

/**
 * Standard normal by the ziggurat method (`Rng::normal_ziggurat`): bits 0-6 of
 * the draw's high half pick the layer, bit 7 the sign, bits 8-31 the position.
 */
function normal(s: RngStates, g: number): number {
  for (;;) {
    const h = nextHi(s, g);
    const i = h & 0x7f;
    const neg = (h & 0x80) !== 0;
    const x = f((h >>> 8) * TWO_M24 * ZX[i]); // (h >>> 8) * 2^-24 is exact
    if (x < ZX[i + 1]) return neg ? -x : x;
    if (i === 0) {
      for (;;) {
        const a = f(-logf(uniformOpen0(s, g)) / ZR);
        const b = -logf(uniformOpen0(s, g));
        if (f(b + b) > f(a * a)) {
          const t = f(ZR + a);
          return neg ? -t : t;
        }
      }
    }
    const y = f(ZF[i + 1] + f(uniform(s, g) * f(ZF[i] - ZF[i + 1])));
    if (y < expf(f(f(-0.5 * x) * x))) return neg ? -x : x;
  }
}

// ------------------------------------------------- libm (FreeBSD msun) in f32
const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);
function bits(x: number): number {
  F32[0] = x;
  return U32[0];
}
function fromBits(b: number): number {
  U32[0] = b;
  return F32[0];
}

const LN2_HI_E = f(6.9314575195e-1);
const LN2_LO_E = f(1.4286067653e-6);
const INV_LN2 = f(1.4426950216);
const P1 = f(1.666662544e-1);
const P2 = f(-2.7667332906e-3);

/** libm's expf (e_expf.c), for the arguments the simulator passes (|x| < 87). */
export function expf(x: number): number {
  const hx0 = bits(x);
  const sign = hx0 >>> 31;
  const hx = hx0 & 0x7fffffff;
  if (hx >= 0x42aeac50) {
    if (hx > 0x7f800000) return x;
    if (hx >= 0x42b17218 && sign === 0) return Infinity;
    if (sign !== 0 && hx >= 0x42cff1b5) return 0;
  }
  let k: number;
  let hi: number;
  let lo: number;
  if (hx > 0x3eb17218) {
    if (hx > 0x3f851592) {
      k = Math.trunc(f(f(INV_LN2 * x) + (sign ? -0.5 : 0.5)));
    } else {
      k = 1 - sign - sign;
    }
    hi = f(x - f(k * LN2_HI_E));
    lo = f(k * LN2_LO_E);
    x = f(hi - lo);
  } else if (hx > 0x39000000) {
    k = 0;
    hi = x;
    lo = 0;
  } else {
    return f(1 + x);
  }
  const xx = f(x * x);
  const c = f(x - f(xx * f(P1 + f(xx * P2))));
  const y = f(1 + f(f(f(f(x * c) / f(2 - c)) - lo) + hi));
  // scalbnf: exact for the small k here (no subnormal results)
  return k === 0 ? y : f(y * 2 ** k);
}

const LN2_HI_L = f(6.9313812256e-1);
const LN2_LO_L = f(9.0580006145e-6);
const LG1 = f(0.66666662693);
const LG2 = f(0.40000972152);
const LG3 = f(0.28498786688);
const LG4 = f(0.24279078841);

/** libm's logf (e_logf.c), for positive normal arguments (u1 in (0, 1]). */
export function logf(x: number): number {
  let ix = bits(x);
  if (ix === 0x3f800000) return 0;
  if (ix < 0x00800000 || ix >= 0x7f800000) throw new RangeError(`logf(${x}): outside the simulator's domain`);
  ix = (ix + (0x3f800000 - 0x3f3504f3)) >>> 0;
  const k = (ix >>> 23) - 0x7f;
  x = fromBits(((ix & 0x007fffff) + 0x3f3504f3) >>> 0);
  const fx = f(x - 1);
  const s = f(fx / f(2 + fx));
  const z = f(s * s);
  const w = f(z * z);
  const t1 = f(w * f(LG2 + f(w * LG4)));
  const t2 = f(z * f(LG1 + f(w * LG3)));
  const r = f(t2 + t1);
  const hfsq = f(f(0.5 * fx) * fx);
  const dk = k;
  return f(f(f(f(f(s * f(hfsq + r)) + f(dk * LN2_LO_L)) - hfsq) + fx) + f(dk * LN2_HI_L));
}

// ---------------------------------------------------------------- the world
export interface SyntheticConfig {
  nUsers: number;
  nItems: number;
  nCategories: number;
  dim: number;
  userFocus: number;
  itemSpread: number;
  gain: number;
  bias: number;
  noise: number;
  drift: number;
  featureNoise: number;
  seed: number;
}

export interface QuitConfig {
  window: number;
  maxSameCategory: number;
  minMeanReward: number;
  maxSteps: number;
}

export interface BatchConfig {
  batchSize: number;
  history: number;
  warmStart: number;
  autoReset: boolean;
  seed: number;
}

/** The Rust defaults (crates/sim), so a spec can name only what it changes. */
export const defaults = {
  synthetic: {
    nUsers: 10_000,
    nItems: 500,
    nCategories: 10,
    dim: 16,
    userFocus: 2,
    itemSpread: 0.5,
    gain: 5,
    bias: -1.5,
    noise: 0.1,
    drift: 0.05,
    featureNoise: 0.2,
    seed: 0,
  } satisfies SyntheticConfig,
  quit: { window: 5, maxSameCategory: 3, minMeanReward: 0.25, maxSteps: 50 } satisfies QuitConfig,
  batch: { batchSize: 64, history: 10, warmStart: 3, autoReset: true, seed: 0 } satisfies BatchConfig,
};

export interface EnvSpec {
  batch?: Partial<BatchConfig>;
  quit?: Partial<QuitConfig>;
  synthetic?: Partial<SyntheticConfig>;
}

function hiLo(x: number, what: string): [number, number] {
  if (!Number.isSafeInteger(x) || x < 0) throw new RangeError(`${what}: expected an integer in [0, 2^53), got ${x}`);
  return [Math.floor(x / TWO_32), x >>> 0];
}

/**
 * sum_k a[ao + k] * b[bo + k] in 8 interleaved partial sums (element k to lane
 * k % 8), combined as ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)): lanes.rs `dot`.
 */
function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, d: number): number {
  let l0 = 0;
  let l1 = 0;
  let l2 = 0;
  let l3 = 0;
  let l4 = 0;
  let l5 = 0;
  let l6 = 0;
  let l7 = 0;
  let k = 0;
  for (; k + 8 <= d; k += 8) {
    l0 = f(l0 + f(a[ao + k] * b[bo + k]));
    l1 = f(l1 + f(a[ao + k + 1] * b[bo + k + 1]));
    l2 = f(l2 + f(a[ao + k + 2] * b[bo + k + 2]));
    l3 = f(l3 + f(a[ao + k + 3] * b[bo + k + 3]));
    l4 = f(l4 + f(a[ao + k + 4] * b[bo + k + 4]));
    l5 = f(l5 + f(a[ao + k + 5] * b[bo + k + 5]));
    l6 = f(l6 + f(a[ao + k + 6] * b[bo + k + 6]));
    l7 = f(l7 + f(a[ao + k + 7] * b[bo + k + 7]));
  }
  const r = d - k;
  if (r > 0) l0 = f(l0 + f(a[ao + k] * b[bo + k]));
  if (r > 1) l1 = f(l1 + f(a[ao + k + 1] * b[bo + k + 1]));
  if (r > 2) l2 = f(l2 + f(a[ao + k + 2] * b[bo + k + 2]));
  if (r > 3) l3 = f(l3 + f(a[ao + k + 3] * b[bo + k + 3]));
  if (r > 4) l4 = f(l4 + f(a[ao + k + 4] * b[bo + k + 4]));
  if (r > 5) l5 = f(l5 + f(a[ao + k + 5] * b[bo + k + 5]));
  if (r > 6) l6 = f(l6 + f(a[ao + k + 6] * b[bo + k + 6]));
  return f(f(f(f(l0 + l4) + f(l2 + l6)) + f(f(l1 + l5) + f(l3 + l7))));
}

/** Multiply v[o .. o + d] by 1 / sqrt(sumSq) unless it is 0 (lanes.rs `scale_to_unit`). */
function scaleToUnit(v: Float32Array, o: number, d: number, sumSq: number): void {
  const n = f(Math.sqrt(sumSq));
  if (n > 0) {
    const inv = f(1 / n);
    for (let k = 0; k < d; k++) v[o + k] = v[o + k] * inv; // the store rounds to f32
  }
}

/** lanes.rs `normalise`. */
function normalise(v: Float32Array, o: number, d: number): void {
  scaleToUnit(v, o, d, dot(v, o, v, o, d));
}

export class SyntheticWorld {
  readonly cfg: SyntheticConfig;
  readonly centroids: Float32Array;
  readonly itemVecs: Float32Array;
  readonly itemCats: Uint32Array;
  readonly features: Float32Array;
  readonly featureDim: number;
  private readonly seedHi: number;
  private readonly seedLo: number;
  private readonly userRng = new Uint32Array(8);
  private readonly gain: number;
  private readonly bias: number;
  private readonly noise: number;
  private readonly drift: number;
  private readonly initScale: number;

  constructor(cfg: SyntheticConfig) {
    this.cfg = cfg;
    const d = cfg.dim;
    [this.seedHi, this.seedLo] = hiLo(cfg.seed, 'synthetic.seed');
    const rng = new Uint32Array(8);
    seedStream(rng, 0, this.seedHi, this.seedLo, 0, 0x5eed0001);
    this.centroids = new Float32Array(cfg.nCategories * d);
    for (let c = 0; c < cfg.nCategories; c++) {
      for (let k = 0; k < d; k++) this.centroids[c * d + k] = normal(rng, 0);
      normalise(this.centroids, c * d, d);
    }
    const sqrtD = f(Math.sqrt(d));
    const scale = f(f(cfg.itemSpread) / sqrtD);
    const fscale = f(f(cfg.featureNoise) / sqrtD);
    this.featureDim = d + cfg.nCategories;
    const fd = this.featureDim;
    this.itemVecs = new Float32Array(cfg.nItems * d);
    this.itemCats = new Uint32Array(cfg.nItems);
    this.features = new Float32Array(cfg.nItems * fd);
    for (let i = 0; i < cfg.nItems; i++) {
      const cat = below(rng, 0, cfg.nCategories);
      this.itemCats[i] = cat;
      for (let k = 0; k < d; k++) this.itemVecs[i * d + k] = f(this.centroids[cat * d + k] + f(scale * normal(rng, 0)));
      normalise(this.itemVecs, i * d, d);
      for (let k = 0; k < d; k++) this.features[i * fd + k] = f(this.itemVecs[i * d + k] + f(fscale * normal(rng, 0)));
      this.features[i * fd + d + cat] = 1;
    }
    this.gain = f(cfg.gain);
    this.bias = f(cfg.bias);
    this.noise = f(cfg.noise);
    this.drift = f(cfg.drift);
    this.initScale = f(f(0.3) / sqrtD);
  }

  /** Writes `user`'s state at the start of an episode into state[o .. o + d]. */
  initUser(user: number, state: Float32Array, o: number): void {
    const d = this.cfg.dim;
    const rng = this.userRng;
    // stream 0x0005_E500_0000_0000 | user
    seedStream(rng, 0, this.seedHi, this.seedLo, 0x0005e500, user >>> 0);
    const scale = this.initScale;
    for (let k = 0; k < d; k++) state[o + k] = scale * normal(rng, 0); // the store rounds to f32
    for (let j = 0; j < this.cfg.userFocus; j++) {
      const c = below(rng, 0, this.cfg.nCategories);
      const w = f(0.5 + uniform(rng, 0));
      for (let k = 0; k < d; k++) state[o + k] = state[o + k] + f(w * this.centroids[c * d + k]);
    }
    normalise(state, o, d);
  }

  /** The reward of `item` for the user in state[o ..], drawn with generator g; drifts the state. */
  respond(state: Float32Array, o: number, item: number, rngs: RngStates, g: number): number {
    const d = this.cfg.dim;
    const v = this.itemVecs;
    const iv = item * d;
    const mean = f(1 / f(1 + expf(f(-f(f(this.gain * dot(state, o, v, iv, d)) + this.bias)))));
    const r = Math.min(Math.max(f(mean + f(this.noise * normal(rngs, g))), 0), 1);
    if (this.drift > 0) {
      const eta = f(this.drift * r);
      for (let k = 0; k < d; k++) {
        const u = state[o + k];
        state[o + k] = u + f(eta * f(v[iv + k] - u));
      }
      scaleToUnit(state, o, d, dot(state, o, state, o, d)); // the same sums as synthetic.rs's fused loop
    }
    return r;
  }
}

// ---------------------------------------------------------------- the batch
export interface Episode {
  slot: number;
  user: number;
  totalReward: number;
  length: number;
}

/** B users stepped together, as crates/sim/src/batch.rs `BatchEnv`. */
export class ReferenceEnv {
  readonly world: SyntheticWorld;
  readonly batch: BatchConfig;
  readonly quit: QuitConfig;
  private readonly users: Uint32Array;
  private readonly state: Float32Array;
  private readonly histItems: Uint32Array;
  private readonly histRewards: Float32Array;
  private readonly histLen: Uint32Array;
  private readonly histPos: Uint32Array;
  private readonly winCats: Uint32Array;
  private readonly winRewards: Float32Array;
  private readonly winLen: Uint32Array;
  private readonly winPos: Uint32Array;
  private readonly steps: Uint32Array;
  private readonly epReward: Float32Array;
  private readonly done: Uint8Array;
  private readonly rngs: RngStates;
  private readonly minMean: number;
  private finished: Episode[] = [];

  constructor(spec: EnvSpec = {}) {
    this.world = new SyntheticWorld({ ...defaults.synthetic, ...spec.synthetic });
    this.batch = { ...defaults.batch, ...spec.batch };
    this.quit = { ...defaults.quit, ...spec.quit };
    const { batchSize: b, history: h } = this.batch;
    const w = this.quit.window;
    const d = this.world.cfg.dim;
    if (!(b >= 1 && h >= 1 && w >= 1 && this.batch.warmStart <= h)) throw new RangeError('reference env: bad batch or quit config');
    this.users = new Uint32Array(b);
    this.state = new Float32Array(b * d);
    this.histItems = new Uint32Array(b * h).fill(0xffffffff);
    this.histRewards = new Float32Array(b * h);
    this.histLen = new Uint32Array(b);
    this.histPos = new Uint32Array(b);
    this.winCats = new Uint32Array(b * w);
    this.winRewards = new Float32Array(b * w);
    this.winLen = new Uint32Array(b);
    this.winPos = new Uint32Array(b);
    this.steps = new Uint32Array(b);
    this.epReward = new Float32Array(b);
    this.done = new Uint8Array(b);
    this.rngs = new Uint32Array(b * 8);
    this.minMean = f(this.quit.minMeanReward);
    const [sh, sl] = hiLo(this.batch.seed, 'batch.seed');
    for (let s = 0; s < b; s++) seedStream(this.rngs, s, sh, sl, 0, s);
    this.reset();
  }

  get batchSize(): number {
    return this.batch.batchSize;
  }

  reset(): void {
    for (let s = 0; s < this.batch.batchSize; s++) this.resetSlot(s);
  }

  private pushHistory(s: number, item: number, r: number): void {
    const h = this.batch.history;
    const p = this.histPos[s];
    this.histItems[s * h + p] = item;
    this.histRewards[s * h + p] = r;
    this.histPos[s] = (p + 1) % h;
    this.histLen[s] = Math.min(this.histLen[s] + 1, h);
  }

  private resetSlot(s: number): void {
    const world = this.world;
    const d = world.cfg.dim;
    const h = this.batch.history;
    const user = below(this.rngs, s, world.cfg.nUsers);
    this.users[s] = user;
    world.initUser(user, this.state, s * d);
    this.histLen[s] = 0;
    this.histPos[s] = 0;
    this.winLen[s] = 0;
    this.winPos[s] = 0;
    this.steps[s] = 0;
    this.epReward[s] = 0;
    this.done[s] = 0;
    this.histItems.fill(0xffffffff, s * h, (s + 1) * h);
    this.histRewards.fill(0, s * h, (s + 1) * h);
    for (let j = 0; j < this.batch.warmStart; j++) {
      const item = below(this.rngs, s, world.cfg.nItems);
      const r = world.respond(this.state, s * d, item, this.rngs, s);
      this.pushHistory(s, item, r);
    }
  }

  /** quit.rs `should_quit` over the first `filled` entries of slot s's window. */
  private shouldQuit(s: number, filled: number, cat: number, steps: number): boolean {
    const q = this.quit;
    const w = q.window;
    if (steps >= q.maxSteps) return true;
    if (q.maxSameCategory > 0) {
      let same = 0;
      for (let j = 0; j < filled; j++) if (this.winCats[s * w + j] === cat) same++;
      if (same >= q.maxSameCategory) return true;
    }
    if (this.minMean > 0 && filled === w) {
      let sum = -0;
      for (let j = 0; j < filled; j++) sum = f(sum + this.winRewards[s * w + j]);
      if (f(sum / filled) < this.minMean) return true;
    }
    return false;
  }

  /** One action per slot; writes rewards and dones (1 where an episode ended). */
  step(actions: Uint32Array, rewards: Float32Array, dones: Uint8Array): void {
    const b = this.batch.batchSize;
    if (actions.length !== b || rewards.length !== b || dones.length !== b) {
      throw new RangeError(`reference env: expected arrays of length ${b}`);
    }
    const world = this.world;
    const nItems = world.cfg.nItems;
    const d = world.cfg.dim;
    const w = this.quit.window;
    for (let s = 0; s < b; s++) {
      if (actions[s] >= nItems) throw new RangeError(`actions[${s}]: expected an item id < ${nItems}, got ${actions[s]}`);
    }
    for (let s = 0; s < b; s++) {
      if (this.done[s]) {
        rewards[s] = 0;
        dones[s] = 1;
        continue;
      }
      const a = actions[s];
      const user = this.users[s];
      const r = world.respond(this.state, s * d, a, this.rngs, s);
      rewards[s] = r;
      this.pushHistory(s, a, r);
      const cat = world.itemCats[a];
      const p = this.winPos[s];
      this.winCats[s * w + p] = cat;
      this.winRewards[s * w + p] = r;
      this.winPos[s] = (p + 1) % w;
      const filled = Math.min(this.winLen[s] + 1, w);
      this.winLen[s] = filled;
      const steps = this.steps[s] + 1;
      this.steps[s] = steps;
      this.epReward[s] = this.epReward[s] + r;
      const quit = this.shouldQuit(s, filled, cat, steps);
      dones[s] = quit ? 1 : 0;
      if (quit) {
        this.finished.push({ slot: s, user, totalReward: this.epReward[s], length: steps });
        if (this.batch.autoReset) this.resetSlot(s);
        else this.done[s] = 1;
      }
    }
  }

  /** Episodes finished since the last call. */
  drainEpisodes(): Episode[] {
    const out = this.finished;
    this.finished = [];
    return out;
  }

  /** B x H histories, oldest first, right-aligned, 0xFFFFFFFF where empty. */
  observe(items: Uint32Array, rewards: Float32Array): void {
    const { batchSize: b, history: h } = this.batch;
    for (let s = 0; s < b; s++) {
      const len = this.histLen[s];
      const pos = this.histPos[s];
      const pad = h - len;
      items.fill(0xffffffff, s * h, s * h + pad);
      rewards.fill(0, s * h, s * h + pad);
      for (let j = 0; j < len; j++) {
        const src = s * h + ((pos + h - len + j) % h);
        items[s * h + pad + j] = this.histItems[src];
        rewards[s * h + pad + j] = this.histRewards[src];
      }
    }
  }
}
