// The builds of the Rust core behind one interface: the N-API addon
// (`@ialp/native`), the same addon built with libtorch (`npm run build:torch`,
// in packages/native/torch/; it alone can train with `compute: 'torch'`) and
// the WebAssembly module (`@ialp/wasm`).

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkAborted, IalpError, type Compute } from './options.js';

export type BackendKind = 'native' | 'native-torch' | 'wasm';

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
  /** Episodes finished since the last call: [slot, user, totalReward, length] each. */
  drainEpisodes(): Float64Array;
}

export interface RawWorld {
  readonly infoJson: string;
  inspectJson(validate: boolean): string;
  itemText(item: number): string;
  categoryNames(): string[];
  popularity(): Float32Array;
  userSplit(): { train: Uint32Array; heldOut: Uint32Array };
  userModel(): Uint8Array | null;
  preferenceRequestsJson(configJson: string): string;
  latestHistory(user: number, history: number): { items: Uint32Array; rewards: Float32Array };
}

export interface RawRewardModel {
  readonly history: number;
  score(histItems: Uint32Array, histRewards: Float32Array, items: Uint32Array): Float32Array;
}

export interface RewardExamplesInput {
  history: number;
  histItems: Uint32Array;
  histRewards: Float32Array;
  items: Uint32Array;
  labels: Float32Array;
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
  /** A-iALP_ap's adaptation per update (JSON), when it ran. */
  traceJson?: string | null;
}

export interface Backend {
  readonly kind: BackendKind;
  version(): string;
  environments(): string[];
  buildWorld(specJson: string, files: Map<string, Uint8Array>, userModel?: Uint8Array): Promise<RawWorld>;
  createEnv(specJson: string, world?: RawWorld): RawEnv;
  train(configJson: string, world: RawWorld | undefined, onProgress?: (progressJson: string) => void, signal?: AbortSignal, init?: Uint8Array, critic?: Uint8Array): Promise<RawTrainOutput>;
  pretrain(world: RawWorld, jobJson: string, critic?: Uint8Array): Promise<{ policy: Uint8Array; statsJson: string }>;
  evaluate(specJson: string, world: RawWorld | undefined, policy: Uint8Array | null, optionsJson: string): Promise<Float64Array>;
  loadPolicy(bytes: Uint8Array): RawPolicy;
  trainRewardModel(world: RawWorld, examples: RewardExamplesInput, configJson: string): Promise<{ model: Uint8Array; fitJson: string }>;
  loadRewardModel(bytes: Uint8Array): RawRewardModel;
}

// What the generated bindings export (see packages/native/index.d.ts and
// packages/wasm/dist/ialp_wasm.d.ts); only the parts used here.
type NativeWorld = RawWorld;
interface NativeModule {
  Env: new (specJson: string, world?: NativeWorld | null) => RawEnv;
  World: { build(specJson: string, files?: Record<string, Uint8Array> | null, userModel?: Uint8Array | null): Promise<NativeWorld> };
  Policy: { fromBytes(bytes: Uint8Array): RawPolicy };
  RewardModel: { fromBytes(bytes: Uint8Array): RawRewardModel };
  trainRewardModel(world: NativeWorld, examples: RewardExamplesInput, configJson: string): Promise<{ model: Uint8Array; fitJson: string }>;
  CancelToken: new () => { cancel(): void };
  version(): string;
  environments(): string[];
  train(configJson: string, world?: NativeWorld | null, onProgress?: ((json: string) => void) | null, cancel?: { cancel(): void } | null, init?: Uint8Array | null, critic?: Uint8Array | null): Promise<RawTrainOutput>;
  pretrain(world: NativeWorld, jobJson: string, critic?: Uint8Array | null): Promise<{ policy: Uint8Array; statsJson: string }>;
  evaluate(specJson: string, world: NativeWorld | null | undefined, policy: Uint8Array | null | undefined, optionsJson: string): Promise<Float64Array>;
}

interface WasmWorld {
  readonly infoJson: string;
  inspectJson(validate: boolean): string;
  itemText(item: number): string;
  categoryNames(): string[];
  popularity(): Float32Array;
  trainUsers(): Uint32Array;
  heldOutUsers(): Uint32Array;
  userModel(): Uint8Array | undefined;
  preferenceRequestsJson(configJson: string): string;
  latestHistoryItems(user: number, history: number): Uint32Array;
  latestHistoryRewards(user: number, history: number): Float32Array;
}
interface WasmModule {
  init(): Promise<unknown>;
  Env: { new (specJson: string): RawEnv; inWorld(specJson: string, world: WasmWorld): RawEnv };
  WorldBuilder: new (specJson: string) => { addFile(name: string, bytes: Uint8Array): void; setUserModel(bytes: Uint8Array): void; build(): WasmWorld; free(): void };
  Policy: { fromBytes(bytes: Uint8Array): RawPolicy };
  RewardModel: { fromBytes(bytes: Uint8Array): RawRewardModel };
  trainRewardModel(world: WasmWorld, history: number, histItems: Uint32Array, histRewards: Float32Array, items: Uint32Array, labels: Float32Array, configJson: string): { model: Uint8Array; fitJson: string };
  version(): string;
  environments(): string[];
  train(configJson: string, world: WasmWorld, onProgress?: (json: string) => boolean | void, init?: Uint8Array, critic?: Uint8Array): RawTrainOutput;
  pretrain(world: WasmWorld, jobJson: string, critic?: Uint8Array): { policy: Uint8Array; statsJson: string };
  evaluate(specJson: string, world: WasmWorld, policy: Uint8Array | undefined, optionsJson: string): Float64Array;
}

/** Raw worlds keep the binding's object for calls back into the same build. */
const handles = new WeakMap<RawWorld, unknown>();

const cache = new Map<BackendKind, Promise<Backend>>();

/**
 * The addon built with `--features torch`: packages/native/torch/ialp.<platform>.node,
 * or the file IALP_TORCH_ADDON names.
 */
export function torchAddonPath(): string {
  if (process.env.IALP_TORCH_ADDON) return process.env.IALP_TORCH_ADDON;
  const dir = join(dirname(fileURLToPath(import.meta.resolve('@ialp/native'))), 'torch');
  const libc = process.platform === 'linux' ? '-gnu' : process.platform === 'win32' ? '-msvc' : '';
  return join(dir, `ialp.${process.platform}-${process.arch}${libc}.node`);
}

async function importNative(kind: 'native' | 'native-torch'): Promise<NativeModule> {
  if (kind === 'native') return (await import('@ialp/native')) as unknown as NativeModule;
  const file = torchAddonPath();
  try {
    return createRequire(import.meta.url)(file) as NativeModule;
  } catch (e) {
    throw new IalpError(`compute "torch": the libtorch build of the addon did not load from ${file} ` +
      `(build it with \`bash scripts/setup-torch.sh && npm run build:torch\`): ${(e as Error).message}`);
  }
}

async function loadNative(kind: 'native' | 'native-torch' = 'native'): Promise<Backend> {
  const m = await importNative(kind);
  const handle = (w: RawWorld | undefined) => (w ? (handles.get(w) as NativeWorld) : null);
  return {
    kind,
    version: () => m.version(),
    environments: () => m.environments(),
    buildWorld: async (spec, files, userModel) => {
      const w = await m.World.build(spec, Object.fromEntries(files), userModel ?? null);
      const raw: RawWorld = {
        get infoJson() { return w.infoJson; },
        inspectJson: (v) => w.inspectJson(v),
        itemText: (i) => w.itemText(i),
        categoryNames: () => w.categoryNames(),
        popularity: () => w.popularity(),
        userSplit: () => w.userSplit(),
        userModel: () => w.userModel(),
        preferenceRequestsJson: (c) => w.preferenceRequestsJson(c),
        latestHistory: (u, h) => w.latestHistory(u, h),
      };
      handles.set(raw, w);
      return raw;
    },
    createEnv: (spec, world) => new m.Env(spec, handle(world)),
    // An AbortSignal cannot stop work already running on the thread pool, so
    // it is relayed to a token the trainer checks after every update.
    train: async (cfg, world, onProgress, signal, init, critic) => {
      checkAborted(signal);
      const token = new m.CancelToken();
      const onAbort = () => token.cancel();
      signal?.addEventListener('abort', onAbort, { once: true });
      let received = 0;
      let thrown: unknown;
      // An exception thrown by the caller's callback stops training and rejects
      // the promise, as with the wasm build (it must not escape as uncaught).
      const relay = onProgress
        ? (json: string) => {
            received++;
            if (thrown !== undefined) return;
            try {
              onProgress(json);
            } catch (e) {
              thrown = e;
              token.cancel();
            }
          }
        : null;
      try {
        const out = await m.train(cfg, handle(world), relay, token, init ?? null, critic ?? null);
        // Progress events travel separately from the result: deliver every one
        // (one per update) before resolving.
        const deadline = Date.now() + 5000;
        while (relay && received < out.updates && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 1));
        }
        if (thrown !== undefined) throw thrown instanceof Error ? thrown : new IalpError(`onProgress threw: ${String(thrown)}`);
        checkAborted(signal);
        return out;
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    },
    evaluate: (spec, world, policy, options) => m.evaluate(spec, handle(world), policy, options),
    loadPolicy: (bytes) => m.Policy.fromBytes(bytes),
    trainRewardModel: (world, ex, cfg) => m.trainRewardModel(handles.get(world) as NativeWorld, ex, cfg),
    pretrain: (world, job, critic) => m.pretrain(handles.get(world) as NativeWorld, job, critic ?? null),
    loadRewardModel: (bytes) => m.RewardModel.fromBytes(bytes),
  };
}

async function loadWasm(): Promise<Backend> {
  const m = (await import('@ialp/wasm')) as unknown as WasmModule;
  await m.init();
  // Every call names its world: one is built from the spec when none is given.
  const handle = (w: RawWorld | undefined, spec: string) =>
    w ? (handles.get(w) as WasmWorld) : new m.WorldBuilder(spec).build();
  return {
    kind: 'wasm',
    version: () => m.version(),
    environments: () => m.environments(),
    buildWorld: async (spec, files, userModel) => {
      const b = new m.WorldBuilder(spec);
      try {
        for (const [name, bytes] of files) b.addFile(name, bytes);
        if (userModel) b.setUserModel(userModel);
        const w = b.build();
        const raw: RawWorld = {
          get infoJson() { return w.infoJson; },
          inspectJson: (v) => w.inspectJson(v),
          itemText: (i) => w.itemText(i),
          categoryNames: () => w.categoryNames(),
          popularity: () => w.popularity(),
          userSplit: () => ({ train: w.trainUsers(), heldOut: w.heldOutUsers() }),
          userModel: () => w.userModel() ?? null,
          preferenceRequestsJson: (c) => w.preferenceRequestsJson(c),
          latestHistory: (u, h) => ({ items: w.latestHistoryItems(u, h), rewards: w.latestHistoryRewards(u, h) }),
        };
        handles.set(raw, w);
        return raw;
      } finally {
        b.free();
      }
    },
    createEnv: (spec, world) => (world ? m.Env.inWorld(spec, handle(world, spec)) : new m.Env(spec)),
    // The wasm build runs on the calling thread, which it keeps until training
    // ends: the signal is checked after every update, so an abort from
    // onProgress stops it, but timers and events cannot run meanwhile. In a
    // browser, train in a Web Worker and terminate the worker to stop it.
    train: async (cfg, world, onProgress, signal, init, critic) => {
      checkAborted(signal);
      const out = m.train(cfg, handle(world, JSON.stringify((JSON.parse(cfg) as { env: unknown }).env)), (json) => {
        onProgress?.(json);
        return !signal?.aborted;
      }, init, critic);
      checkAborted(signal);
      return out;
    },
    evaluate: async (spec, world, policy, options) => m.evaluate(spec, handle(world, spec), policy ?? undefined, options),
    loadPolicy: (bytes) => m.Policy.fromBytes(bytes),
    trainRewardModel: async (world, ex, cfg) => {
      const out = m.trainRewardModel(handles.get(world) as WasmWorld, ex.history, ex.histItems, ex.histRewards, ex.items, ex.labels, cfg);
      return { model: out.model, fitJson: out.fitJson };
    },
    loadRewardModel: (bytes) => m.RewardModel.fromBytes(bytes),
    pretrain: async (world, job, critic) => {
      const out = m.pretrain(handles.get(world) as WasmWorld, job, critic);
      return { policy: out.policy, statsJson: out.statsJson };
    },
  };
}

/** The backend that can train with `compute` (`torch` needs the native-torch build). */
export function backendFor(compute: Compute | undefined, backend: BackendKind | 'auto' | undefined): BackendKind | 'auto' {
  if (compute === undefined || compute === 'ndarray') return backend ?? 'auto';
  if (compute !== 'torch') throw new IalpError(`a2c.compute: expected "ndarray" or "torch", got ${JSON.stringify(compute)}`);
  if (backend !== undefined && backend !== 'auto' && backend !== 'native-torch') {
    throw new IalpError(`a2c.compute: "torch" runs in the native-torch build, not the ${backend} build`);
  }
  return 'native-torch';
}


/** The platform package napi-rs's loader looks for here, e.g. `@ialp/native-linux-x64-gnu`. */
export function nativePackageName(platform: string = process.platform, arch: string = process.arch): string {
  const abi = platform === 'linux' ? '-gnu' : platform === 'win32' ? '-msvc' : '';
  return `@ialp/native-${platform}-${arch}${abi}`;
}

async function loadNativeOrExplain(): Promise<Backend> {
  try {
    return await loadNative();
  } catch (e) {
    // napi-rs's loader says "Cannot find native binding" and chains the reasons
    // (one per file or package it tried) through `cause`.
    const first = (x: unknown) => String((x as Error)?.message ?? x).split('\n')[0];
    const reasons: string[] = [];
    for (let c = (e as Error).cause; c && reasons.length < 8; c = (c as Error).cause) reasons.push(first(c));
    // (napi-rs's own WASI fallback, which this package does not ship, is left out.)
    const why = reasons.filter((r) => !/wasi/.test(r)).join('; ') || first(e);
    throw new IalpError(
      `backend "native": the native addon did not load on ${process.platform}-${process.arch} (${why}); ` +
        `install ${nativePackageName()} (an optional dependency of @ialp/native), or use the WebAssembly build (backend "wasm", IALP_BACKEND=wasm)`,
    );
  }
}

/** What `auto` means: the IALP_BACKEND environment variable when set, else native with the wasm fallback. */
function autoKind(): BackendKind | 'auto' {
  const v = process.env.IALP_BACKEND;
  if (v === undefined || v === '' || v === 'auto') return 'auto';
  if (v === 'native' || v === 'wasm') return v;
  throw new IalpError(`IALP_BACKEND: expected "native", "wasm" or "auto", got ${JSON.stringify(v)}`);
}

let fallback: Promise<Backend> | undefined;

/**
 * Loads a build of the core. `auto` (the default) follows IALP_BACKEND when it is
 * set, else prefers native and falls back to wasm with one warning per process.
 * `native` where the addon cannot load is an error, never a silent fallback.
 * `auto` never picks native-torch.
 */
export function loadBackend(kind: BackendKind | 'auto' = 'auto'): Promise<Backend> {
  if (kind !== 'native' && kind !== 'native-torch' && kind !== 'wasm' && kind !== 'auto') {
    return Promise.reject(new IalpError(`backend: expected "native", "native-torch", "wasm" or "auto", got ${JSON.stringify(kind)}`));
  }
  if (kind === 'auto') {
    let resolved: BackendKind | 'auto';
    try {
      resolved = autoKind();
    } catch (e) {
      return Promise.reject(e as Error);
    }
    if (resolved !== 'auto') return loadBackend(resolved);
    fallback ??= loadBackend('native').catch((err: unknown) => {
      process.emitWarning(
        `${(err as Error).message.replace(/^backend "native": /, 'ialp: ').replace(/; install .*$/, '')}; using the WebAssembly build instead (slower). ` +
          `Install ${nativePackageName()} for the native build, or set IALP_BACKEND=wasm to choose WebAssembly and silence this warning.`,
        { code: 'IALP_WASM_FALLBACK' },
      );
      return loadBackend('wasm');
    });
    fallback.catch(() => (fallback = undefined));
    return fallback;
  }
  let p = cache.get(kind);
  if (!p) {
    p = kind === 'wasm' ? loadWasm() : kind === 'native' ? loadNativeOrExplain() : loadNative(kind);
    p.catch(() => cache.delete(kind));
    cache.set(kind, p);
  }
  return p;
}
