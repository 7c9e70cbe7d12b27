// `ialp train`: online training, then evaluation against the random and
// popularity baselines, with a report (`runOnline`).
import { backendFor, loadBackend, type BackendKind } from './backend.js';
import { learningCurve, summarize, type Summary } from './metrics.js';
import { checkAborted, checkInt, type A2cOptions } from './options.js';
import type { Policy } from './policy.js';
import { evaluate, train, type TrainProgress } from './train.js';
import { World, type WorldOptions } from './world.js';

/** The defaults of `ialp train` (`runOnline`): a longer run than the core's
 * own default (`CORE_DEFAULTS.train.episodes`), so that its report shows a curve. */
export const RUN_DEFAULTS = { episodes: 5000, evalEpisodes: 512, seed: 1 };

export interface RunOptions {
  env?: WorldOptions;
  a2c?: A2cOptions;
  /** Online training episodes (default: `RUN_DEFAULTS`). */
  episodes?: number;
  /** Episodes per evaluation (default: `RUN_DEFAULTS`). */
  evalEpisodes?: number;
  /** Seed of training; evaluation uses its own, derived from it (default: `RUN_DEFAULTS`). */
  seed?: number;
  backend?: BackendKind | 'auto';
  /** Called as phases start and as training advances. */
  onProgress?: (phase: RunPhase, done: number, total: number, detail?: TrainProgress) => void;
  signal?: AbortSignal;
}

export type RunPhase = 'world' | 'baselines' | 'train' | 'evaluate';

export interface RunRow {
  method: string;
  phase: string;
  summary: Summary;
}

export interface RunReport {
  env: string;
  seed: number;
  backend: BackendKind;
  /** Everything that depends only on the seed: identical across runs and builds. */
  results: {
    rows: RunRow[];
    curve: { episodes: number; meanReturn: number; meanLength: number }[];
    updates: number;
    envSteps: number;
  };
  /** Wall time per phase in milliseconds. */
  timing: Record<RunPhase, number>;
  policy: Policy;
}

/** Online A2C on one environment against random and popularity policies: the `ialp run` job. */
export async function runOnline(options: RunOptions = {}): Promise<RunReport> {
  const backend = await loadBackend(backendFor(options.a2c?.compute, options.backend));
  // checked here because they are used here (the evaluation seed, the curve's bins)
  const seed = checkInt('seed', options.seed ?? RUN_DEFAULTS.seed, 0, 2 ** 32 - 1);
  const episodes = checkInt('episodes', options.episodes ?? RUN_DEFAULTS.episodes, 10);
  const evalEpisodes = checkInt('evalEpisodes', options.evalEpisodes ?? RUN_DEFAULTS.evalEpisodes, 1);
  const env = options.env ?? {};
  const evalSeed = (seed + 1_000_003) % 2 ** 32;
  const report = options.onProgress ?? (() => {});
  const timing: Record<RunPhase, number> = { world: 0, baselines: 0, train: 0, evaluate: 0 };
  const timed = async <T>(phase: RunPhase, f: () => Promise<T>): Promise<T> => {
    checkAborted(options.signal);
    report(phase, 0, 1);
    const t0 = performance.now();
    const out = await f();
    timing[phase] = performance.now() - t0;
    return out;
  };

  const world = await timed('world', () => World.load(env, backend.kind));
  const [random, popular] = await timed('baselines', async () => [
    await evaluate({ env, world, policy: 'random', episodes: evalEpisodes, seed: evalSeed }),
    await evaluate({ env, world, policy: 'popularity', episodes: evalEpisodes, seed: evalSeed }),
  ]);
  const trained = await timed('train', () =>
    train({
      env, world, a2c: options.a2c, episodes, seed, signal: options.signal,
      onProgress: (p) => report('train', p.episodes, p.targetEpisodes, p),
    }));
  const final = await timed('evaluate', () =>
    evaluate({ env, world, policy: trained.policy, episodes: evalEpisodes, seed: evalSeed }));

  const tenth = Math.max(1, Math.floor(trained.episodes.length / 10));
  const rows: RunRow[] = [
    { method: 'random', phase: 'evaluation', summary: summarize(random) },
    { method: 'popularity', phase: 'evaluation', summary: summarize(popular) },
    { method: 'a2c', phase: 'online, first 10%', summary: summarize(trained.episodes.slice(0, tenth)) },
    { method: 'a2c', phase: 'online, last 10%', summary: summarize(trained.episodes.slice(-tenth)) },
    { method: 'a2c', phase: 'evaluation', summary: summarize(final) },
  ];
  return {
    env: world.info.env,
    seed,
    backend: backend.kind,
    results: {
      rows,
      curve: learningCurve(trained.episodes, Math.max(1, Math.floor(episodes / 50))),
      updates: trained.updates,
      envSteps: trained.envSteps,
    },
    timing,
    policy: trained.policy,
  };
}
