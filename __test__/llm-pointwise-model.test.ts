// The real default model (SmolLM2-135M-Instruct, fetched once into the cache directory as
// the other model tests do) scoring yes/no questions: the reused history prefix gives the
// scores of evaluating each question from scratch, and pointwise distillation reruns from
// the cache.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { LocalGguf, PreferenceCache, distill, renderPointwise, resolveLlm, type LlmBackend, type PreferenceRequest } from '../packages/ts-api/src/llm/index.js';

const films = [
  'Toy Story (1995) | Animation, Children, Comedy',
  'Heat (1995) | Action, Crime, Thriller',
  'Sense and Sensibility (1995) | Drama, Romance',
  'The Lion King (1994) | Animation, Children, Musical',
  'Se7en (1995) | Mystery, Thriller',
  'Babe (1995) | Children, Drama',
  'GoldenEye (1995) | Action, Adventure, Thriller',
  'Pulp Fiction (1994) | Comedy, Crime, Drama',
];

const request = (u: number, h = 3): PreferenceRequest => ({
  state: { history: Array.from({ length: h }, (_, j) => ({ text: films[(u + j) % 8]!, feedback: 5 - (j % 5), feedbackText: `rated ${5 - (j % 5)}/5` })) },
  candidates: [3, 4, 5, 6, 7].map((j) => ({ id: (u + j) % 8, text: films[(u + j) % 8]! })),
});

// one model for the file, one thread: the machine is shared
let model: Promise<LlmBackend> | undefined;
const load = () => (model ??= resolveLlm('default', { concurrency: 2, threads: 1 }));
test.after.always(async () => {
  if (model) await (await model).close();
});

test.serial('yes/no scores with the history evaluated once equal the scores of each question from scratch', async (t) => {
  t.timeout(15 * 60_000);
  const llm = await load();
  t.true(llm instanceof LocalGguf);
  const local = llm as LocalGguf;
  // a history of 10, as distillation shows
  const q = renderPointwise({ ...request(0, 10), candidates: [3, 4, 5, 6, 7].map((j) => ({ id: j, text: `${films[j]!} (new)` })) });
  const before = local.yesNoTokensEvaluated;
  const reused = await local.scoreYesNo(q);
  const reusedTokens = local.yesNoTokensEvaluated - before;
  const scratch = await local.scoreYesNo(q, { reusePrefix: false });
  const scratchTokens = local.yesNoTokensEvaluated - before - reusedTokens;
  t.log(`tokens evaluated: ${reusedTokens} with the prefix reused, ${scratchTokens} from scratch`);
  t.true(reusedTokens < scratchTokens / 2, 'the shared prefix is evaluated once');
  t.true(reusedTokens >= 5 * 64, 'each question evaluates at least 64 tokens of its own');
  t.is(reused.length, 5);
  const odds = reused.map((s) => s.logYes - s.logNo);
  t.log('log-odds', odds.map((x) => x.toFixed(4)).join(' '));
  for (const s of reused) {
    t.true(Number.isFinite(s.logYes) && Number.isFinite(s.logNo) && s.logYes < 0 && s.logNo < 0);
    t.true(Math.exp(s.logYes) + Math.exp(s.logNo) <= 1 + 1e-6);
  }
  t.true(Math.max(...odds) - Math.min(...odds) > 1e-3, 'the scores depend on the candidate');
  reused.forEach((s, i) => {
    t.true(Math.abs(s.logYes - scratch[i]!.logYes) < 1e-4, `logYes ${i}: ${s.logYes} vs ${scratch[i]!.logYes}`);
    t.true(Math.abs(s.logNo - scratch[i]!.logNo) < 1e-4, `logNo ${i}: ${s.logNo} vs ${scratch[i]!.logNo}`);
  });
  // and again with the prefix reused: the same numbers (the sequence was rolled back cleanly)
  const again = await local.scoreYesNo(q);
  again.forEach((s, i) => t.true(Math.abs(s.logYes - reused[i]!.logYes) < 1e-4 && Math.abs(s.logNo - reused[i]!.logNo) < 1e-4));
});

test.serial('pointwise distillation with the real model: graded labels, and the rerun is served from the cache', async (t) => {
  t.timeout(15 * 60_000);
  const llm = await load();
  let queries = 0;
  const counted: LlmBackend = {
    id: llm.id,
    concurrency: llm.concurrency,
    complete: (p, o) => llm.complete(p, o),
    scoreYesNo: (q, o) => {
      queries++;
      return llm.scoreYesNo!(q, o);
    },
    close: async () => {},
  };
  const dir = mkdtempSync(join(tmpdir(), 'ialp-pointwise-model-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cache = new PreferenceCache(join(dir, 'preferences.sqlite'));
  t.teardown(() => cache.close());
  const reqs = [0, 1, 2].map(request);
  const first = await distill(reqs, { backend: counted, cache, mode: 'pointwise' });
  t.is(queries, 3);
  for (const r of first.results) {
    t.like(r, { status: 'ok', mode: 'pointwise', cached: false });
    t.is(r.preference!.rewards.length, 5);
    t.true(r.preference!.rewards.every((x) => x > 0 && x < 1));
    t.is(r.preference!.chosen.length, 2);
  }
  const second = await distill(reqs, { backend: counted, cache, mode: 'pointwise' });
  t.is(queries, 3, 'no model call on the rerun');
  t.is(second.summary.cacheHits, 3);
  t.deepEqual(second.results.map((r) => r.preference), first.results.map((r) => r.preference));
});
