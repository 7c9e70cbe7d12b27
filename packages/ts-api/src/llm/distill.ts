// iALP steps 1-2 at scale: ask the LLM for the preferences behind many requests, with a
// bounded number in flight, every answer validated, retried when malformed and written to
// the cache as soon as it is known (a killed run loses at most what was in flight).
import { AbortError, IalpError, checkInt, checkNumber } from '../options.js';
import type { LlmClient } from './client.js';
import type { CachedPreference, PreferenceCache } from './cache.js';
import { parseAnswer, renderPrompt, toPreference, type FailureReason, type ParsedAnswer, type Preference, type PreferenceRequest, type RenderedPrompt } from './prompt.js';
import { canonicalJson, sha256Hex } from './util.js';

export interface DistillOptions {
  backend: LlmClient;
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
  /** Backend calls made, retries included. */
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
  /** The last raw answer ('' when the backend gave none). */
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

/** The cache key of a rendered prompt under given sampling settings. */
export function preferenceKey(r: RenderedPrompt, sampling: { temperature: number; seed: number }): string {
  return sha256Hex(canonicalJson({ prompt: r.prompt, schema: r.schema, maxTokens: r.maxTokens, ...sampling }));
}

/** Asks the backend for the preference behind each request. Bad model output never throws; it is a counted failure. */
export async function distill(requests: readonly PreferenceRequest[], opts: DistillOptions): Promise<DistillReport> {
  const { backend, cache, signal, onProgress } = opts;
  if (!backend) throw new IalpError('distill: options.backend is required');
  const concurrency = checkInt('distill concurrency', opts.concurrency ?? backend.concurrency ?? 1, 1, 4096);
  const maxRetries = checkInt('distill maxRetries', opts.maxRetries ?? 2, 0, 100);
  const timeoutMs = checkInt('distill timeoutMs', opts.timeoutMs ?? 120_000, 1);
  const temperature = checkNumber('distill temperature', opts.temperature ?? 0, 0, 10);
  const seed = checkInt('distill seed', opts.seed ?? 0, 0, 2 ** 31 - 1 - maxRetries);
  const retryTemperature = checkNumber('distill retryTemperature', opts.retryTemperature ?? 0.7, 0, 10);

  // Render everything first: a malformed request fails before any model time is spent.
  const rendered = requests.map((r, i) => renderPrompt(r, `request ${i}`));
  const keys = rendered.map((r) => preferenceKey(r, { temperature, seed }));

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

  // Stops the other workers on abort or on the first unexpected error.
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort(signal!.reason);
  if (signal?.aborted) throw new AbortError(signal.reason);
  signal?.addEventListener('abort', onOuterAbort, { once: true });
  const running = new Map<string, Promise<Outcome>>();

  const ask = async (r: RenderedPrompt): Promise<Outcome> => {
    let last: Outcome = { status: 'error', answer: null, raw: '', attempts: 0 };
    for (let attempt = 0; attempt <= maxRetries; attempt++) {
      if (stop.signal.aborted) throw new AbortError(stop.signal.reason);
      progress.llmCalls++;
      let raw: string;
      try {
        raw = await callWithTimeout(backend, r, {
          temperature: attempt === 0 ? temperature : Math.max(temperature, retryTemperature),
          seed: seed + attempt,
        }, timeoutMs, stop.signal);
      } catch (e) {
        if (stop.signal.aborted) throw new AbortError(stop.signal.reason);
        const timedOut = e instanceof CallTimeout;
        last = { status: 'error', answer: null, raw: '', attempts: attempt + 1, reason: timedOut ? 'timeout' : 'backend-error', detail: (e as Error).message };
        continue;
      }
      const parsed = parseAnswer(raw, r);
      if (parsed.ok) return { status: 'ok', answer: parsed.answer, raw, attempts: attempt + 1 };
      last = { status: 'failed', answer: null, raw, attempts: attempt + 1, reason: parsed.reason, detail: parsed.detail };
    }
    return last;
  };

  const handle = async (i: number): Promise<void> => {
    const r = rendered[i]!;
    const key = keys[i]!;
    const cands = requests[i]!.candidates;
    const hit = cache?.get(backend.id, key);
    let outcome: Outcome;
    let cached = false;
    if (hit && (hit.status === 'ok' || !opts.retryFailed)) {
      outcome = fromCache(hit);
      cached = true;
    } else if (running.has(key)) {
      outcome = await running.get(key)!;
      cached = true;
    } else {
      const p = ask(r);
      running.set(key, p);
      try {
        outcome = await p;
      } finally {
        running.delete(key);
      }
      if (cache && outcome.status !== 'error') {
        cache.put(backend.id, key, {
          status: outcome.status,
          answer: outcome.answer,
          raw: outcome.raw,
          attempts: outcome.attempts,
          ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
        });
      }
    }
    results[i] = {
      status: outcome.status,
      ...(outcome.answer ? { preference: toPreference(outcome.answer, cands) } : {}),
      raw: outcome.raw,
      attempts: outcome.attempts,
      ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
      ...(outcome.detail === undefined ? {} : { detail: outcome.detail }),
      cached,
    };
    progress.done++;
    if (cached) progress.cacheHits++;
    if (outcome.status !== 'ok') progress.failures++;
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
function callWithTimeout(
  backend: LlmClient,
  r: RenderedPrompt,
  sampling: { temperature: number; seed: number },
  timeoutMs: number,
  outer: AbortSignal,
): Promise<string> {
  const ctl = new AbortController();
  return new Promise<string>((resolve, reject) => {
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
      .then(() => backend.complete(r.prompt, { jsonSchema: r.schema, maxTokens: r.maxTokens, ...sampling, signal: ctl.signal }))
      .then(resolve, reject)
      .finally(() => {
        clearTimeout(timer);
        outer.removeEventListener('abort', onOuter);
      });
  });
}
