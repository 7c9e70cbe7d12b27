import { loadBackend, type BackendKind } from './backend.js';
import { episodesFromFlat, type Episode } from './metrics.js';
import { checkInt, checkNumber, envSpec, type A2cOptions, type EnvOptions } from './options.js';
import { Policy } from './policy.js';

export interface TrainProgress {
  updates: number;
  envSteps: number;
  episodes: number;
  targetEpisodes: number;
  loss: { policyLoss: number; valueLoss: number; entropy: number; total: number; gradNorm: number };
}

export interface TrainOptions {
  env?: EnvOptions;
  a2c?: A2cOptions;
  /** Stop after this many training episodes. Default 3000. */
  episodes?: number;
  /** Seed of initial weights, action sampling and arriving users. Default 0. */
  seed?: number;
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

/** Trains an online actor-critic (A2C) policy; the work runs off the JavaScript thread on the native build. */
export async function train(options: TrainOptions = {}): Promise<TrainResult> {
  const backend = await loadBackend(options.backend ?? 'auto');
  if (options.episodes !== undefined) checkInt('episodes', options.episodes, 1);
  if (options.seed !== undefined) checkInt('seed', options.seed, 0, 2 ** 32 - 1);
  const lr = options.a2c?.adam?.lr;
  if (lr !== undefined) checkNumber('a2c.adam.lr (learning rate)', lr, Number.MIN_VALUE, 10);
  const config = { env: envSpec(options.env), a2c: options.a2c, episodes: options.episodes, seed: options.seed };
  const onProgress = options.onProgress;
  const out = await backend.train(
    JSON.stringify(config),
    onProgress ? (json) => onProgress(JSON.parse(json) as TrainProgress) : undefined,
    options.signal,
  );
  return {
    policy: await Policy.fromBytes(out.policy, backend.kind),
    episodes: episodesFromFlat(out.episodes),
    updates: out.updates,
    envSteps: out.envSteps,
  };
}

export interface EvaluateOptions {
  env?: EnvOptions;
  /** A trained policy, or "random". Default "random". */
  policy?: Policy | 'random';
  /** Default 500. */
  episodes?: number;
  /** Seed of the evaluation episodes. Default 0. */
  seed?: number;
  /** "sample" draws from the policy, "greedy" takes its top item. Default "sample". */
  mode?: 'sample' | 'greedy';
  backend?: BackendKind | 'auto';
}

/** Plays whole episodes with a fixed policy (no learning). */
export async function evaluate(options: EvaluateOptions = {}): Promise<Episode[]> {
  const policy = options.policy ?? 'random';
  const backend = await loadBackend(options.backend ?? (policy === 'random' ? 'auto' : policy.backend.kind));
  const episodes = checkInt('episodes', options.episodes ?? 500, 1);
  const seed = checkInt('seed', options.seed ?? 0, 0, 2 ** 32 - 1);
  const mode = options.mode ?? 'sample';
  if (mode !== 'sample' && mode !== 'greedy') throw new TypeError(`mode: expected "sample" or "greedy", got ${String(mode)}`);
  const flat = await backend.evaluate(
    JSON.stringify(envSpec(options.env)),
    policy === 'random' ? null : policy.toBytes(),
    episodes,
    seed,
    mode === 'greedy',
  );
  return episodesFromFlat(flat);
}
