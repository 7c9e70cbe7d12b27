// `ialp run --shard I/N` and `ialp merge`: two shards run as concurrent
// processes, merged, give the unsharded run's results exactly.
import test from 'ava';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers.js';

const base = ['run', '--env', 'coat', '--quick', '--seeds', '3', '--llm', 'oracle', '--json'];
type Out = { meta: { shard?: { index: number; count: number } }; results: { methods: { method: string; early: number[] }[] }[] };

test('two shards run concurrently, merged, equal the unsharded run; a missing shard is named', async (t) => {
  t.timeout(15 * 60_000);
  const dir = await mkdtemp(join(tmpdir(), 'ialp-shard-'));
  const [whole, s0, s1] = await Promise.all([
    runCli([...base, '--out', join(dir, 'whole')]),
    runCli([...base, '--out', join(dir, 's0'), '--shard', '0/2']),
    // the shard index from the environment, as a Slurm array task sets it
    runCli([...base, '--out', join(dir, 's1')], { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '2' }),
  ]);
  for (const r of [whole, s0, s1]) t.is(r.code, 0, r.stderr);
  const [w, a, b] = [whole, s0, s1].map((r) => JSON.parse(r.stdout) as Out);
  t.deepEqual(a!.meta.shard, { index: 0, count: 2 });
  t.deepEqual(b!.meta.shard, { index: 1, count: 2 });
  // seeds 0 and 2 in shard 0, seed 1 in shard 1
  t.is(a!.results[0]!.methods[0]!.early.length, 2);
  t.is(b!.results[0]!.methods[0]!.early.length, 1);
  const merged = await runCli(['merge', join(dir, 's0'), join(dir, 's1'), '--out', join(dir, 'merged'), '--json']);
  t.is(merged.code, 0, merged.stderr);
  t.deepEqual((JSON.parse(merged.stdout) as Out).results, w!.results);
  t.is(await readFile(join(dir, 'merged', 'metrics.jsonl'), 'utf8'), await readFile(join(dir, 'whole', 'metrics.jsonl'), 'utf8'));
  // the table it prints is ialp run's
  const printed = await runCli(['merge', join(dir, 's1'), join(dir, 's0'), '--out', join(dir, 'merged2')]);
  t.is(printed.code, 0, printed.stderr);
  t.regex(printed.stdout, /a-ialp-ap/);

  const one = await runCli(['merge', join(dir, 's0'), '--out', join(dir, 'm3')]);
  t.is(one.code, 1);
  t.regex(one.stderr, /shards 1\/2 missing/);
  const bad = await runCli([...base, '--out', join(dir, 'x'), '--shard', '2/2']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--shard: expected I\/N with 0 <= I < N/);
  const k8s = await runCli([...base, '--out', join(dir, 'x')], { JOB_COMPLETION_INDEX: '0' });
  t.is(k8s.code, 2);
  t.regex(k8s.stderr, /IALP_SHARDS/);
});
