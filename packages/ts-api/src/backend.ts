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
import { checkExamples, checkNesting, ENV_ARGS, namedArgs, optionalBytes, POLICY_ARGS, REWARD_MODEL_ARGS, WORLD_ARGS } from './boundary.js';
import { checkFinite, checkTypedArray } from './options.js';
import { trainRelayed } from './training-relay.js';

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

// The records the builds return are those core-types.ts declares (napi types them `any`).
const typed = <X>(value: unknown) => value as X;
/** An object for the core: not nested without end (checkNesting), no NaN or infinity in it (they cannot cross as objects). */
const request = <X>(arg: string, what: string, v: X) => checkFinite(what, checkNesting(arg, v));
const spec = (s: Req<T.EnvSpec>) => request('spec', 'environment spec', s);

/** Every argument of the surface checked here, for both builds, so that a wrong one is the same error naming it on either (napi's own names none). */
function adapt(kind: BackendKind, m: CoreModule): Backend {
  return {
    kind,
    version: () => m.version(),
    environments: () => m.environments(),
    buildWorld: async (s, files, userModel) => {
      for (const [name, bytes] of files) checkTypedArray(`files[${JSON.stringify(name)}]`, bytes, Uint8Array);
      return namedArgs(typed<RawWorld>(await m.World.build(spec(s), Object.fromEntries(files), optionalBytes('userModel', userModel) ?? null)), WORLD_ARGS);
    },
    createEnv: (s, world) => namedArgs(world ? (world as Core.World).env(spec(s)) : new m.Env(spec(s)), ENV_ARGS),
    train: (config, world, onProgress, signal, init, critic) =>
      trainRelayed(m, checkNesting('config', config), world, onProgress, signal, optionalBytes('init', init), optionalBytes('critic', critic)),
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
