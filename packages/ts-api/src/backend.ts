// The Rust core behind one interface, whichever build loaded it (builds.ts).
// Every build exports the same surface, declared once in the core
// (crates/ac-core/src/api.rs): requests and records cross as objects, artefacts
// and per-item or per-episode numbers as typed arrays. The classes and typed
// arrays are typed by napi's declarations for crates/node (packages/native/
// index.d.ts), the requests and records by those generated from the Rust types
// (core-types.ts). The wasm build answers synchronously, so every call is awaited.

import type * as Core from '@ialp/native';
import { loadBuild, type BackendKind, type CoreModule } from './builds.js';
import type * as T from './core-types.js';
import { checkAborted, checkFinite, checkTypedArray, IalpError } from './options.js';

export { backendFor, nativePackageName, torchAddonPath, type BackendKind } from './builds.js';

type Req<X> = T.Request<X>;
export type RawWorld = Omit<Core.World, 'info' | keyof T.WorldQueries> & T.WorldQueries & { readonly info: T.WorldInfo };
export type RawEnv = Core.Env;
export type RawPolicy = Omit<Core.Policy, 'meta'> & { readonly meta: T.PolicyMeta };
export type RawRewardModel = Core.RewardModel;
export type RewardExamplesInput = Core.RewardExamplesInput;
export type TrainOutput = Omit<Core.TrainOutput, 'trace'> & { trace?: T.AdaptiveTrace[] | null };

export interface Backend {
  readonly kind: BackendKind;
  version(): string;
  environments(): string[];
  buildWorld(spec: Req<T.EnvSpec>, files: Map<string, Uint8Array>, userModel?: Uint8Array): Promise<RawWorld>;
  /** An environment of `spec`, over `world` when given (dataset environments need one). */
  createEnv(spec: Req<T.EnvSpec>, world?: RawWorld): RawEnv;
  /** Online training; `onProgress` gets each update's record, `signal` stops it after the current update. */
  train(config: Req<T.TrainConfig>, world: RawWorld, onProgress?: (progress: T.Progress) => void, signal?: AbortSignal,
    init?: Uint8Array, critic?: Uint8Array): Promise<TrainOutput>;
  pretrain(world: RawWorld, job: Req<T.PretrainJob>, critic?: Uint8Array): Promise<{ policy: Uint8Array; stats: T.PretrainStats }>;
  /** `[slot, user, totalReward, length]` per episode. */
  evaluate(spec: Req<T.EnvSpec>, world: RawWorld, artefact: Uint8Array | null, options: Req<T.EvalOptions>): Promise<Float64Array>;
  loadPolicy(bytes: Uint8Array): RawPolicy;
  trainRewardModel(world: RawWorld, examples: RewardExamplesInput, config: Req<T.RewardModelConfig>): Promise<{ model: Uint8Array; fit: T.RewardFit }>;
  loadRewardModel(bytes: Uint8Array): RawRewardModel;
}

/**
 * Training with an AbortSignal and a progress callback on either build. The
 * native build trains on the thread pool, the wasm one on this thread until it
 * ends (in a browser, train in a Web Worker); either checks the token after
 * every update, so an abort or an exception from `onProgress` stops it there.
 */
async function train(m: CoreModule, config: Req<T.TrainConfig>, world: RawWorld, onProgress?: (p: T.Progress) => void,
  signal?: AbortSignal, init?: Uint8Array, critic?: Uint8Array): Promise<TrainOutput> {
  checkAborted(signal);
  const token = new m.CancelToken();
  const onAbort = () => token.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  let received = 0;
  let thrown: unknown;
  const relay = onProgress
    ? (p: unknown) => {
        received++;
        if (thrown !== undefined) return;
        try {
          onProgress(p as T.Progress);
        } catch (e) {
          thrown = e; // it must not escape as uncaught: training stops and the promise rejects
          token.cancel();
        }
      }
    : null;
  try {
    const out = await m.train(checkFinite('training config', config), world as Core.World, relay, token, init ?? null, critic ?? null);
    // Native progress events travel separately from the result: deliver every
    // one (one per update) before resolving.
    const deadline = Date.now() + 5000;
    while (relay && received < out.updates && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
    if (thrown !== undefined) throw thrown instanceof Error ? thrown : new IalpError(`onProgress threw: ${String(thrown)}`);
    checkAborted(signal);
    return out;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Deepest nesting of a spec, config or options object handed to the core. */
export const MAX_NESTING = 32;
/** Most values (numbers, strings, objects) in one such object. */
export const MAX_VALUES = 1_000_000;

/**
 * `v` unless it nests deeper than MAX_NESTING (a cycle nests without end) or
 * holds more than MAX_VALUES values as the core would read it (an object
 * shared at every level doubles per level): a value 100,000 arrays deep
 * overflowed the wasm build's stack, and the trap left the module answering
 * "memory access out of bounds" to every later call; napi refused it without
 * naming the argument. Walked without recursion.
 */
export function checkNesting<T>(what: string, v: T): T {
  const stack: [unknown, number, string][] = [[v, 0, what]];
  let values = 0;
  while (stack.length) {
    const [x, depth, at] = stack.pop()!;
    if (++values > MAX_VALUES) throw new IalpError(`${what}: more than ${MAX_VALUES} values (expected a plain options object)`);
    if (typeof x !== 'object' || x === null || ArrayBuffer.isView(x)) continue;
    if (depth >= MAX_NESTING) throw new IalpError(`${at}: nested more than ${MAX_NESTING} deep, or it refers to itself (expected a plain options object)`);
    for (const [k, y] of Object.entries(x)) stack.push([y, depth + 1, Array.isArray(x) ? `${at}[${k}]` : `${at}.${k}`]);
  }
  return v;
}

/** `v` unless it is given and not a Uint8Array (a Buffer is one). */
function optionalBytes<T>(what: string, v: T): T {
  if (v !== undefined && v !== null) checkTypedArray(what, v, Uint8Array);
  return v;
}

/** The reward-model examples, each array of its own kind. */
function checkExamples(e: RewardExamplesInput): RewardExamplesInput {
  if (typeof e !== 'object' || e === null) throw new IalpError(`examples: expected an object of typed arrays, got ${e === null ? 'null' : typeof e}`);
  checkTypedArray('examples.histItems', e.histItems, Uint32Array);
  checkTypedArray('examples.histRewards', e.histRewards, Float32Array);
  checkTypedArray('examples.items', e.items, Uint32Array);
  checkTypedArray('examples.labels', e.labels, Float32Array);
  return e;
}

type Kind = abstract new (...args: never[]) => unknown;

/**
 * `obj` with each named method checking its leading typed-array arguments
 * first (own properties shadowing the class's methods), so that the objects
 * the surface returns (an Env, a Policy, a RewardModel) name a wrong argument
 * on either build as the surface itself does.
 */
function namedArgs<T extends object>(obj: T, methods: Record<string, [string, Kind][]>): T {
  const o = obj as Record<string, unknown>;
  for (const [name, args] of Object.entries(methods)) {
    const f = o[name] as ((...a: unknown[]) => unknown) | undefined;
    if (typeof f !== 'function') continue;
    Object.defineProperty(obj, name, {
      configurable: true,
      value: (...a: unknown[]) => {
        args.forEach(([what, kind], i) => checkTypedArray(what, a[i], kind));
        return f.apply(obj, a);
      },
    });
  }
  return obj;
}

const ENV_ARGS: Record<string, [string, Kind][]> = {
  step: [['actions', Uint32Array], ['rewards', Float32Array], ['dones', Uint8Array]],
  observe: [['items', Uint32Array], ['rewards', Float32Array]],
  setUserPool: [['users', Uint32Array]],
};
const POLICY_ARGS: Record<string, [string, Kind][]> = { recommend: [['items', Uint32Array], ['rewards', Float32Array]] };
const REWARD_MODEL_ARGS: Record<string, [string, Kind][]> = { score: [['histItems', Uint32Array], ['histRewards', Float32Array], ['items', Uint32Array]] };

/**
 * Every typed-array argument of the surface is checked here, for both builds,
 * so that a wrong kind is the same error naming the argument on either
 * (napi's own says "Expected a TypedArray value" without a name, and the
 * wasm glue would convert some where napi refuses).
 */

// The records the builds return are those core-types.ts declares (napi types them `any`).
const typed = <X>(value: unknown) => value as X;
/** An object for the core: not nested without end (checkNesting), no NaN or infinity in it (they cannot cross as objects). */
const request = <X>(arg: string, what: string, v: X) => checkFinite(what, checkNesting(arg, v));
const spec = (s: Req<T.EnvSpec>) => request('spec', 'environment spec', s);
function adapt(kind: BackendKind, m: CoreModule): Backend {
  return {
    kind,
    version: () => m.version(),
    environments: () => m.environments(),
    buildWorld: async (s, files, userModel) => {
      for (const [name, bytes] of files) checkTypedArray(`files[${JSON.stringify(name)}]`, bytes, Uint8Array);
      return typed(await m.World.build(spec(s), Object.fromEntries(files), optionalBytes('userModel', userModel) ?? null));
    },
    createEnv: (s, world) => namedArgs(world ? (world as Core.World).env(spec(s)) : new m.Env(spec(s)), ENV_ARGS),
    train: (config, world, onProgress, signal, init, critic) =>
      train(m, checkNesting('config', config), world, onProgress, signal, optionalBytes('init', init), optionalBytes('critic', critic)),
    pretrain: async (world, job, critic) =>
      typed(await m.pretrain(world as Core.World, request('job', 'pre-training config', job), optionalBytes('critic', critic) ?? null)),
    evaluate: async (s, world, artefact, options) =>
      m.evaluate(spec(s), world as Core.World, optionalBytes('artefact', artefact), request('options', 'evaluation options', options)),
    loadPolicy: (bytes) => namedArgs(typed(m.Policy.fromBytes(checkTypedArray('bytes', bytes, Uint8Array))), POLICY_ARGS),
    trainRewardModel: async (world, examples, config) =>
      typed(await m.trainRewardModel(world as Core.World, checkExamples(examples), request('config', 'reward model config', config))),
    loadRewardModel: (bytes) => namedArgs(m.RewardModel.fromBytes(checkTypedArray('bytes', bytes, Uint8Array)), REWARD_MODEL_ARGS),
  };
}

const adapted = new Map<BackendKind, Backend>();

/**
 * Loads a build of the core (see `loadBuild`): `auto` (the default) follows
 * IALP_BACKEND when set, else prefers native and falls back to wasm with one
 * warning per process; `native` where the addon cannot load is an error.
 */
export async function loadBackend(kind: BackendKind | 'auto' = 'auto'): Promise<Backend> {
  const build = await loadBuild(kind);
  let b = adapted.get(build.kind);
  if (!b) adapted.set(build.kind, (b = adapt(build.kind, build.core)));
  return b;
}
