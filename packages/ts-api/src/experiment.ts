// The experiment of the paper: on each environment and preference source,
// distil preferences, fit r_phi, pre-train offline (iALP in the world r_phi
// imagines; the same in the world of the logs' reward model; TD on the logs),
// deploy every method online on held-out users for several seeds, and report
// early and final performance with 95% confidence intervals and paired
// differences against the best baseline. Every phase's result is cached in
// the run folder, so an interrupted run resumes where it stopped.

import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { backendFor, type BackendKind, type RewardExamplesInput } from './backend.js';
import { inArrivalOrder, summarize, type Episode } from './metrics.js';
import { updateRecord, type UpdateRecord } from './training-log.js';
import { checkInt, checkNumber, IalpError, type Compute } from './options.js';
import { writeFileAtomic } from './paths.js';
import { PhaseCache } from './phase-cache.js';
import { checkLlmSpec, type AgreementMetrics } from './llm/index.js';
import { CONFIG_DEFAULTS, parseExperimentConfig } from './config-schema.js';
import { Policy } from './policy.js';
import { distillPreferences, fitRewardModel, loggedFeedback, parseOracle, rewardExamples, rewardModelQuality, type DistillEnvResult } from './preferences.js';
import { meanCi, pairedDiff } from './stats.js';
import { evaluate, pretrain, train, type AdaptiveOptions, type AdaptiveTrace, type TrainProgress } from './train.js';
import { World } from './world.js';

export const METHODS = [
  'random', 'popularity', 'greedy-logs', 'greedy-llm',
  'a2c', 'offline-logs+ft', 'logs-world', 'ialp', 'a-ialp-ft', 'a-ialp-ap',
] as const;
export type Method = (typeof METHODS)[number];

/** What each method is, in one line. */
export const METHOD_INFO: Record<Method, string> = {
  random: 'uniformly random items',
  popularity: 'the most interacted-with items of the logs',
  'greedy-logs': 'greedy on a reward model fitted to the logged feedback alone (no LLM, no RL)',
  'greedy-llm': 'greedy on r_phi, the reward model learnt from the preference source (no RL)',
  a2c: 'online actor-critic from scratch',
  'offline-logs+ft': 'actor-critic pre-trained on the logged transitions (TD), fine-tuned online',
  'logs-world': "pre-trained as iALP but in the world the logs' reward model imagines (no LLM), deployed frozen as ialp is",
  ialp: 'iALP: pi_0 pre-trained in the world r_phi imagines, deployed frozen, serving its top item (no online update)',
  'a-ialp-ft': 'A-iALP_ft: pi_0 fine-tuned online with the actor-critic',
  'a-ialp-ap': "A-iALP_ap: frozen pi_0 and an online pi_1 propose; a softmax over r_phi's values and realised rewards picks",
};

/** The methods that use no preference source: the baselines the learnt methods are judged against. */
export const BASELINES: readonly Method[] = ['random', 'popularity', 'greedy-logs', 'a2c', 'offline-logs+ft', 'logs-world'];

export interface ExperimentConfig {
  envs?: string[];
  data?: string;
  seeds?: number;
  /** The preference source: an LLM spec or `oracle[:NOISE|:inverted]`; several make a sweep (one cell each). */
  llm?: string | string[];
  /** Prompts: users asked about, states per user and candidates per prompt (defaults depend on the source). */
  distill?: { users?: number; candidates?: number; statesPerUser?: number };
  pretrain?: {
    /** A2C in r_phi's (and the logs model's) imagined world: imagined user-steps, the cap on episodes, users per step. */
    steps?: number; episodes?: number; users?: number;
    /** The logs-only baseline: passes of TD steps over the logs, transitions per pass. */
    epochs?: number; transitionsPerEpoch?: number;
    /** Entropy bonus of the logs-only TD steps (without it they collapse onto one category). */
    entropyCoef?: number;
    /** Entropy bonus of A2C in the imagined worlds (r_phi's and the logs model's); unset, A2C's own default. */
    worldEntropyCoef?: number;
  };
  /** Online deployment per method and seed. */
  online?: { episodes?: number; batchSize?: number };
  /** N of "the first N episodes". */
  earlyEpisodes?: number;
  /** How the frozen pre-trained policies (ialp, logs-world) choose: their top item (default) or a sample of their softmax. */
  deploy?: 'greedy' | 'sample';
  /** A-iALP_ap's knobs (temperature, weightRate, weightScale, exploration, initialWeight, proposals). */
  adaptive?: AdaptiveOptions;
  /** The actor-critic backend of pre-training and online training (`torch`: the native-torch build). */
  compute?: Compute;
  device?: 'auto' | 'cpu' | 'cuda';
  /** For any field but envs, data and llm, by its dotted path (`"adaptive.prior"`, `"pretrain.steps"`,
   * `"seeds"`), a list of values: each combination is a cell, run (and sharded) like a config
   * of its own, and the report compares the cells. */
  sweep?: Record<string, unknown[]>;
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
  /** Early return minus the best baseline's, paired by seed (same seeds, same held-out users): mean and 95% half-width. */
  vsBest?: { baseline: Method; mean: number; ci95: number };
  trace?: AdaptiveTrace[];
}

export interface QualityScore { requests: number; hitRate: number; auc: number }

/** A reward model's agreement with ground truth, fitted once per seed: the means, and
 * each seed's fit's (in the order of `EnvResult.seeds`). */
export type SeedsQuality = QualityScore & { perSeed: { hitRate: number[]; auc: number[] } };

export interface EnvResult {
  env: string;
  /** The sweep's cell these results are of (absent without a sweep). */
  cell?: Cell;
  /** N of "the first N episodes" these results use. */
  earlyEpisodes: number;
  /** The seeds, in the order of every per-seed list below (a shard's are some of the config's). */
  seeds: number[];
  /** The preference source of this cell (`llm` of the config). */
  source: string;
  methods: MethodResult[];
  /** The preference source's agreement with ground truth on the training users' prompts. */
  llm: { model: string; hitRate: number; auc: number; randomHitRate: number; popularityHitRate: number; failures: number; requests: number };
  /** r_phi's agreement with ground truth on held-out users' requests; the same for the logs' reward model.
   * Each seed fits its own (the same labels and logs, its own initialisation and minibatch order),
   * so that every seed's row, greedy or pre-trained, carries the reward model's draw too. */
  rewardModel: SeedsQuality & { examples: number };
  logsRewardModel: SeedsQuality;
  /** The baseline with the highest mean early return. */
  bestBaseline: Method;
}

/** Defaults: each config field's from its declaration (config-schema.ts, where the
 * adaptive knobs' are the core's), and those that are not one field's. */
export const DEFAULTS = {
  ...CONFIG_DEFAULTS,
  /** By source: the oracle costs nothing, so it answers many prompts; an LLM has a time
   * budget. The oracle answers up to `requests` prompts: up to `users` training users,
   * each at as many states as spread the requests over them (at most 16). */
  distill: { oracle: { users: 3000, requests: 12_000, candidates: 10 }, llm: { users: 40, statesPerUser: 1, candidates: 5 } },
  /** Held-out users' requests r_phi is scored on. */
  evalUsers: 200, evalStatesPerUser: 2,
};

/** Part of every phase's cache key: bump it when an algorithm changes what a
 * phase computes, so that runs made before recompute rather than mix. */
const PHASES_REVISION = 8; // 8: JSON entries with their sha256 (phase-cache.ts)

export { meanCi };

/** Part of A-iALP_ap's cache key: bump it when the core's adaptive defaults or its algorithm change
 * (12: the quit model's foresight, quitForesight 1, on by default, with Q's guess only while the critic is trusted). */
const ADAPTIVE_REVISION = 12;

/** An online run; training runs keep their per-update progress (metrics.jsonl). */
/** The index-th of `count` parts of an experiment (`ialp run --shard I/N`). */
export interface Shard { index: number; count: number }

type Run = { episodes: Episode[]; trace?: AdaptiveTrace[]; updates?: TrainProgress[] };
const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

function summaries(method: Method, runs: Run[], early: number): MethodResult {
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

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const unb64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

/** The preference sources of a config, in order. */
export function sources(config: ExperimentConfig): string[] {
  const l = config.llm ?? DEFAULTS.llm;
  const list = Array.isArray(l) ? l : [l];
  if (list.length === 0 || list.some((x) => typeof x !== 'string' || x === '')) throw new IalpError(`llm: expected an LLM spec or a non-empty list of them, got ${JSON.stringify(l)}`);
  return list;
}

/** One cell of a sweep: the value of each swept field, by its dotted path. */
export type Cell = Record<string, unknown>;

/** The most cells one experiment runs (the product of the sweep's list lengths and the sources). */
export const MAX_CELLS = 1000;

/** The cells of a config's sweep in order, the last field varying fastest; `[{}]` without one. */
export function sweepCells(config: ExperimentConfig): Cell[] {
  const entries = Object.entries(config.sweep ?? {});
  const n = entries.reduce((p, [, v]) => p * v.length, sources(config).length);
  if (n > MAX_CELLS) throw new IalpError(`sweep: ${entries.map(([k, v]) => `${v.length} values of ${k}`).join(' x ')} x ${sources(config).length} preference source(s) make ${n} cells; at most ${MAX_CELLS}`);
  for (const [path] of entries) {
    const set = path.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' && Object.hasOwn(o, k) ? (o as Record<string, unknown>)[k] : undefined), config);
    if (set !== undefined) throw new IalpError(`sweep.${path}: the field is also set (${path}: ${JSON.stringify(set)}); give it in one place`);
  }
  return entries.reduce<Cell[]>((cells, [path, values]) => cells.flatMap((c) => values.map((v) => ({ ...c, [path]: v }))), [{}]);
}

/** Sets `config`'s field at a dotted path (`adaptive.prior`), making the objects on
 * the way; with `ifUnset`, only where nothing is set. No path may reach a prototype. */
export function setConfigPath(config: ExperimentConfig, path: string, v: unknown, ifUnset = false): void {
  const keys = path.split('.');
  if (keys.some((k) => k === '' || k === '__proto__' || k === 'constructor' || k === 'prototype')) throw new IalpError(`sweep: ${JSON.stringify(path)} is not a config field's path`);
  let o = config as Record<string, unknown>;
  for (const k of keys.slice(0, -1)) o = (o[k] ??= {}) as Record<string, unknown>;
  if (ifUnset) o[keys.at(-1)!] ??= v;
  else o[keys.at(-1)!] = v;
}

/** `config` with a cell's values at their paths, and no sweep. */
export function cellConfig(config: ExperimentConfig, cell: Cell): ExperimentConfig {
  const { sweep: _, ...rest } = structuredClone(config);
  for (const [path, v] of Object.entries(cell)) setConfigPath(rest, path, v);
  return rest;
}

/** A cell in words: `adaptive.prior=0.05, pretrain.steps=100000`. */
export function cellLabel(cell: Cell): string {
  return Object.entries(cell).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ');
}

type RunOptions = {
    backend?: BackendKind | 'auto';
    onPhase?: (env: string, phase: ExperimentPhase, detail: string) => void;
    /** Filled with the wall seconds spent in each phase, summed over environments. */
    timings?: Record<string, number>;
    /** Filled with one record per update of every online training run (cached runs included). */
    metrics?: UpdateRecord[];
    /** Run only the index-th of `count` disjoint parts: the (environment, seed) units u with
     * u mod count = index (u = environment's position x seeds + seed); the shared phases
     * (world, reward models, distillation) run in every shard. Results cover the shard's seeds. */
    shard?: Shard;
    /** Every phase must come from the cache (ialp merge of the shards' caches). */
    cacheOnly?: boolean;
    /** Counts the phase results computed, not read from the cache. */
    computed?: { count: number };
};

/** Runs the experiment into `out`; phases already done there are reused. With a
 * sweep, each cell runs as a config of its own into the same folder (the phase
 * cache is content-addressed, so what cells share is computed once), its
 * results tagged with the cell; shards split the (cell, environment, seed) units. */
export async function runExperiment(config: ExperimentConfig, out: string, opts: RunOptions = {}): Promise<EnvResult[]> {
  parseExperimentConfig(config, 'experiment config'); // every key's type, before any work
  // each LLM source as far as it can be checked without loading it (a merge only reads the cache)
  if (!opts.cacheOnly) for (const s of sources(config)) if (parseOracle(s) === null) await checkLlmSpec(s);
  if (config.sweep === undefined) return runCell(config, out, opts, 0);
  const cells = sweepCells(config);
  const configs = cells.map((c, i) => {
    const cfg = cellConfig(config, c);
    const where = `experiment config, cell ${i + 1} (${cellLabel(c)})`;
    parseExperimentConfig(cfg, where);
    try {
      cellSettings(cfg);
    } catch (e) {
      throw new IalpError(`${where}: ${(e as Error).message}`);
    }
    return cfg;
  });
  const results: EnvResult[] = [];
  let units = 0;
  for (const [i, cell] of cells.entries()) {
    const label = cellLabel(cell);
    const cfg = configs[i]!;
    const onPhase = opts.onPhase && ((env: string, p: ExperimentPhase, d: string) => opts.onPhase!(env, p, `${d} {cell ${i + 1}/${cells.length}: ${label}}`));
    const rs = await runCell(cfg, out, { ...opts, onPhase }, units, { index: i, label });
    results.push(...rs.map((r) => ({ ...r, cell })));
    units += (cfg.envs ?? DEFAULTS.envs).length * (cfg.seeds ?? DEFAULTS.seeds);
  }
  return results;
}

/** A cell's settings, each checked against its range (the schema checks types; these
 * are the limits that depend on other fields or on the run): run for every cell of a
 * sweep before any work, so that a bad value in the last cell fails at once. */
function cellSettings(config: ExperimentConfig) {
  const seeds = checkInt('seeds', config.seeds ?? DEFAULTS.seeds, 1, 100);
  const episodes = checkInt('online.episodes', config.online?.episodes ?? DEFAULTS.online.episodes, 10);
  const batchSize = checkInt('online.batchSize', config.online?.batchSize ?? DEFAULTS.online.batchSize, 1);
  const early = checkInt('earlyEpisodes', config.earlyEpisodes ?? DEFAULTS.earlyEpisodes, 1, episodes);
  const pt = config.pretrain ?? {};
  const ptSteps = checkInt('pretrain.steps', pt.steps ?? DEFAULTS.pretrain.steps, 0);
  const ptEpisodes = checkInt('pretrain.episodes', pt.episodes ?? DEFAULTS.pretrain.episodes, 1, 10_000_000);
  const ptUsers = checkInt('pretrain.users', pt.users ?? DEFAULTS.pretrain.users, 1, 65536);
  const ptEpochs = checkInt('pretrain.epochs', pt.epochs ?? DEFAULTS.pretrain.epochs, 1);
  const ptTransitions = checkInt('pretrain.transitionsPerEpoch', pt.transitionsPerEpoch ?? DEFAULTS.pretrain.transitionsPerEpoch, 1);
  const ptEntropy = checkNumber('pretrain.entropyCoef', pt.entropyCoef ?? DEFAULTS.pretrain.entropyCoef, 0, 10);
  const ptWorldEntropy = pt.worldEntropyCoef === undefined ? undefined : checkNumber('pretrain.worldEntropyCoef', pt.worldEntropyCoef, 0, 10);
  // the distillation's defaults depend on the source; what is given is checked here
  if (config.distill?.users !== undefined) checkInt('distill.users', config.distill.users, 1);
  if (config.distill?.candidates !== undefined) checkInt('distill.candidates', config.distill.candidates, 2, 26);
  if (config.distill?.statesPerUser !== undefined) checkInt('distill.statesPerUser', config.distill.statesPerUser, 1, 1000);
  const deploy = config.deploy ?? DEFAULTS.deploy;
  const cells = sources(config);
  for (const c of cells) parseOracle(c); // a bad oracle:NOISE fails here, not after the logs' phases
  return { seeds, episodes, batchSize, early, ptSteps, ptEpisodes, ptUsers, ptEpochs, ptTransitions, ptEntropy, ptWorldEntropy, deploy, cells };
}

/** One cell: the whole experiment of a config without a sweep. Its (environment,
 * seed) units are numbered from `firstUnit` for the shards. */
async function runCell(config: ExperimentConfig, out: string, opts: RunOptions, firstUnit: number, cell?: { index: number; label: string }): Promise<EnvResult[]> {
  const { seeds, episodes, batchSize, early, ptSteps, ptEpisodes, ptUsers, ptEpochs, ptTransitions, ptEntropy, ptWorldEntropy, deploy, cells } = cellSettings(config);
  // seeds run side by side (each on a thread of the native build's pool); results do not depend on it
  const parallel = Math.max(1, Math.min(4, availableParallelism()));
  const onPhase = opts.onPhase ?? (() => {});
  const timings = opts.timings ?? {};
  const logged = (run: Run, tags: { method: string; env: string; seed: number; source?: string }): Run => {
    for (const p of run.updates ?? []) opts.metrics?.push(updateRecord(p, { ...tags, ...(cell ? { cell: cell.label } : {}) }));
    return run;
  };
  let current: { name: ExperimentPhase; since: number } | undefined;
  // only when asked for, so that cache keys of ndarray runs stay as they were
  const compute = config.compute === undefined ? {} : { compute: config.compute, ...(config.device ? { device: config.device } : {}) };
  const phase = (env: string, name: ExperimentPhase, detail: string) => {
    const now = performance.now();
    if (current) timings[current.name] = (timings[current.name] ?? 0) + (now - current.since) / 1000;
    current = { name, since: now };
    onPhase(env, name, detail);
  };
  const results: EnvResult[] = [];
  const shard = opts.shard ?? { index: 0, count: 1 };
  if (!(Number.isInteger(shard.count) && shard.count >= 1 && Number.isInteger(shard.index) && shard.index >= 0 && shard.index < shard.count)) {
    throw new IalpError(`shard: expected I/N with 0 <= I < N, got ${shard.index}/${shard.count}`);
  }
  for (const [envAt, name] of (config.envs ?? DEFAULTS.envs).entries()) {
    const seedIdx = Array.from({ length: seeds }, (_, s) => s).filter((s) => (firstUnit + envAt * seeds + s) % shard.count === shard.index);
    if (seedIdx.length === 0) continue;
    phase(name, 'world', 'loading');
    const world = await World.load({ name, data: config.data }, backendFor(config.compute, opts.backend));
    const cache = new PhaseCache(join(out, 'cache', name), `${world.backend.version()}/${PHASES_REVISION}`, undefined, opts.cacheOnly, () => {
      if (opts.computed) opts.computed.count++;
    });
    const env = { name, batchSize };
    const fp = world.info.fingerprint;
    const quality = (model: Uint8Array, k: number) =>
      rewardModelQuality(world, model, { users: DEFAULTS.evalUsers, statesPerUser: DEFAULTS.evalStatesPerUser, candidates: k, seed: 1 });


    // what uses no preference source is computed once per environment and seed
    const baseRuns = new Map<Method, Run[]>();
    const piLogs: Policy[] = [];
    const piLogsWorld: Policy[] = [];
    const ev = (seed: number, policy: 'random' | 'popularity' | Policy | { greedy: Uint8Array }) => async (): Promise<Run> =>
      ({ episodes: await evaluate({ world, env, policy, episodes, seed, users: 'heldOut', ...(policy instanceof Policy ? { mode: deploy } : {}) }) });
    const tr = (seed: number, init?: Policy, adaptive?: AdaptiveOptions, critic?: Uint8Array) => async (): Promise<Run> => {
      const updates: TrainProgress[] = [];
      const r = await train({ world, env, episodes, seed, users: 'heldOut', init, adaptive, critic: adaptive ? critic : undefined, a2c: { ...compute }, onProgress: (p) => updates.push(p) });
      // the users in the order they arrived, as the evaluated rows' rounds are
      return { episodes: inArrivalOrder(r.episodes, batchSize), updates, ...(r.trace ? { trace: r.trace } : {}) };
    };
    // unset, the same key as before the field existed: earlier runs' caches stay valid
    const worldLoss = ptWorldEntropy === undefined ? {} : { loss: { entropyCoef: ptWorldEntropy } };
    const ialpCfg = (seed: number) => ({ steps: ptSteps, episodes: ptEpisodes, users: ptUsers, seed, a2c: { ...compute, ...worldLoss } });
    const pretrained = async (what: string, key: unknown, make: () => Promise<Policy>) =>
      Policy.fromBytes(await cache.bytes(what, key, async () => (await make()).toBytes(), (b) => world.backend.loadPolicy(b)), world.backend.kind);
    const savePolicy = async (file: string, p: Policy) => {
      await mkdir(join(out, 'policies'), { recursive: true });
      await writeFileAtomic(join(out, 'policies', cell ? file.replace(/\.ialp$/, `-cell${cell.index + 1}.ialp`) : file), p.toBytes());
    };
    // each source's distillation (asked for once, each seed's fit reads the answers) and r_phi per seed
    const bySource: { source: string; tag: string; llm: EnvResult['llm']; examples: number; rphis: Uint8Array[]; rphiQs: AgreementMetrics[]; pi0s: Policy[]; runs: Map<Method, Run>[]; fit: (s: number) => Promise<void> }[] = [];
    for (const source of cells) {
      const tag = cells.length > 1 ? ` [${source}]` : '';
      const isOracle = parseOracle(source) !== null;
      const d = isOracle ? DEFAULTS.distill.oracle : DEFAULTS.distill.llm;
      const users = checkInt('distill.users', config.distill?.users ?? d.users, 1);
      const k = checkInt('distill.candidates', config.distill?.candidates ?? d.candidates, 2, 26);
      const spread = 'requests' in d ? Math.min(16, Math.ceil(d.requests / Math.min(users, world.info.trainUsers))) : d.statesPerUser;
      const statesPerUser = checkInt('distill.statesPerUser', config.distill?.statesPerUser ?? spread, 1, 1000);
      phase(name, 'distill', `${users} users x ${statesPerUser} states, ${k} candidates${tag}`);
      // the answers live in the preference cache, asked for once per source (each seed's fit reads them)
      let answers: Promise<DistillEnvResult> | undefined;
      const answered = () => (answers ??= distillPreferences({
        world, llm: source, users, candidates: k, statesPerUser, seed: 0, rewardModel: false,
        onProgress: (p, pr) => {
          if (p === 'model') phase(name, 'distill', `loading the LLM (the default model is fetched once)${tag}`);
          // every 1% (a log file gets 100 lines, not one per prompt), the first and the last
          else if (pr && (pr.done <= 1 || pr.done === pr.total || pr.done % Math.max(1, Math.floor(pr.total / 100)) === 0)) {
            onPhase(name, 'distill', `${pr.done}/${pr.total} prompts, ${pr.cacheHits} cached, ${pr.failures} failed${tag}`);
          }
        },
      }));
      const distilled = await cache.json('distill-source', { fp, source, users, k, statesPerUser }, async () => {
        const dd = await answered();
        const r = dd.report;
        if (!dd.labels.some((l) => l.rewards)) {
          const reasons = Object.entries(r.failureReasons).map(([kk, v]) => `${kk} ${v}`).join(', ');
          throw new IalpError(`${name}: the LLM gave no valid answer, so there is no reward model to learn: ${r.failures} of ${r.requests} prompts failed (${reasons}), e.g. ${r.failureExample ?? 'no detail'}`);
        }
        const q = r.quality;
        return { llm: { model: r.llm, hitRate: q[0]!.hitRate, auc: q[0]!.auc, randomHitRate: q[1]!.hitRate, popularityHitRate: q[2]?.hitRate ?? NaN, failures: r.failures, requests: r.requests } };
      });
      let rphiExamples: Promise<RewardExamplesInput> | undefined;
      const src = {
        source, tag, llm: distilled.llm, examples: 0, rphis: [] as Uint8Array[], rphiQs: [] as AgreementMetrics[], pi0s: [] as Policy[], runs: [] as Map<Method, Run>[],
        fit: async (s: number) => {
          const seed = 1000 + s;
          const fitted = await cache.json('reward-model-llm', { fp, source, users, k, statesPerUser, seed }, async () => {
            const f = await fitRewardModel(world, await (rphiExamples ??= answered().then((dd) => rewardExamples(dd.labels))), { seed });
            return { rphi: b64(f.model), examples: f.examples };
          });
          src.rphis[s] = unb64(fitted.rphi);
          src.examples = fitted.examples;
          src.rphiQs[s] = await cache.json('reward-model-quality', { fp, rphi: sha256(src.rphis[s]!) }, async () => quality(src.rphis[s]!, 10));
          onPhase(name, 'reward-models', `seed ${s + 1}/${seeds}: r_phi fitted${tag}`);
        },
      };
      bySource.push(src);
    }

    // The reward models, pre-training and the online runs, each as one pool of (seed,
    // what) units: what uses no preference source beside each source's, so that no
    // thread waits for the last seed of one kind while units of another are left
    // (the units are independent and deterministic: results do not depend on the order).
    const units = seedIdx.flatMap((s) => [null, ...bySource].map((src) => ({ s, src })));
    phase(name, 'reward-models', `${seeds} seeds: the logged feedback's${cells.length > 1 ? `, r_phi of ${cells.length} sources` : ' and r_phi'}`);
    // the logged examples once, each seed's fit from them (only where a fit is not cached)
    let logsExamples: RewardExamplesInput | undefined;
    const logsRms: Uint8Array[] = [];
    const logsQs: AgreementMetrics[] = [];
    await eachLimit(units, parallel, async ({ s, src }) => {
      if (src) return src.fit(s);
      logsRms[s] = await cache.bytes('reward-model-logs', { fp, seed: 1000 + s }, async () => (await fitRewardModel(world, logsExamples ??= loggedExamples(world), { seed: 1000 + s })).model, (b) => world.backend.loadRewardModel(b));
      logsQs[s] = await cache.json('reward-model-logs-quality', { fp, rm: sha256(logsRms[s]!) }, async () => quality(logsRms[s]!, 10));
      onPhase(name, 'reward-models', `seed ${s + 1}/${seeds}: the logs' reward model fitted`);
    });

    phase(name, 'pretrain', `${seeds} seeds: TD on the logs, A2C in the logs model's world and in r_phi's${cells.length > 1 ? ` (${cells.length} sources)` : ''}`);
    await eachLimit(units, parallel, async ({ s, src }) => {
      const seed = 1000 + s;
      if (!src) {
        const logsCfg = { epochs: ptEpochs, transitionsPerEpoch: ptTransitions, episodes: 0, seed, a2c: { loss: { entropyCoef: ptEntropy }, ...compute } };
        piLogs[s] = await pretrained('pi0-logs', { fp, logsCfg }, async () => (await pretrain({ world, ialp: logsCfg })).policy);
        piLogsWorld[s] = await pretrained('pi0-logs-world', { fp, cfg: ialpCfg(seed), rm: sha256(logsRms[s]!) }, async () =>
          (await pretrain({ world, ialp: ialpCfg(seed), rewardModel: logsRms[s]! })).policy);
        onPhase(name, 'pretrain', `seed ${s + 1}/${seeds} done: the logs' policies`);
        await savePolicy(`${name}-logs-seed${seed}.ialp`, piLogs[s]!);
        await savePolicy(`${name}-logs-world-seed${seed}.ialp`, piLogsWorld[s]!);
        return;
      }
      src.pi0s[s] = await pretrained('pi0-ialp', { fp, cfg: ialpCfg(seed), rphi: sha256(src.rphis[s]!) }, async () =>
        (await pretrain({ world, ialp: ialpCfg(seed), rewardModel: src.rphis[s]! })).policy);
      onPhase(name, 'pretrain', `seed ${s + 1}/${seeds} done: iALP${src.tag}`);
      // the pre-trained policies, as artefacts a user can load (Policy.load, ialp recommend)
      await savePolicy(`${name}-ialp${cells.length > 1 ? `-${src.source.replace(/[^A-Za-z0-9.]+/g, '_')}` : ''}-seed${seed}.ialp`, src.pi0s[s]!);
    });
    phase(name, 'online', `${seeds} seeds, baselines and the learnt methods`);
    // one method's online run of seed index `s`, cached under `key` (and the method, its extra)
    const onlineRun = (s: number, key: object, src?: { source: string; tag: string }) =>
      async (method: Method, f: () => Promise<Run>, extra: unknown = null) => {
        onPhase(name, 'online', `seed ${s + 1}/${seeds}, ${method}${src?.tag ?? ''}`);
        return logged(await cache.json(`online-${method}`, { ...key, extra, order: 'arrival' }, f), { method, env: name, seed: 1000 + s, ...(src ? { source: src.source } : {}) });
      };
    const baseBySeed: Map<Method, Run>[] = [];
    await eachLimit(units, parallel, async ({ s, src }) => {
      const seed = 1000 + s;
      const m = new Map<Method, Run>();
      if (!src) {
        const online = onlineRun(s, { fp, episodes, batchSize, seed, ...compute });
        m.set('random', await online('random', ev(seed, 'random')));
        m.set('popularity', await online('popularity', ev(seed, 'popularity')));
        m.set('greedy-logs', await online('greedy-logs', ev(seed, { greedy: logsRms[s]! }), sha256(logsRms[s]!)));
        m.set('a2c', await online('a2c', tr(seed)));
        m.set('offline-logs+ft', await online('offline-logs+ft', tr(seed, piLogs[s]), sha256(piLogs[s]!.toBytes())));
        m.set('logs-world', await online('logs-world', ev(seed, piLogsWorld[s]!), { pi: sha256(piLogsWorld[s]!.toBytes()), deploy }));
        baseBySeed[s] = m;
        return;
      }
      const pi0 = src.pi0s[s]!;
      const rphi = src.rphis[s]!;
      const online = onlineRun(s, { fp, episodes, batchSize, seed, ...compute, rphi: sha256(rphi) }, src);
      const pi0Hash = sha256(pi0.toBytes());
      m.set('greedy-llm', await online('greedy-llm', ev(seed, { greedy: rphi })));
      m.set('ialp', await online('ialp', ev(seed, pi0), { pi: pi0Hash, deploy }));
      m.set('a-ialp-ft', await online('a-ialp-ft', tr(seed, pi0), pi0Hash));
      m.set('a-ialp-ap', await online('a-ialp-ap', tr(seed, pi0, config.adaptive ?? {}, rphi), { pi0: pi0Hash, adaptive: config.adaptive ?? {}, defaults: ADAPTIVE_REVISION }));
      src.runs[s] = m;
    });
    for (const m of BASELINES) baseRuns.set(m, seedIdx.map((s) => baseBySeed[s]!.get(m)!));

    for (const { source, llm, examples, rphiQs, runs: bySeed } of bySource) {
      const runs = new Map<Method, Run[]>(METHODS.map((m) => [m, baseRuns.get(m) ?? seedIdx.map((s) => bySeed[s]!.get(m)!)]));
      const methods = METHODS.map((m) => summaries(m, runs.get(m)!, early));
      const best = methods.filter((m) => BASELINES.includes(m.method))
        .reduce((a, b) => (meanCi(b.early).mean > meanCi(a.early).mean ? b : a));
      for (const m of methods) {
        if (m.method !== best.method) m.vsBest = { baseline: best.method, ...pairedDiff(m.early, best.early) };
      }
      results.push({
        env: name, source, earlyEpisodes: early, seeds: seedIdx.map((x) => 1000 + x), methods, llm,
        rewardModel: { ...overSeeds(seedIdx.map((x) => rphiQs[x]!)), examples },
        logsRewardModel: overSeeds(seedIdx.map((x) => logsQs[x]!)),
        bestBaseline: best.method,
      });
    }
  }
  if (current) timings[current.name] = (timings[current.name] ?? 0) + (performance.now() - current.since) / 1000;
  return results;
}

/** Reward models' agreement, one per seed: the means, and each seed's. */
function overSeeds(qs: AgreementMetrics[]): SeedsQuality {
  const hitRate = qs.map((q) => q.hitRate);
  const auc = qs.map((q) => q.auc);
  return { requests: qs[0]!.n, hitRate: meanCi(hitRate).mean, auc: meanCi(auc).mean, perSeed: { hitRate, auc } };
}

/** A reward model's AUC over its seeds' fits in words: `0.858 (5 fits: 0.851-0.866)`. */
export function aucOverSeeds(q: SeedsQuality): string {
  const a = q.perSeed.auc;
  if (a.length < 2) return q.auc.toFixed(3);
  return `${q.auc.toFixed(3)} (${a.length} fits: ${Math.min(...a).toFixed(3)}-${Math.max(...a).toFixed(3)})`;
}

/** Runs `f` on every item, at most `limit` at once; rejects with the first error once all have settled. */
async function eachLimit<T>(items: readonly T[], limit: number, f: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (next < items.length) {
      const x = items[next++]!;
      try { await f(x); } catch (e) { errors.push(e); }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length) throw errors[0];
}

/** The examples of a reward model of the logged feedback alone: each training
 * user's logged interaction, its feedback the label, from the states before it. */
function loggedExamples(world: World): RewardExamplesInput {
  const reqs = world.preferenceRequests({ users: Math.min(200, world.info.trainUsers), candidates: 2, seed: 7 });
  const h = reqs[0]!.histItems.length;
  const hi: number[] = [];
  const hr: number[] = [];
  const it: number[] = [];
  const ys: number[] = [];
  for (const r of reqs) loggedFeedback(r, hi, hr, it, ys);
  return { history: h, histItems: Uint32Array.from(hi), histRewards: Float32Array.from(hr), items: Uint32Array.from(it), labels: Float32Array.from(ys) };
}
