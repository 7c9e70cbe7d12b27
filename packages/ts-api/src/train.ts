import { loadBackend, type BackendKind } from './backend.js';
import { episodesFromFlat, type Episode } from './metrics.js';
import { checkInt, checkNumber, envSpec, IalpError, type A2cOptions } from './options.js';
import { Policy } from './policy.js';
import { World, type WorldOptions } from './world.js';

export type UserPool = 'all' | 'train' | 'heldOut';

export interface TrainProgress {
  updates: number;
  envSteps: number;
  episodes: number;
  targetEpisodes: number;
  loss: { policyLoss: number; valueLoss: number; entropy: number; total: number; gradNorm: number };
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
  backend?: BackendKind | 'auto';
  onProgress?: (p: TrainProgress) => void;
  signal?: AbortSignal;
}

export interface TrainResult {
  policy: Policy;
  /** Training episodes in the order they finished: the online learning curve. */
  episodes: Episode[];
  updates: number;
  envSteps: number;
}

function checkUsers(users: UserPool | undefined): UserPool {
  const u = users ?? 'all';
  if (u !== 'all' && u !== 'train' && u !== 'heldOut') throw new IalpError(`users: expected "all", "train" or "heldOut", got ${JSON.stringify(u)}`);
  return u;
}

async function worldFor(env: WorldOptions | undefined, world: World | undefined, backend: BackendKind | 'auto' | undefined): Promise<World> {
  if (world && backend && backend !== 'auto' && backend !== world.backend.kind) {
    throw new IalpError(`backend: the world was built with the ${world.backend.kind} build, not ${backend}`);
  }
  return world ?? World.load(env ?? {}, backend ?? 'auto');
}

/** Trains an online actor-critic (A2C) policy; the work runs off the JavaScript thread on the native build. */
export async function train(options: TrainOptions = {}): Promise<TrainResult> {
  if (options.episodes !== undefined) checkInt('episodes', options.episodes, 1);
  if (options.seed !== undefined) checkInt('seed', options.seed, 0, 2 ** 32 - 1);
  const lr = options.a2c?.adam?.lr;
  if (lr !== undefined) checkNumber('a2c.adam.lr (learning rate)', lr, Number.MIN_VALUE, 10);
  const users = checkUsers(options.users);
  const world = await worldFor(options.env, options.world, options.backend);
  const config = { env: envSpec(options.env), a2c: options.a2c, episodes: options.episodes, seed: options.seed, users };
  const onProgress = options.onProgress;
  const out = await world.backend.train(
    JSON.stringify(config),
    world.raw,
    onProgress ? (json) => onProgress(JSON.parse(json) as TrainProgress) : undefined,
    options.signal,
  );
  return {
    policy: await Policy.fromBytes(out.policy, world.backend.kind),
    episodes: episodesFromFlat(out.episodes),
    updates: out.updates,
    envSteps: out.envSteps,
  };
}

export interface EvaluateOptions {
  env?: WorldOptions;
  world?: World;
  /** A trained policy, "random" or "popularity". Default "random". */
  policy?: Policy | 'random' | 'popularity';
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
  const episodes = checkInt('episodes', options.episodes ?? 500, 1);
  const seed = checkInt('seed', options.seed ?? 0, 0, 2 ** 32 - 1);
  const mode = options.mode ?? 'sample';
  if (mode !== 'sample' && mode !== 'greedy') throw new IalpError(`mode: expected "sample" or "greedy", got ${String(mode)}`);
  if (typeof policy === 'string' && policy !== 'random' && policy !== 'popularity') {
    throw new IalpError(`policy: expected a Policy, "random" or "popularity", got ${JSON.stringify(policy)}`);
  }
  const backend = options.backend ?? (typeof policy === 'string' ? options.world?.backend.kind : policy.backend.kind);
  const world = await worldFor(options.env, options.world, backend);
  if (typeof policy !== 'string' && policy.backend.kind !== world.backend.kind) {
    // a policy from the other build: its bytes load in this one
    await loadBackend(world.backend.kind);
  }
  const opts = { actor: typeof policy === 'string' ? policy : 'policy', episodes, seed, mode, users: checkUsers(options.users) };
  const flat = await world.backend.evaluate(
    JSON.stringify(envSpec(options.env)),
    world.raw,
    typeof policy === 'string' ? null : policy.toBytes(),
    JSON.stringify(opts),
  );
  return episodesFromFlat(flat);
}
