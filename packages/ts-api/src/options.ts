// Typed options with their defaults. The defaults themselves live in the Rust
// core (one source of truth); the comments here repeat them for readers.

/** When a simulated user leaves. */
export interface QuitOptions {
  /** W: recommendations the user remembers. Default 5. */
  window?: number;
  /** Quit once this many of the last W share the current category (0 = off). Default 3. */
  maxSameCategory?: number;
  /** Quit once the mean reward over a full window drops below this (0 = off). Default 0.25. */
  minMeanReward?: number;
  /** T: the most steps of an episode. Default 50. */
  maxSteps?: number;
}

/** The `synthetic` world: a seeded latent-topic population. */
export interface SyntheticOptions {
  /** Default 10,000. */
  nUsers?: number;
  /** Default 500. */
  nItems?: number;
  /** Default 10. */
  nCategories?: number;
  /** Latent dimension d. Default 16. */
  dim?: number;
  /** Categories each user favours. Default 2. */
  userFocus?: number;
  itemSpread?: number;
  gain?: number;
  bias?: number;
  noise?: number;
  /** Interest drift per step. Default 0.05. */
  drift?: number;
  featureNoise?: number;
  /** Seed of the world itself (items, users). Default 0. */
  seed?: number;
}

export interface EnvOptions {
  /** Environment name; see `environments()`. Default "synthetic". */
  name?: string;
  /** B: users stepped together. Default 64. */
  batchSize?: number;
  /** H: interactions in an observation. Default 10. */
  history?: number;
  /** Random interactions already in a new user's history. Default 3. */
  warmStart?: number;
  /** Replace users who quit within the same step. Default true. */
  autoReset?: boolean;
  /** Seed of the episodes (which users arrive, reward noise). Default 0. */
  seed?: number;
  /** Threads stepping large batches (one per 4,096 users at most; results do not depend on it). Default 1. */
  threads?: number;
  quit?: QuitOptions;
  synthetic?: SyntheticOptions;
  dataset?: DatasetOptions;
}

/** Dataset environments (movielens, coat, kuairec, kuairand). */
export interface DatasetOptions {
  /** The matrix factorisation completing the reward matrix. Defaults: dim 16, 40 epochs, lr 0.01, reg 0.05. */
  userModel?: { dim?: number; epochs?: number; lr?: number; reg?: number; initStd?: number; seed?: number };
  /** Noise on each simulated reward (0-1 scale). Default 0.05. */
  noise?: number;
  /** Share of users held out for online deployment. Default 0.2. */
  heldOutFraction?: number;
  splitSeed?: number;
}

export interface A2cOptions {
  /** T: steps per user slot per update. Default 8. */
  nSteps?: number;
  /** Discount. Default 0.9. */
  gamma?: number;
  /** GAE lambda. Default 0.95. */
  gaeLambda?: number;
  normalizeAdvantages?: boolean;
  loss?: { entropyCoef?: number; valueCoef?: number };
  adam?: { lr?: number; beta1?: number; beta2?: number; eps?: number; maxGradNorm?: number };
  net?: { hidden?: number; depth?: number; embedDim?: number };
  /** Backend of the networks: "ndarray" (pure Rust) or "torch" (libtorch; needs `npm run build:torch`). Default "ndarray". */
  compute?: Compute;
  /** Device of the torch backend: "auto" (CUDA when present), "cpu" or "cuda". Default "auto". */
  device?: 'auto' | 'cpu' | 'cuda';
}

/** What computes the actor-critic networks. */
export type Compute = 'ndarray' | 'torch';

export class IalpError extends Error {
  override name = 'IalpError';
}

/** Thrown when work is stopped through an AbortSignal. */
export class AbortError extends Error {
  override name = 'AbortError';
  constructor(readonly reason?: unknown) {
    super(reason instanceof Error ? reason.message : 'the operation was aborted');
  }
}

/** Throws an AbortError if `signal` has been aborted. */
export function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(signal.reason);
}

/** Throws a named error unless `value` is an integer in [min, max]. */
export function checkInt(what: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new IalpError(`${what}: expected an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

/** Throws a named error unless `value` is an instance of `type` (a typed array
 * of the right kind: a Float64Array of item ids is refused, never converted).
 * The wasm build's own check says the same, in the same words. */
export function checkTypedArray<T>(what: string, value: unknown, type: abstract new (...args: never[]) => T): T {
  if (!(value instanceof type)) {
    const got = value === null ? 'null' : typeof value === 'object' ? (value.constructor?.name ?? 'an object') : typeof value;
    throw new IalpError(`${what}: expected a ${type.name}, got ${got}`);
  }
  return value;
}

/** Throws a named error unless `value` is a finite number in [min, max]. */
export function checkNumber(what: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new IalpError(`${what}: expected a number in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

/** H: the longest history anything accepts (the core's `ialp_sim::limits::MAX_HISTORY`). */
export const MAX_HISTORY = 4096;

/** The JSON environment spec the Rust core reads. */
export function envSpec(o: EnvOptions = {}): object {
  if (o.batchSize !== undefined) checkInt('batchSize', o.batchSize, 1, 1 << 24);
  if (o.history !== undefined) checkInt('history', o.history, 1, MAX_HISTORY);
  if (o.seed !== undefined) checkInt('seed', o.seed, 0, 2 ** 32 - 1);
  if (o.threads !== undefined) checkInt('threads', o.threads, 1, 256);
  return {
    name: o.name ?? 'synthetic',
    batch: { batchSize: o.batchSize, history: o.history, warmStart: o.warmStart, autoReset: o.autoReset, seed: o.seed, threads: o.threads },
    quit: o.quit,
    synthetic: o.synthetic,
    dataset: o.dataset,
  };
}
