// A pure-TypeScript port of the `synthetic` environment (crates/sim: rng.rs,
// synthetic.rs, quit.rs, batch.rs), the baseline the native and wasm builds are
// measured against. It draws the same numbers and returns the same rewards, dones
// and episodes bit for bit (checked by __test__/bench-reference.test.ts):
//   - 64-bit integers (xoshiro256++, SplitMix64) are pairs of uint32 halves;
//   - every f32 operation is a double operation rounded by Math.fround, which is
//     exact for + - * / and sqrt (53 >= 2 * 24 + 2 bits);
//   - expf, logf and cosf are ports of the `libm` crate's versions (FreeBSD msun),
//     not Math.exp / Math.log / Math.cos, which differ in the last bit.
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

const TAU = f(2 * Math.PI);

/** Standard normal, Box-Muller (`Rng::normal`). */
function normal(s: RngStates, g: number): number {
  const u1 = ((nextHi(s, g) >>> 8) + 1) * TWO_M24;
  const u2 = (nextHi(s, g) >>> 8) * TWO_M24;
  return f(f(Math.sqrt(f(-2 * logf(u1)))) * cosf(f(TAU * u2)));
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

// k_cosf.c / k_sinf.c coefficients, written as in their source comments (exact).
const C0 = -0x1ffffffd0c5e81 * 2 ** -54;
const C1 = 0x155553e1053a42 * 2 ** -57;
const C2 = -0x16c087e80f1e27 * 2 ** -62;
const C3 = 0x199342e0ee5069 * 2 ** -68;
const S1 = -0x15555554cbac77 * 2 ** -55;
const S2 = 0x111110896efbb2 * 2 ** -59;
const S3 = -0x1a00f9e2cae774 * 2 ** -65;
const S4 = 0x16cd878c3b46a7 * 2 ** -71;

function kCosf(x: number): number {
  const z = x * x;
  const w = z * z;
  const r = C2 + z * C3;
  return f(1.0 + z * C0 + w * C1 + w * z * r);
}
function kSinf(x: number): number {
  const z = x * x;
  const w = z * z;
  const r = S3 + z * S4;
  const s = z * x;
  return f(x + s * (S1 + z * S2) + s * w * r);
}

const PIO2 = Math.PI / 2;

/** libm's cosf (s_cosf.c) for |x| <= 9 pi / 4 (Box-Muller passes [0, 2 pi)). */
export function cosf(x: number): number {
  const ix0 = bits(x);
  const sign = ix0 >>> 31 !== 0;
  const ix = ix0 & 0x7fffffff;
  if (ix <= 0x3f490fda) {
    if (ix < 0x39800000) return 1;
    return kCosf(x);
  }
  if (ix <= 0x407b53d1) {
    if (ix > 0x4016cbe3) return -kCosf(sign ? x + 2 * PIO2 : x - 2 * PIO2);
    return sign ? kSinf(x + PIO2) : kSinf(PIO2 - x);
  }
  if (ix <= 0x40e231d5) {
    if (ix > 0x40afeddf) return kCosf(sign ? x + 4 * PIO2 : x - 4 * PIO2);
    return sign ? kSinf(-x - 3 * PIO2) : kSinf(x - 3 * PIO2);
  }
  throw new RangeError(`cosf(${x}): outside the simulator's domain`);
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

/** Sum of squares from -0.0, then divide by the norm (synthetic.rs `normalise`). */
function normalise(v: Float32Array, o: number, d: number): void {
  let ss = -0;
  for (let k = 0; k < d; k++) ss = f(ss + f(v[o + k] * v[o + k]));
  const n = f(Math.sqrt(ss));
  if (n > 0) for (let k = 0; k < d; k++) v[o + k] = v[o + k] / n; // the store rounds to f32
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
    this.initScale = sqrtD;
  }

  /** Writes `user`'s state at the start of an episode into state[o .. o + d]. */
  initUser(user: number, state: Float32Array, o: number): void {
    const d = this.cfg.dim;
    const rng = this.userRng;
    // stream 0x0005_E500_0000_0000 | user
    seedStream(rng, 0, this.seedHi, this.seedLo, 0x0005e500, user >>> 0);
    const scale = f(0.3);
    for (let k = 0; k < d; k++) state[o + k] = f(scale * normal(rng, 0)) / this.initScale;
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
    let dot = -0;
    for (let k = 0; k < d; k++) dot = f(dot + f(state[o + k] * v[iv + k]));
    const mean = f(1 / f(1 + expf(f(-f(f(this.gain * dot) + this.bias)))));
    const r = Math.min(Math.max(f(mean + f(this.noise * normal(rngs, g))), 0), 1);
    if (this.drift > 0) {
      const eta = f(this.drift * r);
      for (let k = 0; k < d; k++) {
        const u = state[o + k];
        state[o + k] = u + f(eta * f(v[iv + k] - u));
      }
      normalise(state, o, d);
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
