// A preference source that answers nothing is an error naming the first
// underlying cause (issue 18): `ialp distill` against an unreachable server
// exited 0 with a table of NaN. (ialp run already stops with "the LLM gave no
// valid answer": __test__/experiment.test.ts.)
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distillPreferences, llm, World } from '../packages/ts-api/src/index.js';
import { runCli } from './helpers.js';

/** A loopback port nobody listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

test('the library: every prompt failing is a report naming the first cause, with no reward model', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ialp-llm-fail-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const world = await World.load({ name: 'synthetic' });
  const opts = { world, users: 3, candidates: 3, cachePath: join(dir, 'p.sqlite'), evalUsers: 10 };
  const down = new llm.ScriptedBackend(() => new Error('connect ECONNREFUSED 127.0.0.1:1'), { id: 'down' });
  const r = await distillPreferences({ ...opts, llm: down });
  t.is(r.report.answered, 0);
  t.is(r.rewardModel, null, 'no reward model from no answer');
  t.regex(r.report.failureExample!, /^backend-error: connect ECONNREFUSED 127\.0\.0\.1:1/);
  // one prompt answered: a report, with its failures counted
  const some = new llm.ScriptedBackend((_p, _o, call) => (call === 0 ? '{"choices": ["A"]}' : new Error('flaky')), { id: 'flaky', concurrency: 1 });
  const s = await distillPreferences({ ...opts, llm: some, cachePath: join(dir, 'q.sqlite'), rewardModel: false });
  t.true(s.report.answered >= 1 && s.report.failures >= 1, JSON.stringify(s.report));
});

test('ialp distill against an unreachable server exits non-zero naming the connection error', async (t) => {
  t.timeout(120_000);
  const dir = await mkdtemp(join(tmpdir(), 'ialp-llm-fail-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const port = await closedPort();
  const r = await runCli(['distill', '--env', 'synthetic', '--llm', `http://127.0.0.1:${port}/v1#m`, '--users', '2', '--candidates', '3', '--out', join(dir, 'out')],
    { IALP_CACHE_DIR: dir });
  t.is(r.code, 1, r.stdout);
  t.regex(r.stderr, new RegExp(`^ialp: preference source .*127\\.0\\.0\\.1:${port}.*: all 2 prompts failed \\(backend-error 2\\); the first: backend-error: .*(ECONNREFUSED|connect|network error)`, 'm'));
  t.notRegex(r.stdout, /NaN/);
});
