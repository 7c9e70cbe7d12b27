// The options of the library. Those the core reads are its own types
// (core-types.ts, generated from the Rust config structs) as requests: every
// member optional. Their defaults are the core's, in one place: the Rust
// `Default` impls, published as `CORE_DEFAULTS`; the core checks every value,
// naming the field, so nothing here checks them again.

import type { A2cConfig, DatasetConfig, EnvSpec, QuitConfig, Request, SyntheticConfig } from './core-types.js';

export type { Compute } from './core-types.js';

/** When a simulated user leaves (defaults: the environment's, `WorldInfo.quit`). */
export type QuitOptions = Request<QuitConfig>;

/** The `synthetic` world: a seeded latent-topic population (defaults: `CORE_DEFAULTS.train.env.synthetic`). */
export type SyntheticOptions = Request<SyntheticConfig>;

/** The environment: its name and the batch settings (defaults: `CORE_DEFAULTS.train.env.batch`). */
export interface EnvOptions {
  /** Environment name; see `environments()`. Default "synthetic". */
  name?: string;
  /** B: users stepped together. */
  batchSize?: number;
  /** H: interactions in an observation. */
  history?: number;
  /** Random interactions already in a new user's history. */
  warmStart?: number;
  /** Replace users who quit within the same step. */
  autoReset?: boolean;
  /** Seed of the episodes (which users arrive, reward noise). */
  seed?: number;
  /** Threads stepping large batches (one per 4,096 users at most) and, in training and
   * evaluation, computing the network's large products; results do not depend on it. */
  threads?: number;
  quit?: QuitOptions;
  synthetic?: SyntheticOptions;
  dataset?: DatasetOptions;
}

/** Dataset environments (movielens, coat, kuairec, kuairand); defaults: `CORE_DEFAULTS.train.env.dataset`. */
export type DatasetOptions = Request<DatasetConfig>;

/** A2C's settings (defaults: `CORE_DEFAULTS.train.a2c`); `compute: "torch"` needs `npm run build:torch`. */
export type A2cOptions = Request<A2cConfig>;

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

/**
 * Returns the request `value` once no number in it is NaN or infinite, else
 * throws an error naming `what` and the member (`training config:
 * a2c.adam.lr: ...`). The core checks every setting itself, naming the field;
 * only this it cannot: such numbers do not survive the trip as an object.
 */
export function checkFinite<T>(what: string, value: T): T {
  const walk = (v: unknown, path: string, depth: number): void => {
    if (typeof v === 'number' && !Number.isFinite(v)) {
      throw new IalpError(`${what}: ${path || '(the request)'}: expected a finite number, got ${String(v)}`);
    }
    if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v) || depth > 32) return;
    for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k, depth + 1);
  };
  walk(value, '', 0);
  return value;
}

/** H: the longest history anything accepts (the core's `ialp_sim::limits::MAX_HISTORY`). */
export const MAX_HISTORY = 4096;

/** The environment spec the Rust core reads (which checks it, naming each field). */
export function envSpec(o: EnvOptions = {}): Request<EnvSpec> {
  return {
    name: o.name ?? 'synthetic',
    batch: { batchSize: o.batchSize, history: o.history, warmStart: o.warmStart, autoReset: o.autoReset, seed: o.seed, threads: o.threads },
    quit: o.quit,
    synthetic: o.synthetic,
    dataset: o.dataset,
  };
}
