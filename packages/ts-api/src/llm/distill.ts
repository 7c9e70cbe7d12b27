// iALP steps 1-2 at scale: ask the LLM for the preferences behind many requests, with a
// bounded number in flight, every answer validated, retried when malformed and written to
// the cache as soon as it is known (a killed run loses at most what was in flight).
import { AbortError, IalpError, checkInt, checkNumber } from '../options.js';
import { YesNoUnsupported, type LlmClient, type YesNoQuery } from './client.js';
import type { CachedPreference, PreferenceCache } from './cache.js';
import {
  choicesOverOrders,
  parseAnswer,
  pointwiseAnswer,
  renderPointwise,
  renderPrompt,
  toPreference,
  type FailureReason,
  type ParsedAnswer,
  type Preference,
  type PreferenceRequest,
  type RenderedPrompt,
} from './prompt.js';
import { canonicalJson, sha256Hex } from './util.js';

/**
 * How the model is asked. `choice`: one prompt lists the K candidates and the answer names
 * the best (JSON-schema constrained). `pointwise`: one yes/no question per candidate ("would
 * the user enjoy it?"), scored by log p(yes) - log p(no), the history evaluated once per
 * request; it needs a backend with `scoreYesNo` and falls back to `choice` without one.
 */
export type DistillMode = 'choice' | 'pointwise';

export interface DistillOptions {
  backend: LlmClient;
  /** Default `choice`. */
  mode?: DistillMode;
  /**
   * Choice mode: ask each request under this many orders of its candidates (cyclic shifts,
   * so that each candidate is shown in that many positions) and label each candidate with
   * the share of orders in which it was chosen. Default 1 (the order given). Pointwise mode
   * needs none: a candidate's position plays no part in its question.
   */
  permutations?: number;
  /** Answers already known are not asked again; new ones are stored. */
  cache?: PreferenceCache;
  /** Requests in flight at once. Default: the backend's own concurrency. */
  concurrency?: number;
  /** Further attempts after a malformed answer, a timeout or a backend error. Default 2. */
  maxRetries?: number;
  /** Per-call timeout, ms. Default 120,000. */
  timeoutMs?: number;
  /** Sampling temperature of the first attempt. Default 0 (greedy, deterministic). */
  temperature?: number;
  /** Seed of the first attempt; attempt i uses seed + i. Default 0. */
  seed?: number;
  /** Temperature of retries when `temperature` is lower: a greedy retry would repeat the same answer. Default 0.7. */
  retryTemperature?: number;
  /** Ask again for requests whose cached answer is a failure. Default false. */
  retryFailed?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: DistillProgress) => void;
}

export interface DistillProgress {
  done: number;
  total: number;
  /** Served from the cache (or from an identical request in the same run). */
  cacheHits: number;
  /** Requests without a valid answer ('failed' or 'error'). */
  failures: number;
  /** Backend calls made, retries included (a pointwise request's K questions are one call). */
  llmCalls: number;
  /** Requests answered by the backend per second of this run. */
  promptsPerSecond: number;
  elapsedSeconds: number;
}

export type DistillFailure = FailureReason | 'timeout' | 'backend-error';

export interface DistillResult {
  /** 'ok': a valid answer; 'failed': only malformed answers (cached); 'error': timeouts or backend errors (not cached, so a rerun tries again). */
  status: 'ok' | 'failed' | 'error';
  preference?: Preference;
  /** How this request was answered: `choice` where pointwise mode fell back to it. */
  mode: DistillMode;
  /** The last raw answer ('' when the backend gave none; pointwise: the yes/no scores as JSON). */
  raw: string;
  attempts: number;
  reason?: DistillFailure;
  detail?: string;
  cached: boolean;
}

export interface DistillReport {
  /** One per request, in request order. */
  results: DistillResult[];
  summary: DistillProgress;
}

interface Outcome {
  status: 'ok' | 'failed' | 'error';
  answer: ParsedAnswer | null;
  raw: string;
  attempts: number;
  reason?: DistillFailure;
  detail?: string;
}

/** One question for the backend, cached under its own key. */
interface Task {
  mode: DistillMode;
  key: string;
  ask: () => Promise<Outcome>;
  /** Pointwise: the choice prompt asked instead when the backend turns out to lack yes/no scores. */
  fallback?: Task;
}

/** The cache key of a rendered prompt under given sampling settings. */
export function preferenceKey(r: RenderedPrompt, sampling: { temperature: number; seed: number }): string {
  return sha256Hex(canonicalJson({ prompt: r.prompt, schema: r.schema, maxTokens: r.maxTokens, ...sampling }));
}

/** The cache key of a pointwise query (greedy reading of probabilities: no sampling settings). */
export function pointwiseKey(q: YesNoQuery): string {
  return sha256Hex(canonicalJson({ mode: 'pointwise', version: 1, system: q.system, userPrefix: q.userPrefix, continuations: q.continuations }));
}

/** The request with its candidates shifted left by `shift` (candidate `shift` first). */
function rotate(req: PreferenceRequest, shift: number): PreferenceRequest {
  const c = req.candidates;
  return { ...req, candidates: [...c.slice(shift), ...c.slice(0, shift)] };
}

/** Asks the backend for the preference behind each request. Bad model output never throws; it is a counted failure. */
export async function distill(requests: readonly PreferenceRequest[], opts: DistillOptions): Promise<DistillReport> {
  const { backend, cache, signal, onProgress } = opts;
  if (!backend) throw new IalpError('distill: options.backend is required');
  const mode = opts.mode ?? 'choice';
  if (mode !== 'choice' && mode !== 'pointwise') throw new IalpError(`distill mode: expected "choice" or "pointwise", got ${String(mode)}`);
  const permutations = checkInt('distill permutations', opts.permutations ?? 1, 1, 26);
  const concurrency = checkInt('distill concurrency', opts.concurrency ?? backend.concurrency ?? 1, 1, 4096);
  const maxRetries = checkInt('distill maxRetries', opts.maxRetries ?? 2, 0, 100);
  const timeoutMs = checkInt('distill timeoutMs', opts.timeoutMs ?? 120_000, 1);
  const temperature = checkNumber('distill temperature', opts.temperature ?? 0, 0, 10);
  const seed = checkInt('distill seed', opts.seed ?? 0, 0, 2 ** 31 - 1 - maxRetries);
  const retryTemperature = checkNumber('distill retryTemperature', opts.retryTemperature ?? 0.7, 0, 10);
  const pointwise = mode === 'pointwise' && typeof backend.scoreYesNo === 'function';

  // Stops the other workers on abort or on the first unexpected error.
  const stop = new AbortController();

  const total = requests.length;
  const results = new Array<DistillResult>(total);
  const started = performance.now();
  const progress: DistillProgress = { done: 0, total, cacheHits: 0, failures: 0, llmCalls: 0, promptsPerSecond: 0, elapsedSeconds: 0 };
  const report = () => {
    progress.elapsedSeconds = (performance.now() - started) / 1000;
    const asked = progress.done - progress.cacheHits;
    progress.promptsPerSecond = progress.elapsedSeconds > 0 ? asked / progress.elapsedSeconds : 0;
    onProgress?.({ ...progress });
  };

  const askChoice = async (r: RenderedPrompt): Promise<Outcome> => {
    let last: Outcome = { status: 'error', answer: null, raw: '', attempts: 0 };
    for (let attempt = 0; attempt <= maxRetries; attempt++) {
      if (stop.signal.aborted) throw new AbortError(stop.signal.reason);
      progress.llmCalls++;
      const sampling = { temperature: attempt === 0 ? temperature : Math.max(temperature, retryTemperature), seed: seed + attempt };
      let raw: string;
      try {
        raw = await callWithTimeout((s) => backend.complete(r.prompt, { jsonSchema: r.schema, maxTokens: r.maxTokens, ...sampling, signal: s }), timeoutMs, stop.signal);
      } catch (e) {
        if (stop.signal.aborted) throw new AbortError(stop.signal.reason);
        last = backendError(e, attempt);
        continue;
      }
      const parsed = parseAnswer(raw, r);
      if (parsed.ok) return { status: 'ok', answer: parsed.answer, raw, attempts: attempt + 1 };
      last = { status: 'failed', answer: null, raw, attempts: attempt + 1, reason: parsed.reason, detail: parsed.detail };
    }
    return last;
  };

  // Probabilities are read, not sampled: a retry only helps after an error or a timeout.
  const askPointwise = async (q: YesNoQuery): Promise<Outcome> => {
    let last: Outcome = { status: 'error', answer: null, raw: '', attempts: 0 };
    for (let attempt = 0; attempt <= maxRetries; attempt++) {
      if (stop.signal.aborted) throw new AbortError(stop.signal.reason);
      progress.llmCalls++;
      try {
        const scores = await callWithTimeout((s) => backend.scoreYesNo!(q, { signal: s }), timeoutMs, stop.signal);
        return { status: 'ok', answer: pointwiseAnswer(scores, q.continuations.length), raw: JSON.stringify(scores), attempts: attempt + 1 };
      } catch (e) {
        if (stop.signal.aborted) throw new AbortError(stop.signal.reason);
        if (e instanceof YesNoUnsupported) throw e;
        last = backendError(e, attempt);
      }
    }
    return last;
  };

  const choiceTask = (req: PreferenceRequest, where: string): Task => {
    const r = renderPrompt(req, where);
    return { mode: 'choice', key: preferenceKey(r, { temperature, seed }), ask: () => askChoice(r) };
  };

  // Render everything first: a malformed request fails before any model time is spent.
  // Each request is one task, or one per order of its candidates (choice mode with permutations).
  const shifts = (k: number) => {
    const p = Math.max(1, Math.min(permutations, k));
    return Array.from({ length: p }, (_, j) => Math.round((j * k) / p));
  };
  const plans = requests.map((req, i) => {
    const where = `request ${i}`;
    if (mode === 'pointwise') {
      const fallback = choiceTask(req, where);
      if (!pointwise) return [{ shift: 0, task: fallback }];
      const q = renderPointwise(req, where);
      return [{ shift: 0, task: { mode: 'pointwise' as const, key: pointwiseKey(q), ask: () => askPointwise(q), fallback } }];
    }
    return shifts(req.candidates.length).map((shift) => ({ shift, task: choiceTask(rotate(req, shift), where) }));
  });

  const onOuterAbort = () => stop.abort(signal!.reason);
  if (signal?.aborted) throw new AbortError(signal.reason);
  signal?.addEventListener('abort', onOuterAbort, { once: true });
  const running = new Map<string, Promise<Outcome>>();
  // set once the backend says it has no yes/no scores: later requests go straight to the choice prompt
  let yesNoMissing = false;

  const run = async (task: Task): Promise<{ outcome: Outcome; cached: boolean; mode: DistillMode }> => {
    if (task.fallback && yesNoMissing) return run(task.fallback);
    const hit = cache?.get(backend.id, task.key);
    if (hit && (hit.status === 'ok' || !opts.retryFailed)) return { outcome: fromCache(hit), cached: true, mode: task.mode };
    let outcome: Outcome;
    let shared = running.get(task.key);
    const cached = shared !== undefined;
    if (!shared) {
      shared = task.ask();
      running.set(task.key, shared);
    }
    try {
      outcome = await shared;
    } catch (e) {
      if (e instanceof YesNoUnsupported && task.fallback) {
        yesNoMissing = true;
        return run(task.fallback);
      }
      throw e;
    } finally {
      if (!cached) running.delete(task.key);
    }
    if (cache && !cached && outcome.status !== 'error') {
      cache.put(backend.id, task.key, {
        status: outcome.status,
        answer: outcome.answer,
        raw: outcome.raw,
        attempts: outcome.attempts,
        ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
      });
    }
    return { outcome, cached, mode: task.mode };
  };

  const handle = async (i: number): Promise<void> => {
    const cands = requests[i]!.candidates;
    const k = cands.length;
    const done: { shift: number; outcome: Outcome; cached: boolean; mode: DistillMode }[] = [];
    for (const { shift, task } of plans[i]!) done.push({ shift, ...(await run(task)) });
    const ok = done.filter((d) => d.outcome.status === 'ok' && d.outcome.answer);
    // the last valid answer stands for the request's raw text, else the last failure
    const last = ok.at(-1) ?? done.at(-1)!;
    let preference: Preference | undefined;
    if (done.length === 1) preference = last.outcome.answer ? toPreference(last.outcome.answer, cands) : undefined;
    else if (ok.length > 0) {
      // answers in shown positions back to request positions: shown j is candidate (j + shift) mod K
      const chosen = ok.map((d) => (d.outcome.answer as Extract<ParsedAnswer, { kind: 'choice' }>).chosen.map((j) => (j + d.shift) % k));
      preference = choicesOverOrders(chosen, cands);
    }
    const o = last.outcome;
    const cached = done.every((d) => d.cached);
    const status = preference ? 'ok' : o.status;
    results[i] = {
      status,
      ...(preference ? { preference } : {}),
      mode: last.mode,
      raw: o.raw,
      attempts: done.reduce((a, d) => a + d.outcome.attempts, 0),
      ...(status !== 'ok' && o.reason !== undefined ? { reason: o.reason } : {}),
      ...(status !== 'ok' && o.detail !== undefined ? { detail: o.detail } : {}),
      cached,
    };
    progress.done++;
    if (cached) progress.cacheHits++;
    if (status !== 'ok') progress.failures++;
    report();
  };

  let next = 0;
  const worker = async () => {
    while (!stop.signal.aborted) {
      const i = next++;
      if (i >= total) return;
      await handle(i);
    }
  };
  let firstError: { error: unknown } | undefined;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, () =>
      worker().catch((e: unknown) => {
        if (!stop.signal.aborted) {
          firstError = { error: e };
          stop.abort(e);
        }
      }),
    ),
  );
  signal?.removeEventListener('abort', onOuterAbort);
  if (signal?.aborted) throw new AbortError(signal.reason);
  if (firstError) throw firstError.error;
  report();
  return { results, summary: { ...progress } };
}

function backendError(e: unknown, attempt: number): Outcome {
  const timedOut = e instanceof CallTimeout;
  return { status: 'error', answer: null, raw: '', attempts: attempt + 1, reason: timedOut ? 'timeout' : 'backend-error', detail: (e as Error).message };
}

function fromCache(hit: CachedPreference): Outcome {
  return {
    status: hit.status,
    answer: hit.answer,
    raw: hit.raw,
    attempts: hit.attempts,
    ...(hit.reason === undefined ? {} : { reason: hit.reason as DistillFailure }),
  };
}

class CallTimeout extends Error {
  override name = 'CallTimeout';
}

/**
 * One backend call that settles within `timeoutMs` even if the backend ignores its signal
 * (the signal still tells a well-behaved backend to stop its work).
 */
function callWithTimeout<T>(call: (signal: AbortSignal) => Promise<T>, timeoutMs: number, outer: AbortSignal): Promise<T> {
  const ctl = new AbortController();
  return new Promise<T>((resolve, reject) => {
    const onOuter = () => {
      clearTimeout(timer);
      ctl.abort(outer.reason);
      reject(new AbortError(outer.reason));
    };
    const timer = setTimeout(() => {
      outer.removeEventListener('abort', onOuter);
      const e = new CallTimeout(`no answer within ${timeoutMs} ms`);
      ctl.abort(e);
      reject(e);
    }, timeoutMs);
    outer.addEventListener('abort', onOuter, { once: true });
    // a backend that throws synchronously still clears the timer below
    Promise.resolve()
      .then(() => call(ctl.signal))
      .then(resolve, reject)
      .finally(() => {
        clearTimeout(timer);
        outer.removeEventListener('abort', onOuter);
      });
  });
}
