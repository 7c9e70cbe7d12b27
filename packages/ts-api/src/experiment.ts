// The experiment of the paper: on each environment, distil LLM preferences,
// fit r_phi, pre-train offline (iALP and logs-only), deploy every method
// online on held-out users for several seeds, and report early and final
// performance with 95% confidence intervals. Every phase's result is cached in
// the run folder, so an interrupted run resumes where it stopped.

import { createHash } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { backendFor, type BackendKind } from './backend.js';
import { summarize, type Episode } from './metrics.js';
import { checkInt, checkNumber, IalpError, type Compute } from './options.js';
import { writeFileAtomic } from './paths.js';
import { Policy } from './policy.js';
import { distillPreferences } from './preferences.js';
import { evaluate, pretrain, train, type AdaptiveOptions, type AdaptiveTrace } from './train.js';
import { World } from './world.js';

export const METHODS = [
  'random', 'popularity', 'greedy-logs', 'greedy-llm',
  'a2c', 'offline-logs+ft', 'a-ialp-ft', 'a-ialp-ap',
] as const;
export type Method = (typeof METHODS)[number];

export interface ExperimentConfig {
  envs?: string[];
  data?: string;
  seeds?: number;
  llm?: string;
  /** Prompts: users asked about and candidates per prompt. */
  distill?: { users?: number; candidates?: number };
  /** Offline pre-training (iALP and logs only). */
  pretrain?: {
    epochs?: number; transitionsPerEpoch?: number;
    /** iALP: imagined transitions per logged one, and the length cap of an imagined rollout. */
    augment?: number; rolloutSteps?: number;
    /** Entropy bonus of the pre-training losses (online training keeps its own). */
    entropyCoef?: number;
  };
  /** Online deployment per method and seed. */
  online?: { episodes?: number; batchSize?: number };
  /** N of "the first N episodes". */
  earlyEpisodes?: number;
  /** A-iALP_ap's knobs (temperature, weightRate, weightScale, exploration, initialWeight, proposals). */
  adaptive?: AdaptiveOptions;
  /** The actor-critic backend of pre-training and online training (`torch`: the native-torch build). */
  compute?: Compute;
  device?: 'auto' | 'cpu' | 'cuda';
}

export interface MethodResult {
  method: Method;
  /** Per seed: mean return of the first N episodes, of all, and of the last N. */
  early: number[];
  overall: number[];
  final: number[];
  length: number[];
  rewardPerStep: number[];
  /** Mean return per window of episodes, per seed. */
  curves: number[][];
  trace?: AdaptiveTrace[];
}

export interface EnvResult {
  env: string;
  methods: MethodResult[];
  llm: { hitRate: number; auc: number; randomHitRate: number; popularityHitRate: number; failures: number; requests: number };
}

const DEFAULTS = {
  seeds: 3, users: 20, candidates: 5, epochs: 4, transitionsPerEpoch: 4096, augment: 2, rolloutSteps: 8, entropyCoef: 1,
  episodes: 300, batchSize: 16, early: 50,
};

/** Part of every phase's cache key: bump it when an algorithm changes what a
 * phase computes, so that runs made before recompute rather than mix. */
const PHASES_REVISION = 4;

/** Mean and 95% confidence half-width (t-distribution) of per-seed values. */
export function meanCi(xs: readonly number[]): { mean: number; ci95: number } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, ci95: NaN };
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  const t = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262][n - 2] ?? 1.96;
  return { mean, ci95: (t * sd) / Math.sqrt(n) };
}

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

/** Phase results keyed by their inputs and the core's version (a new
 * version recomputes; during development, delete the run folder after
 * changing an algorithm). */
class PhaseCache {
  constructor(private readonly dir: string, private readonly version: string) {}
  private file(name: string, key: unknown): string {
    const hash = sha256(JSON.stringify({ key, version: this.version })).slice(0, 16);
    return join(this.dir, `${name}-${hash}`);
  }
  async bytes(name: string, key: unknown, make: () => Promise<Uint8Array>): Promise<Uint8Array> {
    const f = this.file(name, key);
    const hit = await readFile(f).catch(() => undefined);
    if (hit) return new Uint8Array(hit);
    const v = await make();
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomic(f, v);
    return v;
  }
  async json<T>(name: string, key: unknown, make: () => Promise<T>): Promise<T> {
    const text = await this.bytes(`${name}.json`, key, async () => new TextEncoder().encode(JSON.stringify(await make())));
    return JSON.parse(new TextDecoder().decode(text)) as T;
  }
}

function summaries(method: Method, runs: { episodes: Episode[]; trace?: AdaptiveTrace[] }[], early: number): MethodResult {
  const window = Math.max(1, Math.floor(early / 2));
  const mean = (eps: Episode[]) => summarize(eps).meanReturn;
  return {
    method,
    early: runs.map((r) => mean(r.episodes.slice(0, early))),
    overall: runs.map((r) => mean(r.episodes)),
    final: runs.map((r) => mean(r.episodes.slice(-early))),
    length: runs.map((r) => summarize(r.episodes).meanLength),
    rewardPerStep: runs.map((r) => summarize(r.episodes).rewardPerStep),
    curves: runs.map((r) => {
      const out: number[] = [];
      for (let i = 0; i + window <= r.episodes.length; i += window) out.push(mean(r.episodes.slice(i, i + window)));
      return out;
    }),
    ...(runs[0]?.trace ? { trace: runs[0].trace } : {}),
  };
}

export type ExperimentPhase = 'world' | 'distill' | 'reward-models' | 'pretrain' | 'online';

/** Runs the experiment into `out`; phases already done there are reused. */
export async function runExperiment(
  config: ExperimentConfig,
  out: string,
  opts: {
    backend?: BackendKind | 'auto';
    onPhase?: (env: string, phase: ExperimentPhase, detail: string) => void;
    /** Filled with the wall seconds spent in each phase, summed over environments. */
    timings?: Record<string, number>;
  } = {},
): Promise<EnvResult[]> {
  const seeds = checkInt('seeds', config.seeds ?? DEFAULTS.seeds, 1, 100);
  const users = checkInt('distill.users', config.distill?.users ?? DEFAULTS.users, 1);
  const k = checkInt('distill.candidates', config.distill?.candidates ?? DEFAULTS.candidates, 2, 26);
  const episodes = checkInt('online.episodes', config.online?.episodes ?? DEFAULTS.episodes, 10);
  const batchSize = checkInt('online.batchSize', config.online?.batchSize ?? DEFAULTS.batchSize, 1);
  const early = checkInt('earlyEpisodes', config.earlyEpisodes ?? DEFAULTS.early, 1, episodes);
  const ptEpochs = checkInt('pretrain.epochs', config.pretrain?.epochs ?? DEFAULTS.epochs, 1);
  const ptTransitions = checkInt('pretrain.transitionsPerEpoch', config.pretrain?.transitionsPerEpoch ?? DEFAULTS.transitionsPerEpoch, 1);
  const ptAugment = checkInt('pretrain.augment', config.pretrain?.augment ?? DEFAULTS.augment, 1, 64);
  const ptRollout = checkInt('pretrain.rolloutSteps', config.pretrain?.rolloutSteps ?? DEFAULTS.rolloutSteps, 1, 1000);
  const ptEntropy = checkNumber('pretrain.entropyCoef', config.pretrain?.entropyCoef ?? DEFAULTS.entropyCoef, 0, 10);
  const onPhase = opts.onPhase ?? (() => {});
  const timings = opts.timings ?? {};
  let current: { name: ExperimentPhase; since: number } | undefined;
  // only when asked for, so that cache keys of ndarray runs stay as they were
  const compute = config.compute === undefined ? {} : { compute: config.compute, ...(config.device ? { device: config.device } : {}) };
  const phase = (env: string, name: ExperimentPhase, detail: string) => {
    const now = performance.now();
    if (current) timings[current.name] = (timings[current.name] ?? 0) + (now - current.since) / 1000;
    current = { name, since: now };
    onPhase(env, name, detail);
  };
  // a report left by an earlier run in `out` would be stale from here on
  await Promise.all(['report.html', 'results.json', 'results.csv'].map((f) => rm(join(out, f), { force: true })));
  const results: EnvResult[] = [];
  for (const name of config.envs ?? ['movielens']) {
    phase(name, 'world', 'loading');
    const world = await World.load({ name, data: config.data }, backendFor(config.compute, opts.backend));
    const cache = new PhaseCache(join(out, 'cache', name), `${world.backend.version()}/${PHASES_REVISION}`);
    const env = { name, batchSize };
    const fp = world.info.fingerprint;

    phase(name, 'distill', `${users} prompts`);
    const distilled = await distillPreferences({
      world, llm: config.llm, users, candidates: k, seed: 0,
      onProgress: (p, d) => {
        if (p === 'model') phase(name, 'distill', 'loading the LLM (the default model is fetched once)');
        else if (d) onPhase(name, 'distill', `${d.done}/${d.total} prompts, ${d.cacheHits} cached, ${d.failures} failed`);
      },
    });
    const rphi = distilled.rewardModel;
    if (!rphi) {
      const r = distilled.report;
      const reasons = Object.entries(r.failureReasons).map(([k, v]) => `${k} ${v}`).join(', ');
      throw new IalpError(`${name}: the LLM gave no valid answer, so there is no reward model to learn: ${r.failures} of ${r.requests} prompts failed (${reasons}), e.g. ${r.failureExample ?? 'no detail'}`);
    }
    const rphiHash = sha256(rphi);
    const q = distilled.report.quality;
    const llmRow = {
      hitRate: q[0]!.hitRate, auc: q[0]!.auc, randomHitRate: q[1]!.hitRate, popularityHitRate: q[2]?.hitRate ?? NaN,
      failures: distilled.report.failures, requests: distilled.report.requests,
    };

    phase(name, 'reward-models', 'fitting a reward model to logged feedback');
    const logsRm = await cache.bytes('reward-model-logs', { fp }, async () => {
      const reqs = world.preferenceRequests({ users: Math.min(200, world.info.trainUsers), candidates: 2, seed: 7 });
      // logged feedback: each request's latest interaction, its feedback the label
      const h = reqs[0]!.histItems.length;
      const hi: number[] = [];
      const hr: number[] = [];
      const it: number[] = [];
      const ys: number[] = [];
      for (const r of reqs) {
        for (let cut = 1; cut < h; cut++) {
          if (r.histItems[cut] === 0xffffffff) continue;
          hi.push(...new Array<number>(h - cut).fill(0xffffffff), ...r.histItems.slice(0, cut));
          hr.push(...new Array<number>(h - cut).fill(0), ...r.histRewards.slice(0, cut));
          it.push(r.histItems[cut]!);
          ys.push(Math.min(1, Math.max(0, r.histRewards[cut]!)));
        }
      }
      const f = await world.backend.trainRewardModel(world.raw, { history: h, histItems: Uint32Array.from(hi), histRewards: Float32Array.from(hr), items: Uint32Array.from(it), labels: Float32Array.from(ys) }, {});
      return f.model;
    });

    const runs = new Map<Method, { episodes: Episode[]; trace?: AdaptiveTrace[] }[]>(METHODS.map((m) => [m, []]));
    for (let s = 0; s < seeds; s++) {
      const seed = 1000 + s;
      phase(name, 'pretrain', `seed ${s + 1}/${seeds}`);
      const ialpCfg = {
        epochs: ptEpochs, transitionsPerEpoch: ptTransitions, augment: ptAugment, rolloutSteps: ptRollout, seed,
        a2c: { loss: { entropyCoef: ptEntropy }, ...compute },
      };
      const pi0 = await Policy.fromBytes(await cache.bytes('pi0-ialp', { fp, ialpCfg, rphi: rphiHash }, async () =>
        (await pretrain({ world, ialp: ialpCfg, rewardModel: rphi })).policy.toBytes()), world.backend.kind);
      const piLogs = await Policy.fromBytes(await cache.bytes('pi0-logs', { fp, ialpCfg }, async () =>
        (await pretrain({ world, ialp: { ...ialpCfg, augment: 0 } })).policy.toBytes()), world.backend.kind);
      // the pre-trained policies, as artefacts a user can load (Policy.load, ialp recommend)
      await mkdir(join(out, 'policies'), { recursive: true });
      await writeFileAtomic(join(out, 'policies', `${name}-ialp-seed${seed}.ialp`), pi0.toBytes());
      await writeFileAtomic(join(out, 'policies', `${name}-logs-seed${seed}.ialp`), piLogs.toBytes());
      phase(name, 'online', `seed ${s + 1}/${seeds}`);
      const key = { fp, episodes, batchSize, seed, ...compute };
      const online = (method: Method, f: () => Promise<{ episodes: Episode[]; trace?: AdaptiveTrace[] }>, extra: unknown = null) => {
        onPhase(name, 'online', `seed ${s + 1}/${seeds}, ${method}`);
        return cache.json(`online-${method}`, { ...key, rphi: method.includes('ialp') || method === 'greedy-llm' ? rphiHash : null, extra }, f);
      };
      const ev = (policy: 'random' | 'popularity' | { greedy: Uint8Array }) => async () =>
        ({ episodes: await evaluate({ world, env, policy, episodes, seed, users: 'heldOut' }) });
      runs.get('random')!.push(await online('random', ev('random')));
      runs.get('popularity')!.push(await online('popularity', ev('popularity')));
      runs.get('greedy-logs')!.push(await online('greedy-logs', ev({ greedy: logsRm })));
      runs.get('greedy-llm')!.push(await online('greedy-llm', ev({ greedy: rphi })));
      const tr = (init?: Policy, adaptive?: AdaptiveOptions) => async () => {
        const r = await train({ world, env, episodes, seed, users: 'heldOut', init, adaptive, critic: adaptive ? rphi : undefined, a2c: { ...compute } });
        return { episodes: r.episodes, ...(r.trace ? { trace: r.trace } : {}) };
      };
      runs.get('a2c')!.push(await online('a2c', tr()));
      // runs that start from a pre-trained policy are keyed by it too
      const pi0Hash = sha256(pi0.toBytes());
      runs.get('offline-logs+ft')!.push(await online('offline-logs+ft', tr(piLogs), sha256(piLogs.toBytes())));
      runs.get('a-ialp-ft')!.push(await online('a-ialp-ft', tr(pi0), pi0Hash));
      runs.get('a-ialp-ap')!.push(await online('a-ialp-ap', tr(pi0, config.adaptive ?? {}), { pi0: pi0Hash, adaptive: config.adaptive ?? {} }));
    }
    results.push({ env: name, methods: METHODS.map((m) => summaries(m, runs.get(m)!, early)), llm: llmRow });
  }
  if (current) timings[current.name] = (timings[current.name] ?? 0) + (performance.now() - current.since) / 1000;
  return results;
}
