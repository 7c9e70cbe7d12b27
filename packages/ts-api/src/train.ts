import { backendFor, type BackendKind } from './backend.js';
import { episodesFromFlat, type Episode } from './metrics.js';
import type { ActorKind, AdaptiveConfig, AdaptiveTrace, IalpConfig, Mode, PretrainStats, Progress, Request, UserPool } from './core-types.js';
import { envSpec, IalpError, type A2cOptions } from './options.js';
import { Policy } from './policy.js';
import { World, type WorldOptions } from './world.js';

export type { UserPool } from './core-types.js';

/** Reported after every update (the core's `Progress`). */
export type TrainProgress = Progress;

export interface TrainOptions {
  env?: WorldOptions;
  /** A world already loaded (saves parsing the data and fitting the user model again). */
  world?: World;
  a2c?: A2cOptions;
  /** Stop after this many training episodes (default: `CORE_DEFAULTS.train.episodes`). */
  episodes?: number;
  /** Seed of initial weights, action sampling and arriving users. */
  seed?: number;
  /** Which users arrive: all (the default), the training users, or the held-out ones. */
  users?: UserPool;
  /** Start from this (pre-trained) policy: A-iALP_ft; with `adaptive`, pi_0 of A-iALP_ap. */
  init?: Policy;
  /** A-iALP_ap: keep `init` frozen next to a new online policy (true = defaults). */
  adaptive?: AdaptiveOptions | true;
  /** A reward model artefact (r_phi) that scores A-iALP_ap's proposals. */
  critic?: Uint8Array;
  backend?: BackendKind | 'auto';
  onProgress?: (p: TrainProgress) => void;
  signal?: AbortSignal;
}

/** A-iALP_ap's knobs (tau, eta, kappa, ...; defaults: `CORE_DEFAULTS.adaptive`). */
export type AdaptiveOptions = Request<AdaptiveConfig>;

/** A-iALP_ap's adaptation after one update. */
export type { AdaptiveTrace } from './core-types.js';

export interface TrainResult {
  policy: Policy;
  /** Training episodes in the order they finished: the online learning curve. */
  episodes: Episode[];
  updates: number;
  envSteps: number;
  /** A-iALP_ap only: the weights and pi_0's share over time. */
  trace?: AdaptiveTrace[];
}

async function worldFor(env: WorldOptions | undefined, world: World | undefined, backend: BackendKind | 'auto' | undefined): Promise<World> {
  if (world && backend && backend !== 'auto' && backend !== world.backend.kind) {
    throw new IalpError(`backend: the world was built with the ${world.backend.kind} build, not ${backend}`);
  }
  return world ?? World.load(env ?? {}, backend ?? 'auto');
}

/** Trains an online actor-critic (A2C) policy; the work runs off the JavaScript thread on the native build. */
export async function train(options: TrainOptions = {}): Promise<TrainResult> {
  // The core checks and defaults every setting (crates/ac-core/src/algorithms/config.rs), naming the field.
  const world = await worldFor(options.env, options.world, backendFor(options.a2c?.compute, options.backend));
  if (options.adaptive && !options.init) throw new IalpError('adaptive: needs `init`, the pre-trained policy to deploy');
  const adaptive = options.adaptive === true ? {} : options.adaptive;
  const a2c = options.a2c ?? (options.init ? { net: options.init.meta.net } : undefined);
  const config = { env: envSpec(options.env), a2c, episodes: options.episodes, seed: options.seed, users: options.users, adaptive };
  const onProgress = options.onProgress;
  const out = await world.backend.train(
    config,
    world.raw,
    onProgress,
    options.signal,
    options.init?.toBytes(),
    options.critic,
  );
  return {
    policy: await Policy.fromBytes(out.policy, world.backend.kind),
    episodes: episodesFromFlat(out.episodes),
    updates: out.updates,
    envSteps: out.envSteps,
    ...(out.trace ? { trace: out.trace } : {}),
  };
}

export interface PretrainOptions {
  env?: WorldOptions;
  world?: World;
  /** iALP's settings (crates/ac-core/src/algorithms/ialp.rs; defaults: `CORE_DEFAULTS.pretrain.ialp`). */
  ialp?: Request<IalpConfig>;
  /** H of the logged states (default: `CORE_DEFAULTS.pretrain.history`). */
  history?: number;
  /** Whose logs (default: the training users). */
  users?: UserPool;
  /** r_phi (a reward model artefact): the world iALP trains in; without it, logs only. */
  rewardModel?: Uint8Array;
  backend?: BackendKind | 'auto';
}

/** Offline pre-training of pi_0 on the environment's logs: iALP with a reward
 * model, the logs-only baseline without one. */
export async function pretrain(options: PretrainOptions = {}): Promise<{ policy: Policy; stats: PretrainStats }> {
  const world = await worldFor(options.env, options.world, backendFor(options.ialp?.a2c?.compute, options.backend));
  const job = { ialp: options.ialp, history: options.history, users: options.users };
  const out = await world.backend.pretrain(world.raw, job, options.rewardModel);
  return { policy: await Policy.fromBytes(out.policy, world.backend.kind), stats: out.stats };
}

export interface EvaluateOptions {
  env?: WorldOptions;
  world?: World;
  /** A trained policy, "random", "popularity", or greedy on a reward model artefact. Default "random". */
  policy?: Policy | 'random' | 'popularity' | { greedy: Uint8Array };
  /** Episodes played (default: `CORE_DEFAULTS.evaluate.episodes`). */
  episodes?: number;
  /** Seed of the evaluation episodes. */
  seed?: number;
  /** "sample" (the default) draws from the policy, "greedy" takes its top item. */
  mode?: Mode;
  users?: UserPool;
  backend?: BackendKind | 'auto';
}

/** Plays whole episodes with a fixed policy (no learning). */
export async function evaluate(options: EvaluateOptions = {}): Promise<Episode[]> {
  const policy = options.policy ?? 'random';
  if (typeof policy === 'string' && policy !== 'random' && policy !== 'popularity') {
    throw new IalpError(`policy: expected a Policy, "random", "popularity" or { greedy }, got ${JSON.stringify(policy)}`);
  }
  const isPolicy = policy instanceof Policy;
  const backend = options.backend ?? (isPolicy ? policy.backend.kind : options.world?.backend.kind);
  const world = await worldFor(options.env, options.world, backend);
  const actor: ActorKind = typeof policy === 'string' ? policy : isPolicy ? 'policy' : 'greedy';
  const artefact = typeof policy === 'string' ? null : isPolicy ? policy.toBytes() : policy.greedy;
  // episodes, seed, mode and users: checked and defaulted by the core (api.rs EvalOptions)
  const opts = { actor, episodes: options.episodes, seed: options.seed, mode: options.mode, users: options.users };
  const flat = await world.backend.evaluate(envSpec(options.env), world.raw, artefact, opts);
  return episodesFromFlat(flat);
}
