// The two builds of the Rust core behind one interface: the N-API addon
// (`@ialp/native`) and the WebAssembly module (`@ialp/wasm`).

import { checkAborted, IalpError } from './options.js';

export type BackendKind = 'native' | 'wasm';

export interface RawEnv {
  readonly batchSize: number;
  readonly history: number;
  readonly nItems: number;
  readonly nUsers: number;
  readonly nCategories: number;
  readonly featureDim: number;
  readonly name: string;
  step(actions: Uint32Array, rewards: Float32Array, dones: Uint8Array): void;
  observe(items: Uint32Array, rewards: Float32Array): void;
  reset(): void;
  setUserPool(users: Uint32Array): void;
  itemCategories(): Uint32Array;
  itemFeatures(): Float32Array;
}

export interface RawPolicy {
  readonly nItems: number;
  readonly history: number;
  readonly metaJson: string;
  recommend(items: Uint32Array, rewards: Float32Array, k: number, excludeSeen: boolean): { items: Uint32Array; scores: Float32Array };
  toBytes(): Uint8Array;
}

export interface RawTrainOutput {
  policy: Uint8Array;
  /** [slot, user, totalReward, length] per finished episode. */
  episodes: Float64Array;
  updates: number;
  envSteps: number;
}

export interface Backend {
  readonly kind: BackendKind;
  version(): string;
  environments(): string[];
  createEnv(specJson: string): RawEnv;
  /** Episodes finished since the last call, flat as in RawTrainOutput. */
  drainEpisodes(env: RawEnv): Float64Array;
  train(configJson: string, onProgress?: (progressJson: string) => void, signal?: AbortSignal): Promise<RawTrainOutput>;
  evaluate(specJson: string, policy: Uint8Array | null, episodes: number, seed: number, greedy: boolean): Promise<Float64Array>;
  loadPolicy(bytes: Uint8Array): RawPolicy;
}

interface NativeModule {
  Env: new (specJson: string) => RawEnv & { drainEpisodes(): Float64Array };
  Policy: { fromBytes(bytes: Uint8Array): RawPolicy };
  CancelToken: new () => { cancel(): void };
  version(): string;
  environments(): string[];
  train(configJson: string, onProgress?: ((json: string) => void) | null, cancel?: { cancel(): void } | null): Promise<RawTrainOutput>;
  evaluate(specJson: string, policy: Uint8Array | null, episodes: number, seed: number, greedy: boolean): Promise<Float64Array>;
}

interface WasmModule {
  init(): Promise<unknown>;
  Env: new (specJson: string) => RawEnv & { drainEpisodes(): Float64Array };
  Policy: { fromBytes(bytes: Uint8Array): RawPolicy };
  version(): string;
  environments(): string[];
  train(configJson: string, onProgress?: (json: string) => boolean | void): RawTrainOutput;
  evaluate(specJson: string, policy: Uint8Array | undefined, episodes: number, seed: number, greedy: boolean): Float64Array;
}

const cache = new Map<BackendKind, Promise<Backend>>();

async function loadNative(): Promise<Backend> {
  const m = (await import('@ialp/native')) as unknown as NativeModule;
  return {
    kind: 'native',
    version: () => m.version(),
    environments: () => m.environments(),
    createEnv: (spec) => new m.Env(spec),
    drainEpisodes: (env) => (env as RawEnv & { drainEpisodes(): Float64Array }).drainEpisodes(),
    // An AbortSignal cannot stop work already running on the thread pool, so
    // it is relayed to a token the trainer checks after every update.
    train: async (cfg, onProgress, signal) => {
      checkAborted(signal);
      const token = new m.CancelToken();
      const onAbort = () => token.cancel();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const out = await m.train(cfg, onProgress ?? null, token);
        checkAborted(signal);
        return out;
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    },
    evaluate: (spec, policy, episodes, seed, greedy) => m.evaluate(spec, policy, episodes, seed, greedy),
    loadPolicy: (bytes) => m.Policy.fromBytes(bytes),
  };
}

async function loadWasm(): Promise<Backend> {
  const m = (await import('@ialp/wasm')) as unknown as WasmModule;
  await m.init();
  return {
    kind: 'wasm',
    version: () => m.version(),
    environments: () => m.environments(),
    createEnv: (spec) => new m.Env(spec),
    drainEpisodes: (env) => (env as RawEnv & { drainEpisodes(): Float64Array }).drainEpisodes(),
    // The wasm build runs on the calling thread; the signal is checked between updates.
    train: async (cfg, onProgress, signal) => {
      checkAborted(signal);
      const out = m.train(cfg, (json) => {
        onProgress?.(json);
        return !signal?.aborted;
      });
      checkAborted(signal);
      return out;
    },
    evaluate: async (spec, policy, episodes, seed, greedy) => m.evaluate(spec, policy ?? undefined, episodes, seed, greedy),
    loadPolicy: (bytes) => m.Policy.fromBytes(bytes),
  };
}

/** Loads a build of the core; `auto` prefers native and falls back to wasm. */
export function loadBackend(kind: BackendKind | 'auto' = 'auto'): Promise<Backend> {
  if (kind !== 'native' && kind !== 'wasm' && kind !== 'auto') {
    return Promise.reject(new IalpError(`backend: expected "native", "wasm" or "auto", got ${JSON.stringify(kind)}`));
  }
  if (kind === 'auto') {
    return loadBackend('native').catch((err: unknown) => {
      process.emitWarning(`ialp: the native addon did not load (${(err as Error).message}); using the WebAssembly build`);
      return loadBackend('wasm');
    });
  }
  let p = cache.get(kind);
  if (!p) {
    p = kind === 'native' ? loadNative() : loadWasm();
    p.catch(() => cache.delete(kind));
    cache.set(kind, p);
  }
  return p;
}
