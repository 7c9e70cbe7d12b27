// Pointwise distillation (a yes/no question per candidate) and choice over several orders,
// against scripted backends and a small HTTP server: the scores become graded labels, the
// cache keeps the modes apart and serves reruns, backends without yes/no scores fall back
// to the choice prompt, and OpenAI-compatible servers are read through logprobs.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import {
  OpenAiCompatible,
  PreferenceCache,
  ScriptedBackend,
  YesNoUnsupported,
  agreement,
  distill,
  pointwiseKey,
  renderPointwise,
  type ChatPrompt,
  type PreferenceRequest,
  type YesNoQuery,
} from '../packages/ts-api/src/llm/index.js';
import { distillPreferences } from '../packages/ts-api/src/preferences.js';
import { World } from '../packages/ts-api/src/world.js';
import { runCli } from './helpers.js';

const requests = (n: number): PreferenceRequest[] =>
  Array.from({ length: n }, (_, u) => ({
    state: { history: [{ text: `Film ${u}`, feedback: 4, feedbackText: 'loved it' }] },
    candidates: [0, 1, 2, 3].map((j) => ({ id: u * 10 + j, text: `Item ${u * 10 + j}` })),
  }));

function tempDb(t: { teardown: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ialp-pointwise-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'preferences.sqlite');
}

/** The candidate id a question is about (from its continuation). */
const itemOf = (continuation: string) => Number(/^Item (\d+)/.exec(continuation)![1]);

/** Yes/no scores whose log-odds rise with the id's last digit: candidate 3 best, 0 worst. */
const byLastDigit = (q: YesNoQuery) => q.continuations.map((c) => ({ logYes: Math.log(0.1 + 0.2 * (itemOf(c) % 10)), logNo: Math.log(0.5) }));

test('pointwise mode: one yes/no query per request, graded labels by log-odds, no choice prompt', async (t) => {
  const backend = new ScriptedBackend(['{"choices": ["A"]}'], { yesNo: byLastDigit });
  const { results, summary } = await distill(requests(3), { backend, mode: 'pointwise', concurrency: 2 });
  t.is(backend.calls, 0, 'the choice prompt is never asked');
  t.is(backend.yesNoQueries.length, 3);
  t.is(summary.llmCalls, 3);
  // the shared prefix holds the history, each continuation one candidate
  const q = backend.yesNoQueries.find((x) => x.userPrefix.includes('Film 1'))!;
  t.regex(q.userPrefix, /Film 1 \(loved it\)/);
  t.notRegex(q.userPrefix, /Item \d/);
  t.deepEqual(q.continuations.map(itemOf), [10, 11, 12, 13]);
  results.forEach((r, u) => {
    t.like(r, { status: 'ok', mode: 'pointwise', cached: false });
    const p = r.preference!;
    t.deepEqual(p.chosen, [u * 10 + 3], 'the top ceil(K/4) = 1 by log-odds');
    t.deepEqual(p.logOdds!.map((x) => Math.round(x * 1000) / 1000), [0.1, 0.3, 0.5, 0.7].map((y) => Math.round(Math.log(y / 0.5) * 1000) / 1000));
    // rewards: sigmoid of the centred log-odds, in (0, 1), increasing with the log-odds
    t.true(p.rewards.every((x) => x > 0 && x < 1));
    t.true(p.rewards.every((x, i) => i === 0 || x > p.rewards[i - 1]!));
    const mean = p.logOdds!.reduce((a, b) => a + b, 0) / 4;
    t.true(Math.abs(p.rewards[3]! - 1 / (1 + Math.exp(-(p.logOdds![3]! - mean)))) < 1e-12);
  });
  // AUC against a truth of the best two candidates is perfect
  const a = agreement(results.map((r, u) => ({ candidates: [0, 1, 2, 3].map((j) => u * 10 + j), truth: [u * 10 + 2, u * 10 + 3], preference: r.preference })));
  t.is(a.llm.auc, 1);
});

test('pointwise answers are cached under a key with the mode: a rerun asks nothing, the choice prompt is kept apart', async (t) => {
  const path = tempDb(t);
  const backend = new ScriptedBackend(['{"choices": ["B"]}'], { yesNo: byLastDigit });
  const cache = new PreferenceCache(path);
  t.teardown(() => cache.close());
  const first = await distill(requests(4), { backend, cache, mode: 'pointwise' });
  t.is(backend.yesNoQueries.length, 4);
  t.is(cache.stats().rows, 4);
  const stored = cache.get(backend.id, pointwiseKey(renderPointwise(requests(4)[2]!)));
  t.like(stored, { status: 'ok', answer: { kind: 'pointwise' } });

  const second = await distill(requests(4), { backend, cache, mode: 'pointwise' });
  t.is(backend.yesNoQueries.length, 4, 'no yes/no query on the rerun');
  t.is(second.summary.cacheHits, 4);
  t.is(second.summary.llmCalls, 0);
  t.true(second.results.every((r) => r.cached && r.mode === 'pointwise'));
  t.deepEqual(second.results.map((r) => r.preference), first.results.map((r) => r.preference));

  // the same requests in choice mode are not served the pointwise answers
  const choice = await distill(requests(4), { backend, cache, mode: 'choice' });
  t.is(backend.calls, 4);
  t.is(choice.summary.cacheHits, 0);
  t.true(choice.results.every((r) => r.mode === 'choice' && r.preference!.chosen.length === 1));
  t.is(cache.stats().rows, 8);
});

test('a backend without yes/no scores is asked the choice prompt in pointwise mode', async (t) => {
  const backend = new ScriptedBackend(['{"choices": ["C"]}']);
  t.is(backend.scoreYesNo, undefined);
  const { results } = await distill(requests(3), { backend, mode: 'pointwise' });
  t.is(backend.calls, 3);
  results.forEach((r, u) => {
    t.like(r, { status: 'ok', mode: 'choice' });
    t.deepEqual(r.preference!.chosen, [u * 10 + 2]);
    t.deepEqual(r.preference!.rewards, [0, 0, 1, 0]);
  });
});

test('a backend that turns out to lack yes/no scores falls back once, then asks the choice prompt directly', async (t) => {
  const cache = new PreferenceCache(tempDb(t));
  t.teardown(() => cache.close());
  const backend = new ScriptedBackend(['{"choices": ["D"]}'], {
    yesNo: () => {
      throw new YesNoUnsupported('no logprobs here');
    },
  });
  const { results } = await distill(requests(5), { backend, cache, mode: 'pointwise', concurrency: 1 });
  t.is(backend.yesNoQueries.length, 1, 'asked for yes/no scores once');
  t.is(backend.calls, 5);
  t.true(results.every((r) => r.status === 'ok' && r.mode === 'choice'));
  t.deepEqual(results[0]!.preference!.chosen, [3]);
  // the fallback answers are cached as choice answers, under the choice prompt's keys
  const again = await distill(requests(5), { backend, cache, mode: 'choice' });
  t.is(again.summary.cacheHits, 5);
  t.is(backend.calls, 5);
});

test('pointwise backend errors are retried and not cached; a wrong number of scores is an error', async (t) => {
  const cache = new PreferenceCache(tempDb(t));
  t.teardown(() => cache.close());
  let calls = 0;
  const backend = new ScriptedBackend([''], {
    yesNo: (q) => {
      calls++;
      if (calls === 1) throw new Error('flaky');
      if (q.userPrefix.includes('Film 1')) return [{ logYes: -1, logNo: -2 }];
      return byLastDigit(q);
    },
  });
  const { results } = await distill(requests(2), { backend, cache, mode: 'pointwise', maxRetries: 2, concurrency: 1 });
  t.like(results[0], { status: 'ok', attempts: 2 });
  t.like(results[1], { status: 'error', reason: 'backend-error', attempts: 3 });
  t.regex(results[1]!.detail!, /expected 4 yes\/no scores, got 1/);
  t.is(cache.stats().rows, 1, 'the error is not cached');
});

test('choice over several orders: each candidate is shown first once, and a first-position bias cancels out', async (t) => {
  // always the first-listed candidate: the positional bias of the small default model
  const biased = new ScriptedBackend(['{"choices": ["A"]}']);
  const one = await distill(requests(2), { backend: biased, mode: 'choice' });
  t.deepEqual(one.results[0]!.preference!.rewards, [1, 0, 0, 0]);
  const four = await distill(requests(2), { backend: biased, mode: 'choice', permutations: 4 });
  t.is(biased.calls, 2 + 8);
  const shown = biased.prompts.slice(2).filter((p) => p.user.includes('Film 0')).map((p) => /A\. Item (\d+)/.exec(p.user)![1]);
  t.deepEqual(shown, ['0', '1', '2', '3'], 'the orders are the cyclic shifts');
  t.deepEqual(four.results[0]!.preference!.rewards, [0.25, 0.25, 0.25, 0.25]);
  t.is(four.results[0]!.attempts, 4);

  // a backend that picks by content gives the same candidate under every order
  const byContent = new ScriptedBackend((p: ChatPrompt) => {
    const label = /([A-D])\. Item \d*2\n/.exec(`${p.user}\n`)![1];
    return `{"choices": ["${label}"]}`;
  });
  const r = await distill(requests(3), { backend: byContent, mode: 'choice', permutations: 2 });
  r.results.forEach((x, u) => {
    t.deepEqual(x.preference!.rewards, [0, 0, 1, 0]);
    t.deepEqual(x.preference!.chosen, [u * 10 + 2]);
  });
});

/** A server answering chat completions with `respond(body)`. */
async function serve(t: { teardown: (fn: () => Promise<void>) => void }, respond: (body: Record<string, unknown>, res: ServerResponse) => void) {
  const bodies: Record<string, unknown>[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      const body = JSON.parse(data) as Record<string, unknown>;
      bodies.push(body);
      respond(body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, bodies };
}

const json = (res: ServerResponse, status: number, value: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));

test('an OpenAI-compatible server is asked one token with logprobs; yes and no are summed over their spellings', async (t) => {
  const srv = await serve(t, (body, res) => {
    const user = (body.messages as { content: string }[])[1]!.content;
    const good = /Item \d*[23]\n/.test(user);
    json(res, 200, {
      choices: [{
        message: { content: 'Yes' },
        logprobs: { content: [{ token: 'Yes', logprob: Math.log(0.4), top_logprobs: [
          { token: 'Yes', logprob: Math.log(good ? 0.5 : 0.1) },
          { token: ' yes', logprob: Math.log(good ? 0.2 : 0.05) },
          { token: 'No', logprob: Math.log(good ? 0.1 : 0.6) },
          { token: 'Maybe', logprob: Math.log(0.05) },
        ] }] },
      }],
    });
  });
  const llm = new OpenAiCompatible({ baseUrl: srv.baseUrl, model: 'tiny', concurrency: 2 });
  const { results } = await distill(requests(2), { backend: llm, mode: 'pointwise' });
  t.is(srv.bodies.length, 8, 'one request per candidate');
  t.like(srv.bodies[0], { max_tokens: 1, temperature: 0, logprobs: true, top_logprobs: 20 });
  t.is(srv.bodies[0]!.response_format, undefined);
  const p = results[0]!.preference!;
  t.like(results[0], { status: 'ok', mode: 'pointwise' });
  t.true(Math.abs(p.logOdds![2]! - Math.log(0.7 / 0.1)) < 1e-9);
  t.true(Math.abs(p.logOdds![0]! - Math.log(0.15 / 0.6)) < 1e-9);
  t.deepEqual(p.chosen, [2]);
});

test('a server that refuses logprobs, or answers without them, makes pointwise mode fall back to the choice prompt', async (t) => {
  for (const refuse of ['http', 'missing'] as const) {
    const srv = await serve(t, (body, res) => {
      if (body.logprobs) {
        if (refuse === 'http') return json(res, 400, { error: { message: 'logprobs is not supported by this server' } });
        return json(res, 200, { choices: [{ message: { content: 'Yes' } }] });
      }
      json(res, 200, { choices: [{ message: { content: '{"choices": ["B"]}' } }] });
    });
    const llm = new OpenAiCompatible({ baseUrl: srv.baseUrl, model: 'tiny', concurrency: 1, maxRetries: 0 });
    const { results } = await distill(requests(3), { backend: llm, mode: 'pointwise', concurrency: 1 });
    t.true(results.every((r) => r.status === 'ok' && r.mode === 'choice'), refuse);
    t.deepEqual(results.map((r) => r.preference!.chosen), [[1], [11], [21]]);
    // one yes/no question was tried before the fallback, then only choice prompts
    t.is(srv.bodies.filter((b) => b.logprobs).length, 1, refuse);
    t.is(srv.bodies.filter((b) => b.response_format).length, 3, refuse);
  }
});

test('distillPreferences passes the mode through (graded labels from yes/no scores); the CLI names a bad --mode', async (t) => {
  const world = await World.load({ name: 'coat' }, 'native');
  const backend = new ScriptedBackend(['{"choices": ["A"]}'], {
    yesNo: (q) => q.continuations.map((c) => ({ logYes: -1 - (c.length % 7) * 0.1, logNo: -1 })),
  });
  const r = await distillPreferences({ world, llm: backend, users: 4, candidates: 4, mode: 'pointwise', rewardModel: false, cachePath: tempDb(t) });
  t.is(backend.calls, 0);
  t.is(backend.yesNoQueries.length, r.report.requests);
  const rewards = r.labels.flatMap((l) => l.rewards!);
  t.is(rewards.length, 4 * r.report.requests);
  t.true(rewards.every((x) => x > 0 && x < 1), 'graded, not chosen / not chosen');
  const plain = await distillPreferences({ world, llm: backend, users: 4, candidates: 4, rewardModel: false, cachePath: tempDb(t) });
  t.true(plain.labels.every((l) => l.rewards!.every((x) => x === 0 || x === 1)), 'the default is still the choice prompt here');

  const bad = await runCli(['distill', '--env', 'coat', '--llm', 'oracle', '--users', '2', '--candidates', '4', '--mode', 'listwise', '--out', join(tempDb(t), '..')]);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /mode: expected "choice" or "pointwise", got listwise/);
});
