// The distillation loop against a scripted backend: retries, counted failures, timeouts,
// concurrency, the cache (second runs make no calls) and resuming after an abort.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { AbortError } from '../packages/ts-api/src/options.js';
import { PreferenceCache, ScriptedBackend, distill, type ChatPrompt, type PreferenceRequest } from '../packages/ts-api/src/llm/index.js';

const requests = (n: number, offset = 0): PreferenceRequest[] =>
  Array.from({ length: n }, (_, u) => ({
    state: { history: [{ text: `Film ${u + offset}`, feedback: 4 }] },
    candidates: [0, 1, 2, 3].map((j) => ({ id: (u + offset) * 10 + j, text: `Item ${(u + offset) * 10 + j}` })),
  }));

/** Answers with the candidate whose id ends in the user number mod 4: a known, checkable choice. */
const answerFor = (p: ChatPrompt) => {
  const u = Number(/Film (\d+)/.exec(p.user)![1]);
  return `{"choices": ["${'ABCD'[u % 4]}"]}`;
};

function tempDb(t: { teardown: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ialp-llm-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'preferences.sqlite');
}

test('results come back in request order with ids, and progress is reported', async (t) => {
  const backend = new ScriptedBackend((p) => ({ answer: answerFor(p), delayMs: 5 + (Number(/Film (\d+)/.exec(p.user)![1]) % 3) * 5 }));
  const seen: number[] = [];
  const { results, summary } = await distill(requests(12), { backend, concurrency: 3, onProgress: (p) => seen.push(p.done) });
  t.is(results.length, 12);
  results.forEach((r, u) => {
    t.is(r.status, 'ok');
    t.deepEqual(r.preference?.chosen, [u * 10 + (u % 4)]);
    t.false(r.cached);
  });
  t.is(backend.calls, 12);
  t.true(backend.maxInFlight <= 3 && backend.maxInFlight >= 2, `max in flight ${backend.maxInFlight}`);
  t.deepEqual(seen.slice(0, 12), Array.from({ length: 12 }, (_, i) => i + 1));
  t.like(summary, { done: 12, total: 12, cacheHits: 0, failures: 0, llmCalls: 12 });
  t.true(summary.promptsPerSecond > 0);
});

test('malformed answers are retried, with a new seed and a non-zero temperature', async (t) => {
  const backend = new ScriptedBackend(['I like A', '{"choices": ["A", ', '{"choices": ["B"]}']);
  const { results, summary } = await distill(requests(1), { backend, maxRetries: 2 });
  t.like(results[0], { status: 'ok', attempts: 3, raw: '{"choices": ["B"]}' });
  t.deepEqual(results[0]!.preference?.chosen, [1]);
  t.deepEqual(backend.seen.map((s) => [s.seed, s.temperature]), [[0, 0], [1, 0.7], [2, 0.7]]);
  t.is(summary.failures, 0);
});

for (const [name, raw, reason] of [
  ['garbage', 'The user would enjoy B.', 'not-json'],
  ['truncated JSON', '{"choices": ["B"', 'truncated'],
  ['a wrong label', '{"choices": ["Q"]}', 'unknown-label'],
  ['duplicate labels', '{"choices": ["A", "A"]}', 'duplicate-label'],
  ['an empty answer', '', 'empty'],
  ['no choices', '{"choices": []}', 'no-choices'],
] as const) {
  test(`${name}: retried, then a counted failure, never an exception`, async (t) => {
    const backend = new ScriptedBackend([raw]);
    const { results, summary } = await distill(requests(2), { backend, maxRetries: 2, concurrency: 1 });
    for (const r of results) t.like(r, { status: 'failed', reason, attempts: 3, raw });
    t.is(results[0]!.preference, undefined);
    t.is(backend.calls, 6);
    t.like(summary, { done: 2, failures: 2, llmCalls: 6 });
  });
}

test('a backend that never answers is cut off by the per-call timeout', async (t) => {
  const backend = new ScriptedBackend([{ hang: true }]);
  const started = performance.now();
  const { results, summary } = await distill(requests(1), { backend, timeoutMs: 80, maxRetries: 1 });
  t.like(results[0], { status: 'error', reason: 'timeout', attempts: 2 });
  t.is(backend.calls, 2);
  t.is(backend.inFlight, 0, 'the backend saw its signal abort');
  t.is(summary.failures, 1);
  t.true(performance.now() - started < 20_000, "timeouts end the run, not a hang");
  // Even one that ignores its signal cannot hold the run.
  const deaf = new ScriptedBackend([{ hang: true, ignoreSignal: true }]);
  const r2 = await distill(requests(1), { backend: deaf, timeoutMs: 50, maxRetries: 0 });
  t.like(r2.results[0], { status: 'error', reason: 'timeout', attempts: 1 });
});

test('backend errors are retried; timeouts and errors are not cached, so a rerun asks again', async (t) => {
  const cache = new PreferenceCache(tempDb(t));
  t.teardown(() => cache.close());
  const flaky = new ScriptedBackend([new Error('connection reset'), '{"choices": ["C"]}']);
  const a = await distill(requests(1), { backend: flaky, cache, maxRetries: 1 });
  t.like(a.results[0], { status: 'ok', attempts: 2 });
  const broken = new ScriptedBackend([new Error('server down')], { id: 'other-model' });
  const b = await distill(requests(1), { backend: broken, cache, maxRetries: 1 });
  t.like(b.results[0], { status: 'error', reason: 'backend-error', detail: 'server down' });
  t.deepEqual(cache.stats(), { rows: 1, ok: 1, failed: 0, models: 1 });
});

test('a second run is served from the cache with zero backend calls', async (t) => {
  const cache = new PreferenceCache(tempDb(t));
  t.teardown(() => cache.close());
  const reqs = requests(10);
  reqs.push({ ...reqs[3]! }); // a repeated question is asked once
  const first = new ScriptedBackend((p) => answerFor(p));
  const a = await distill(reqs, { backend: first, cache });
  t.is(first.calls, 10);
  t.is(a.summary.cacheHits, 1);
  const second = new ScriptedBackend((p) => answerFor(p));
  const b = await distill(reqs, { backend: second, cache });
  t.is(second.calls, 0);
  t.like(b.summary, { cacheHits: 11, llmCalls: 0, done: 11 });
  t.deepEqual(b.results.map((r) => r.preference), a.results.map((r) => r.preference));
  t.true(b.results.every((r) => r.cached));
  // Another model, or other sampling settings, are other questions.
  const other = new ScriptedBackend((p) => answerFor(p), { id: 'another-model' });
  await distill(reqs.slice(0, 2), { backend: other, cache });
  t.is(other.calls, 2);
  await distill(reqs.slice(0, 2), { backend: second, cache, seed: 7 });
  t.is(second.calls, 2);
});

test('cached failures stay failures unless retryFailed, and a later success replaces them', async (t) => {
  const cache = new PreferenceCache(tempDb(t));
  t.teardown(() => cache.close());
  const bad = new ScriptedBackend(['nope']);
  const a = await distill(requests(2), { backend: bad, cache, maxRetries: 0 });
  t.is(a.summary.failures, 2);
  const good = new ScriptedBackend((p) => answerFor(p), { id: bad.id });
  const b = await distill(requests(2), { backend: good, cache });
  t.is(good.calls, 0);
  t.like(b.results[0], { status: 'failed', reason: 'not-json', cached: true });
  const c = await distill(requests(2), { backend: good, cache, retryFailed: true });
  t.is(good.calls, 2);
  t.true(c.results.every((r) => r.status === 'ok'));
  t.deepEqual(cache.stats(), { rows: 2, ok: 2, failed: 0, models: 1 });
});

test('an aborted run keeps what it finished; the rerun completes the union without duplicates', async (t) => {
  const path = tempDb(t);
  const reqs = requests(30);
  const ctl = new AbortController();
  const cache1 = new PreferenceCache(path);
  const first = new ScriptedBackend((p) => ({ answer: answerFor(p), delayMs: 10 }));
  await t.throwsAsync(
    distill(reqs, { backend: first, cache: cache1, concurrency: 4, signal: ctl.signal, onProgress: (p) => p.done === 12 && ctl.abort() }),
    { instanceOf: AbortError },
  );
  t.is(first.inFlight, 0, 'in-flight calls were aborted');
  const kept = cache1.stats().rows;
  t.true(kept >= 12 && kept < 30, `kept ${kept}`);
  cache1.close();

  const cache2 = new PreferenceCache(path);
  t.teardown(() => cache2.close());
  const second = new ScriptedBackend((p) => answerFor(p));
  const { results, summary } = await distill(reqs, { backend: second, cache: cache2 });
  t.is(second.calls, 30 - kept);
  t.is(summary.cacheHits, kept);
  t.true(results.every((r, u) => r.status === 'ok' && r.preference!.chosen[0] === u * 10 + (u % 4)));
  t.deepEqual(cache2.stats(), { rows: 30, ok: 30, failed: 0, models: 1 });
});

test('an already aborted signal stops before any call', async (t) => {
  const backend = new ScriptedBackend(['{"choices": ["A"]}']);
  await t.throwsAsync(distill(requests(3), { backend, signal: AbortSignal.abort() }), { instanceOf: AbortError });
  t.is(backend.calls, 0);
});

test('a malformed request fails before any call, naming it', async (t) => {
  const backend = new ScriptedBackend(['{"choices": ["A"]}']);
  const reqs = requests(3);
  reqs[2] = { ...reqs[2]!, candidates: [] };
  await t.throwsAsync(distill(reqs, { backend }), { message: 'request 2: candidates: expected at least one candidate' });
  t.is(backend.calls, 0);
});
