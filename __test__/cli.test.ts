// The `ialp` command line, as a user runs it.
import test from 'ava';
import { runCli } from './helpers.js';

const args = ['train', '--env', 'synthetic', '--seed', '1', '--episodes', '400', '--eval-episodes', '64', '--json'];

test('ialp train --json is reproducible, on any thread count, and the wasm build gives the native numbers', async (t) => {
  const [a, b, w, th] = await Promise.all([runCli(args), runCli(args), runCli([...args, '--backend', 'wasm']), runCli([...args, '--threads', '3'])]);
  for (const r of [a, b, w, th]) t.is(r.code, 0, r.stderr);
  const [ra, rb, rw, rt] = [a, b, w, th].map((r) => JSON.parse(r.stdout) as { results: unknown; backend: string });
  t.deepEqual(ra!.results, rb!.results);
  t.is(rw!.backend, 'wasm');
  // same seed, same numbers: the kernels fix the order of every float operation,
  // and threads split only work whose sums they do not reorder
  t.deepEqual(ra!.results, rw!.results);
  t.deepEqual(ra!.results, rt!.results);
});

test('ialp train prints a results table', async (t) => {
  const r = await runCli(['train', '--seed', '2', '--episodes', '200', '--eval-episodes', '32']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /method\s+phase\s+episodes\s+mean return/);
  t.regex(r.stdout, /random\s+evaluation\s+32/);
  t.regex(r.stdout, /a2c\s+online, last 10%/);
});

test('bad command lines exit with a message, not a stack trace', async (t) => {
  const unknownEnv = await runCli(['train', '--env', 'nope']);
  t.is(unknownEnv.code, 2);
  t.regex(unknownEnv.stderr, /--env: expected one of synthetic, movielens, coat, kuairec, kuairand, got "nope"/);
  const badThreads = await runCli(['train', '--threads', '0']);
  t.is(badThreads.code, 2);
  t.regex(badThreads.stderr, /--threads: expected an integer in \[1, 256\], got "0"/);
  const badSeed = await runCli(['train', '--seed=-4']);
  t.is(badSeed.code, 2);
  t.regex(badSeed.stderr, /--seed: expected an integer in \[0, 4294967295\], got "-4"/);
  const badFlag = await runCli(['run', '--bogus']);
  t.is(badFlag.code, 2);
  t.notRegex(badFlag.stderr, /at .*\.ts:\d+/);
  const unknownCmd = await runCli(['fly']);
  t.is(unknownCmd.code, 2);
});

test('ialp recommend: top-k of a saved policy for a user, from their latest logged interactions', async (t) => {
  const { mkdtemp } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'ialp-rec-'));
  const file = join(dir, 'coat.ialp');
  const trained = await runCli(['train', '--env', 'coat', '--episodes', '50', '--eval-episodes', '8', '--save', file]);
  t.is(trained.code, 0, trained.stderr);
  const r = await runCli(['recommend', '--policy', file, '--user', '3', '--k', '5', '--json']);
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { history: { item: number }[]; recommendations: { item: number; score: number; text: string }[] };
  t.is(out.history.length, 10);
  t.is(out.recommendations.length, 5);
  t.true(out.recommendations.every((x) => !out.history.some((h) => h.item === x.item) && x.text.includes('jacket')));
  const wasm = await runCli(['recommend', '--policy', file, '--user', '3', '--k', '5', '--json', '--backend', 'wasm']);
  t.deepEqual(JSON.parse(wasm.stdout), out);
  // every item asked for: the seen ones are left out, and the shortfall is said
  const all = await runCli(['recommend', '--policy', file, '--user', '3', '--k', '300', '--json']);
  t.is(all.code, 0, all.stderr);
  const seen = new Set(out.history.map((h) => h.item)).size;
  t.is((JSON.parse(all.stdout) as typeof out).recommendations.length, 300 - seen);
  t.regex(all.stderr, new RegExp(`${300 - seen} recommendations, not 300: the other ${seen} of the 300 items are in user 3's history`));
  t.notRegex(r.stderr, /note/);
  const bad = await runCli(['recommend', '--policy', file, '--user', '100000']);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /user: expected an integer in \[0, 289\], got 100000/);
});
