import { backendFor, type BackendKind } from './backend.js';
import { episodesFromFlat, type Episode } from './metrics.js';
import { checkNumber, envSpec, IalpError, type A2cOptions, type QuitOptions } from './options.js';
import { Policy } from './policy.js';
import { World, type WorldOptions } from './world.js';

export type UserPool = 'all' | 'train' | 'heldOut';

export interface TrainProgress {
  updates: number;
  envSteps: number;
  episodes: number;
  targetEpisodes: number;
  loss: { policyLoss: number; valueLoss: number; entropy: number; total: number; gradNorm: number };
  /** Mean return of the episodes finished during this update (null if none). */
  recentReturn: number | null;
}

export interface TrainOptions {
  env?: WorldOptions;
  /** A world already loaded (saves parsing the data and fitting the user model again). */
  world?: World;
  a2c?: A2cOptions;
  /** Stop after this many training episodes. Default 3000. */
  episodes?: number;
  /** Seed of initial weights, action sampling and arriving users. Default 0. */
  seed?: number;
  /** Which users arrive: all, the training users, or the held-out ones. Default "all". */
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

/** A-iALP_ap's knobs (defaults in crates/ac-core/src/algorithms/config.rs). */
export interface AdaptiveOptions {
  /** tau: softmax temperature over the proposals. Default 0.1. */
  temperature?: number;
  /** eta: step of each policy's moving average of realised reward. Default 0.02. */
  weightRate?: number;
  /** kappa: weight of that average in the proposal scores. Default 5. */
  weightScale?: number;
  /** c: bonus for under-exposed categories. Default 0.05. */
  exploration?: number;
  initialWeight?: number;
  /** rho: a lasting bonus on pi_0's average realised reward in the scores (trust in pre-training). Default 0.05. */
  prior?: number;
  /** N: the trust fades as rho exp(-n0 / N) after n0 executed pi_0 proposals (0 = never). Default 500. */
  trustSteps?: number;
  /** beta: weight of r_phi's value of a proposal in its score. Default 0.2. */
  criticScale?: number;
  /** beta counts in full once r_phi correlates with the realised rewards of executed proposals this much, in proportion below, not at all at or below 0 (a compromised critic loses its say), and rho the same way down to -rho at minus this (a source that contradicts users makes its pi_0 distrusted); 0 = no check. Default 0.2. */
  criticAgreement?: number;
  /** epsilon: share of steps whose executed proposal is drawn uniformly (keeps both policies measured). Default 0. */
  floor?: number;
  /** Proposals each policy samples per step; the softmax runs over all of them. Default 1. */
  proposals?: number;
  /** Temperature of pi_0's proposals: its softmax sharpened (logits / t) before sampling, 0 = its top item, 1 = as trained (pi_0 does not learn, so it needs little exploration of its own). Default 0. */
  pretrainedTemperature?: number;
}

/** A-iALP_ap's adaptation after one update. */
export interface AdaptiveTrace {
  updates: number;
  envSteps: number;
  weightPretrained: number;
  weightOnline: number;
  /** Share of executed actions proposed by the pre-trained policy during the update. */
  sharePretrained: number;
  /** g_t in [-1, 1]: how far r_phi agrees with the realised rewards (its correlation with them over `criticAgreement`); 0 without a critic. */
  criticAgreement: number;
}

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
  // The core checks and defaults every setting (crates/ac-core/src/algorithms/config.rs),
  // naming the field. NaN is checked here: it does not survive the trip as an object.
  const lr = options.a2c?.adam?.lr;
  if (lr !== undefined) checkNumber('a2c.adam.lr (learning rate)', lr, Number.MIN_VALUE, 10);
  const world = await worldFor(options.env, options.world, backendFor(options.a2c?.compute, options.backend));
  if (options.adaptive && !options.init) throw new IalpError('adaptive: needs `init`, the pre-trained policy to deploy');
  const adaptive = options.adaptive === true ? {} : options.adaptive;
  const a2c = options.a2c ?? (options.init ? { net: (options.init.meta.net ?? undefined) as A2cOptions['net'] } : undefined);
  const config = { env: envSpec(options.env), a2c, episodes: options.episodes, seed: options.seed, users: options.users, adaptive };
  const onProgress = options.onProgress;
  const out = await world.backend.train(
    config,
    world.raw,
    onProgress ? (p) => onProgress(p as TrainProgress) : undefined,
    options.signal,
    options.init?.toBytes(),
    options.critic,
  );
  return {
    policy: await Policy.fromBytes(out.policy, world.backend.kind),
    episodes: episodesFromFlat(out.episodes),
    updates: out.updates,
    envSteps: out.envSteps,
    ...(out.trace ? { trace: out.trace as AdaptiveTrace[] } : {}),
  };
}

export interface PretrainOptions {
  env?: WorldOptions;
  world?: World;
  /** iALP's settings (crates/ac-core/src/algorithms/ialp.rs, defaults there). */
  ialp?: {
    a2c?: A2cOptions;
    /** Passes of TD(0) steps over the logs (default 0 with a reward model's world to train in). */
    epochs?: number; transitionsPerEpoch?: number; batchSize?: number;
    /** A2C in the world r_phi imagines until this many imagined episodes ended (0 = logs only). Default 3000. */
    episodes?: number;
    /** ... or this many imagined user-steps were taken, whichever comes first (0 = no step budget). Default 0. */
    steps?: number;
    /** Imagined users stepped together. Default 64. */
    users?: number;
    /** Random items in an imagined user's observation at arrival. Default 3. */
    warmStart?: number;
    /** Map r_phi's scores onto the logged feedback's scale (isotonic fit). Default true. */
    calibrate?: boolean;
    /** The quit model of imagined users; left-out fields take the environment's defaults. */
    quit?: QuitOptions;
    seed?: number;
  };
  /** H of the logged states. Default 10. */
  history?: number;
  /** Whose logs. Default "train". */
  users?: UserPool;
  /** r_phi (a reward model artefact): the world iALP trains in; without it, logs only. */
  rewardModel?: Uint8Array;
  backend?: BackendKind | 'auto';
}

/** Offline pre-training of pi_0 on the environment's logs: iALP with a reward
 * model, the logs-only baseline without one. */
export async function pretrain(options: PretrainOptions = {}): Promise<{ policy: Policy; stats: Record<string, number> }> {
  const world = await worldFor(options.env, options.world, backendFor(options.ialp?.a2c?.compute, options.backend));
  const job = { ialp: options.ialp, history: options.history, users: options.users };
  const out = await world.backend.pretrain(world.raw, job, options.rewardModel);
  return { policy: await Policy.fromBytes(out.policy, world.backend.kind), stats: out.stats as Record<string, number> };
}

export interface EvaluateOptions {
  env?: WorldOptions;
  world?: World;
  /** A trained policy, "random", "popularity", or greedy on a reward model artefact. Default "random". */
  policy?: Policy | 'random' | 'popularity' | { greedy: Uint8Array };
  /** Default 500. */
  episodes?: number;
  /** Seed of the evaluation episodes. Default 0. */
  seed?: number;
  /** "sample" draws from the policy, "greedy" takes its top item. Default "sample". */
  mode?: 'sample' | 'greedy';
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
  const actor = typeof policy === 'string' ? policy : isPolicy ? 'policy' : 'greedy';
  const artefact = typeof policy === 'string' ? null : isPolicy ? policy.toBytes() : policy.greedy;
  // episodes (default 500), seed, mode and users: checked and defaulted by the core (api.rs EvalOptions)
  const opts = { actor, episodes: options.episodes, seed: options.seed, mode: options.mode, users: options.users };
  const flat = await world.backend.evaluate(envSpec(options.env), world.raw, artefact, opts);
  return episodesFromFlat(flat);
}
