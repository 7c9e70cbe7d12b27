// iALP distillation for an environment with the real default LLM: prompts from
// environment states, answers cached, agreement scored, r_phi fitted.
import test from 'ava';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distillPreferences, World } from '../packages/ts-api/src/index.js';
import { runCli } from './helpers.js';

test('coat: the real default model answers, a rerun is served from the cache, r_phi is fitted', async (t) => {
  t.timeout(15 * 60_000);
  const dir = await mkdtemp(join(tmpdir(), 'ialp-distill-'));
  const world = await World.load({ name: 'coat', cache: dir }, 'native');
  const opts = { world, users: 4, candidates: 4, concurrency: 2, cachePath: join(dir, 'prefs.sqlite'), evalUsers: 20, seed: 3 };
  const first = await distillPreferences(opts);
  const r = first.report;
  t.is(r.requests, 4);
  t.is(r.answered + r.failures, 4);
  t.true(r.answered >= 3, JSON.stringify(r.failureReasons));
  t.is(r.cacheHits, 0);
  t.deepEqual(r.quality.map((q) => q.predictor), ['llm', 'random', 'popularity']);
  t.truthy(first.rewardModel);
  t.true(r.rewardModel!.examples >= 12);
  t.true(r.rewardModel!.heldOut.requests > 0);
  for (const l of first.labels.filter((x) => x.rewards)) {
    t.is(l.rewards!.length, 4);
    t.true(l.rewards!.every((y) => y >= 0 && y <= 1));
  }
  const again = await distillPreferences(opts);
  t.is(again.report.llmCalls, 0, 'a rerun makes no LLM call');
  t.is(again.report.cacheHits, r.answered);
  t.deepEqual(again.labels, first.labels);
});

test('ialp distill prints a quality table and saves its report', async (t) => {
  t.timeout(15 * 60_000);
  const out = await mkdtemp(join(tmpdir(), 'ialp-distill-cli-'));
  const r = await runCli(['distill', '--env', 'coat', '--users', '2', '--candidates', '4', '--out', out]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /2 prompts: \d answered/);
  t.regex(r.stdout, /predictor\s+requests\s+hit rate\s+AUC/);
  const report = JSON.parse(await readFile(join(out, 'distill-report.json'), 'utf8')) as { env: string; labels: unknown[] };
  t.is(report.env, 'coat');
  t.is(report.labels.length, 2);
  const bad = await runCli(['distill', '--env', 'coat', '--llm', '/no/such/model.gguf']);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /no such file/);
});

test('--llm oracle: the ground truth answers the same prompts, every answer agrees, r_phi learns from it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ialp-distill-oracle-'));
  const world = await World.load({ name: 'coat' }, 'native');
  const r = await distillPreferences({ world, llm: 'oracle', users: 20, candidates: 5, cachePath: join(dir, 'p.sqlite') });
  t.is(r.report.llm, 'oracle:ground-truth');
  t.is(r.report.failures, 0);
  t.is(r.report.quality[0]!.hitRate, 1);
  t.truthy(r.rewardModel);
  // r_phi fitted on right labels beats random picks on held-out users
  t.true(r.report.rewardModel!.heldOut.hitRate > r.report.quality[1]!.hitRate, JSON.stringify(r.report.rewardModel!.heldOut));
});

test('oracle:NOISE agrees with users at the stated rate; oracle:inverted disagrees; bad specs are named', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ialp-distill-noise-'));
  const world = await World.load({ name: 'coat' }, 'native');
  const auc = async (llm: string) => {
    const r = await distillPreferences({ world, llm, users: 200, statesPerUser: 4, candidates: 10, rewardModel: false, cachePath: join(dir, 'p.sqlite') });
    t.is(r.report.failures, 0, llm);
    return { auc: r.report.quality[0]!.auc, id: r.report.llm };
  };
  const clean = await auc('oracle');
  // a random answer ranks at chance (AUC 0.5): NOISE mixes the two
  for (const noise of [0.3, 0.7]) {
    const noisy = await auc(`oracle:${noise}`);
    t.is(noisy.id, `oracle:noise=${noise}`);
    const expected = (1 - noise) * clean.auc + noise * 0.5;
    t.true(Math.abs(noisy.auc - expected) < 0.04, `noise ${noise}: AUC ${noisy.auc}, expected ${expected}`);
  }
  const inverted = await auc('oracle:inverted');
  // as far below chance as the oracle is above it, within the noise of the ranking ties
  t.true(inverted.auc < 0.5 - (clean.auc - 0.5) / 2, `inverted AUC ${inverted.auc}, oracle ${clean.auc}`);
  for (const bad of ['oracle:1.5', 'oracle:-0.1', 'oracle:lots']) {
    await t.throwsAsync(distillPreferences({ world, llm: bad, users: 2, cachePath: join(dir, 'p.sqlite') }), { message: /oracle:NOISE with NOISE in \[0, 1\]/ }, bad);
  }
});
