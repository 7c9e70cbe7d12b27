// iALP steps 1-3 for an environment: ask the LLM which candidates users would
// prefer, cache the answers, score them against the simulator's ground truth,
// and fit the reward model r_phi to the labels.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackendKind, RewardExamplesInput } from './backend.js';
import type { Request, RewardFit, RewardModelConfig } from './core-types.js';
import { agreement, distill, PreferenceCache, renderPrompt, resolveLlm, type AgreementMetrics, type AgreementReport, type DistillMode, type DistillProgress, type LlmBackend, type PreferenceRequest } from './llm/index.js';
import { checkInt, IalpError } from './options.js';
import { cacheDir, writeFileAtomic } from './paths.js';
import { World, type EnvPreferenceRequest, type WorldOptions } from './world.js';

const PAD = 0xffffffff;

/** r_phi's network and fit (defaults: `CORE_DEFAULTS.rewardModel`). */
export type RewardModelOptions = Request<RewardModelConfig>;

export interface DistillEnvOptions {
  env?: WorldOptions;
  world?: World;
  /** "default" (SmolLM2-135M-Instruct), a .gguf path, an OpenAI-compatible URL, or `oracle[:NOISE|:inverted]`. */
  llm?: string | LlmBackend;
  /** Users asked about. Default 20. */
  users?: number;
  /** K: candidates per request. Default 5. */
  candidates?: number;
  statesPerUser?: number;
  /** Held-out users on which r_phi is scored. Default 50. */
  evalUsers?: number;
  /** States per held-out user scored. Default 1. */
  evalStatesPerUser?: number;
  seed?: number;
  /** Prompts in flight at once. Default 4. */
  concurrency?: number;
  /** How the LLM is asked (see `DistillMode`); default that of `distill`. */
  mode?: DistillMode;
  /** SQLite file of cached answers. Default `<cache dir>/preferences.sqlite`. */
  cachePath?: string;
  rewardModel?: RewardModelOptions | false;
  backend?: BackendKind | 'auto';
  onProgress?: (phase: 'model' | 'distill' | 'reward-model', p?: DistillProgress) => void;
  signal?: AbortSignal;
}

export interface QualityRow {
  /** Who chose: the LLM, random or popularity choices of the same size, or r_phi. */
  predictor: string;
  requests: number;
  /** Share of requests where a chosen candidate is among the user's top third by ground truth. */
  hitRate: number;
  /** Mean per-request AUC against the same ground truth. */
  auc: number;
}

export interface DistillEnvReport {
  env: string;
  llm: string;
  requests: number;
  answered: number;
  failures: number;
  cacheHits: number;
  llmCalls: number;
  promptsPerSecond: number;
  /** Agreement with ground truth on the training users' requests (LLM, random, popularity). */
  quality: QualityRow[];
  /** r_phi's fit and agreement with ground truth on held-out users. */
  rewardModel: { examples: number; fit: RewardFit; heldOut: QualityRow } | null;
  failureReasons: Record<string, number>;
  /** One failure in words (its reason and detail), to show the user. */
  failureExample?: string;
}

export interface DistillEnvResult {
  report: DistillEnvReport;
  /** The r_phi artefact (null when no reward model was fitted). */
  rewardModel: Uint8Array | null;
  /** Per request: the environment request and the LLM's labels (null where it failed). */
  labels: { request: EnvPreferenceRequest; rewards: number[] | null }[];
}

/** The ids of a request's top third of candidates by ground truth. */
function liked(r: EnvPreferenceRequest): number[] {
  const m = Math.max(1, Math.ceil(r.candidates.length / 3));
  return r.candidates.map((c, i) => [c, r.truth[i]!] as const).sort((a, b) => b[1] - a[1]).slice(0, m).map(([c]) => c);
}

/** An oracle preference source: `oracle` (the ground truth), `oracle:NOISE`
 * (each answer replaced, with probability NOISE, by candidates drawn at random)
 * or `oracle:inverted` (a compromised source: it picks what the user likes least). */
export interface OracleSpec { noise: number; inverted: boolean }

/** Parses `oracle`, `oracle:0.3` and `oracle:inverted`; null for any other LLM spec. */
export function parseOracle(spec: unknown): OracleSpec | null {
  if (typeof spec !== 'string' || !(spec === 'oracle' || spec.startsWith('oracle:'))) return null;
  const arg = spec.slice('oracle:'.length);
  if (spec === 'oracle' || arg === '0') return { noise: 0, inverted: false };
  if (arg === 'inverted') return { noise: 0, inverted: true };
  const noise = /^(0(\.\d+)?|1(\.0+)?)$/.test(arg) ? Number(arg) : NaN;
  if (!(noise >= 0 && noise <= 1)) throw new IalpError(`llm "${spec}": expected oracle, oracle:NOISE with NOISE in [0, 1] (e.g. oracle:0.3), or oracle:inverted`);
  return { noise, inverted: false };
}

/** A uniform draw in [0, 1) from a string and a seed (FNV-1a, then a 32-bit mix). */
function unitHash(text: string, seed: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  h ^= h >>> 16; h = Math.imul(h, 0x7feb352d); h ^= h >>> 15; h = Math.imul(h, 0x846ca68b); h ^= h >>> 16;
  return (h >>> 0) / 2 ** 32;
}

/**
 * `--llm oracle[:NOISE|:inverted]`: not an LLM but the simulator's ground
 * truth answering the same prompts (it chooses the candidates the user likes
 * best, as many as the prompt allows); it only answers prompts, nothing reads
 * it otherwise. With NOISE, each answer is, with that probability, a random
 * choice of the same size (seeded by the prompt): labels that agree with users
 * at a stated rate. Inverted, it chooses the ones the user likes least.
 */
function oracle(requests: EnvPreferenceRequest[], prompts: PreferenceRequest[], spec: OracleSpec, seed: number): LlmBackend {
  const answers = new Map<string, string>();
  requests.forEach((r, i) => {
    const rendered = renderPrompt(prompts[i]!);
    const key = JSON.stringify(rendered.prompt);
    const order = r.candidates.map((_, j) => j);
    if (spec.inverted) order.sort((a, b) => r.truth[a]! - r.truth[b]! || a - b);
    else if (unitHash(key, seed) < spec.noise) {
      // a seeded shuffle of the candidates
      for (let j = order.length - 1; j > 0; j--) {
        const k = Math.floor(unitHash(`${key}#${j}`, seed) * (j + 1));
        [order[j], order[k]] = [order[k]!, order[j]!];
      }
    } else order.sort((a, b) => r.truth[b]! - r.truth[a]! || a - b);
    answers.set(key, JSON.stringify({ choices: order.slice(0, rendered.maxChoices).map((j) => rendered.labels[j]!) }));
  });
  return {
    id: spec.inverted ? 'oracle:inverted' : spec.noise > 0 ? `oracle:noise=${spec.noise}` : 'oracle:ground-truth',
    concurrency: 4,
    complete: async (prompt) => answers.get(JSON.stringify(prompt)) ?? '{"choices": []}',
    close: async () => {},
  };
}

function feedbackText(r: number): string {
  if (r >= 0.75) return 'loved it';
  if (r >= 0.55) return 'liked it';
  if (r >= 0.35) return 'it was ok';
  return 'disliked it';
}

function row(predictor: string, m: AgreementMetrics): QualityRow {
  return { predictor, requests: m.n, hitRate: m.hitRate, auc: m.auc };
}

/** Distills preferences from an LLM for an environment and fits r_phi to them. */
export async function distillPreferences(options: DistillEnvOptions = {}): Promise<DistillEnvResult> {
  const users = checkInt('users', options.users ?? 20, 1);
  const k = checkInt('candidates', options.candidates ?? 5, 2, 26);
  const seed = checkInt('seed', options.seed ?? 0, 0, 2 ** 31 - 1);
  const evalUsers = checkInt('evalUsers', options.evalUsers ?? 50, 1);
  const world = options.world ?? (await World.load(options.env ?? {}, options.backend ?? 'auto'));
  const requests = world.preferenceRequests({ users, candidates: k, statesPerUser: options.statesPerUser, seed, pool: 'train' });
  if (requests.length === 0) throw new IalpError(`no preference requests: environment "${world.info.env}" has no training users with logged history`);
  const prompts: PreferenceRequest[] = requests.map((r) => ({
    state: {
      history: r.histItems.flatMap((it, j) => (it === PAD ? [] : [{ text: world.itemText(it), feedback: r.histRewards[j]!, feedbackText: feedbackText(r.histRewards[j]!) }])),
    },
    candidates: r.candidates.map((id) => ({ id, text: world.itemText(id) })),
  }));

  const cachePath = options.cachePath ?? join(cacheDir(), 'preferences.sqlite');
  await mkdir(join(cachePath, '..'), { recursive: true });
  const cache = new PreferenceCache(cachePath);
  let backend: LlmBackend | undefined;
  let out;
  try {
    options.onProgress?.('model');
    backend = typeof options.llm === 'object' ? options.llm
      : parseOracle(options.llm) ? oracle(requests, prompts, parseOracle(options.llm)!, seed)
      : await resolveLlm(options.llm, { concurrency: options.concurrency ?? 4, signal: options.signal });
    out = await distill(prompts, {
      backend,
      cache,
      concurrency: options.concurrency ?? backend.concurrency ?? 4,
      mode: options.mode,
      seed,
      signal: options.signal,
      onProgress: (p) => options.onProgress?.('distill', p),
    });
  } finally {
    cache.close();
    if (backend && typeof options.llm !== 'object') await backend.close();
  }
  const results = out.results;
  const failureReasons: Record<string, number> = {};
  const firstFailure = results.find((r) => r.status !== 'ok');
  for (const r of results) if (r.status !== 'ok') failureReasons[r.reason ?? 'unknown'] = (failureReasons[r.reason ?? 'unknown'] ?? 0) + 1;

  const popularityOf = new Map<number, number>();
  requests.forEach((r) => r.candidates.forEach((c, i) => popularityOf.set(c, r.popularity[i]!)));
  const agree: AgreementReport = agreement(
    requests.map((r, i) => ({ candidates: r.candidates, truth: liked(r), preference: results[i]!.preference })),
    (id) => popularityOf.get(id) ?? 0,
  );
  const quality = [row('llm', agree.llm), row('random', agree.random), ...(agree.popularity ? [row('popularity', agree.popularity)] : [])];
  const labels = requests.map((request, i) => ({ request, rewards: results[i]!.preference?.rewards ?? null }));

  let rewardModel: Uint8Array | null = null;
  let rmReport: DistillEnvReport['rewardModel'] = null;
  if (options.rewardModel !== false && labels.some((l) => l.rewards)) {
    options.onProgress?.('reward-model');
    const fitted = await fitRewardModel(world, rewardExamples(labels), { ...(options.rewardModel ?? {}), seed });
    rewardModel = fitted.model;
    const a = rewardModelQuality(world, rewardModel, { users: evalUsers, statesPerUser: options.evalStatesPerUser ?? 1, candidates: k, seed: seed + 1 });
    rmReport = { examples: fitted.examples, fit: fitted.fit, heldOut: row('reward model r_phi (held-out users)', a) };
  }
  const s = out.summary;
  return {
    report: {
      env: world.info.env,
      llm: backend.id,
      requests: requests.length,
      answered: results.filter((r) => r.status === 'ok').length,
      failures: s.failures,
      cacheHits: s.cacheHits,
      llmCalls: s.llmCalls,
      promptsPerSecond: s.promptsPerSecond,
      quality,
      rewardModel: rmReport,
      failureReasons,
      ...(firstFailure ? { failureExample: `${firstFailure.reason ?? 'unknown'}${firstFailure.detail ? `: ${firstFailure.detail}` : ''}` } : {}),
    },
    rewardModel,
    labels,
  };
}

/**
 * How well a reward model artefact ranks held-out users' candidates against
 * the simulator's ground truth: the same hit rate and per-request AUC as the
 * LLM is scored by, on preference requests of held-out users (who serve only
 * evaluation).
 */
export function rewardModelQuality(
  world: World,
  model: Uint8Array,
  opts: { users: number; statesPerUser?: number; candidates: number; seed: number },
): AgreementMetrics {
  const rm = world.backend.loadRewardModel(model);
  const k = opts.candidates;
  const held = world.preferenceRequests({ users: opts.users, statesPerUser: opts.statesPerUser ?? 1, candidates: k, seed: opts.seed, pool: 'heldOut' });
  const judgements = held.map((r) => {
    const scores = rm.score(Uint32Array.from(r.candidates.flatMap(() => r.histItems)), Float32Array.from(r.candidates.flatMap(() => r.histRewards)), Uint32Array.from(r.candidates));
    const m = Math.max(1, Math.ceil(k / 4));
    const order = r.candidates.map((c, i) => [c, scores[i]!] as const).sort((a, b) => b[1] - a[1]);
    return { candidates: r.candidates, truth: liked(r), preference: { chosen: order.slice(0, m).map(([c]) => c), rewards: Array.from(scores) } };
  });
  return agreement(judgements).llm;
}

/** Appends the logged feedback inside a request's state: each logged
 * interaction as an example, from the (padded) states before it. */
export function loggedFeedback(r: { histItems: number[]; histRewards: number[] }, histItems: number[], histRewards: number[], items: number[], ys: number[]): void {
  const h = r.histItems.length;
  for (let cut = 1; cut < h; cut++) {
    if (r.histItems[cut] === PAD) continue;
    histItems.push(...new Array<number>(h - cut).fill(PAD), ...r.histItems.slice(0, cut));
    histRewards.push(...new Array<number>(h - cut).fill(0), ...r.histRewards.slice(0, cut));
    items.push(r.histItems[cut]!);
    ys.push(Math.min(1, Math.max(0, r.histRewards[cut]!)));
  }
}

/** r_phi's training examples: each candidate with the LLM's label, and the
 * logged feedback of the request's state (each logged interaction in it, from
 * the states before it): what the logs' own reward model learns from, so that
 * r_phi knows at least what the logs know. */
export function rewardExamples(labels: DistillEnvResult['labels']): RewardExamplesInput {
  if (!labels.some((l) => l.rewards)) throw new IalpError('reward model: labels: expected at least one answered request, got none');
  const histItems: number[] = [];
  const histRewards: number[] = [];
  const items: number[] = [];
  const ys: number[] = [];
  for (const { request: r, rewards } of labels) {
    if (rewards) {
      r.candidates.forEach((c, i) => {
        histItems.push(...r.histItems);
        histRewards.push(...r.histRewards);
        items.push(c);
        ys.push(rewards[i]!);
      });
    }
    loggedFeedback(r, histItems, histRewards, items, ys);
  }
  const history = labels[0]!.request.histItems.length;
  return { history, histItems: Uint32Array.from(histItems), histRewards: Float32Array.from(histRewards), items: Uint32Array.from(items), labels: Float32Array.from(ys) };
}

/**
 * Fits a reward model to `examples` (r_phi to `rewardExamples(labels)`, the
 * logs' model to logged feedback alone): `config.seed` seeds the network's
 * initialisation and the order of its minibatches, so that fits of one set of
 * examples under different seeds show how much the reward model, and what is
 * built on it, owes to that draw.
 */
export async function fitRewardModel(
  world: World,
  examples: RewardExamplesInput,
  config: RewardModelOptions = {},
): Promise<{ model: Uint8Array; fit: RewardFit; examples: number }> {
  const fitted = await world.backend.trainRewardModel(world.raw, examples, config);
  return { model: fitted.model, fit: fitted.fit, examples: examples.items.length };
}

/** Writes a distillation's report (JSON) and r_phi artefact into `dir`. */
export async function saveDistillation(dir: string, result: DistillEnvResult): Promise<{ report: string; rewardModel: string | null }> {
  await mkdir(dir, { recursive: true });
  const report = join(dir, 'distill-report.json');
  await writeFileAtomic(report, new TextEncoder().encode(JSON.stringify({ ...result.report, labels: result.labels }, null, 2)));
  let rm: string | null = null;
  if (result.rewardModel) {
    rm = join(dir, 'reward-model.ialprm');
    await writeFileAtomic(rm, result.rewardModel);
  }
  return { report, rewardModel: rm };
}
