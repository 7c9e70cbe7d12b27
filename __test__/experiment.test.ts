// The experiment runner: every method on held-out users for several seeds, a
// report, and a rerun that resumes from the cached phases to the same numbers.
import test from 'ava';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers.js';

test('ialp experiment: a report with every method, resumable to identical numbers', async (t) => {
  t.timeout(15 * 60_000);
  const out = await mkdtemp(join(tmpdir(), 'ialp-exp-'));
  const args = ['experiment', '--env', 'coat', '--quick', '--seeds', '2', '--out', out, '--json'];
  const first = await runCli(args);
  t.is(first.code, 0, first.stderr);
  const a = JSON.parse(first.stdout) as { results: { env: string; methods: { method: string; early: number[] }[] }[]; files: string[] };
  t.deepEqual(a.results[0]!.methods.map((m) => m.method), ['random', 'popularity', 'greedy-logs', 'greedy-llm', 'a2c', 'offline-logs+ft', 'a-ialp-ft', 'a-ialp-ap']);
  t.true(a.results[0]!.methods.every((m) => m.early.length === 2 && m.early.every(Number.isFinite)));
  const html = await readFile(join(out, 'report.html'), 'utf8');
  t.regex(html, /<svg/);
  t.regex(html, /a-ialp-ap/);
  t.regex(await readFile(join(out, 'results.csv'), 'utf8'), /^env,method,seed,/);
  // as if killed during the online phase: some phases are missing; the rerun redoes them
  const cached = await readdir(join(out, 'cache', 'coat'));
  for (const f of cached.filter((f) => f.startsWith('online-a-ialp') || f.startsWith('pi0-ialp'))) await rm(join(out, 'cache', 'coat', f));
  const second = await runCli(args);
  t.is(second.code, 0, second.stderr);
  const b = JSON.parse(second.stdout) as typeof a;
  t.deepEqual(b.results, a.results);
});

test('a broken experiment config names the field', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ialp-cfg-'));
  await writeFile(join(dir, 'bad.json'), JSON.stringify({ online: { episodez: 5 } }));
  const r = await runCli(['experiment', '--config', join(dir, 'bad.json'), '--out', dir]);
  t.is(r.code, 1);
  t.regex(r.stderr, /bad\.json: unknown field "online\.episodez"/);
  await writeFile(join(dir, 'broken.json'), '{ "seeds": ');
  const r2 = await runCli(['experiment', '--config', join(dir, 'broken.json'), '--out', dir]);
  t.is(r2.code, 1);
  t.regex(r2.stderr, /broken\.json/);
  t.false((await readdir(dir)).includes('report.html'), 'no report is written for a failed run');
});
