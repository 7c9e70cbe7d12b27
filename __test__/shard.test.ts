// `ialp run --shard I/N` and `ialp merge`: two shards run as concurrent
// processes, merged, give the unsharded run's results exactly.
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, root, runCli } from './helpers.js';

/** Starts `ialp args` and kills it (SIGKILL: no clean-up runs) once its progress
 * on stderr matches `when`; resolves with what it had printed. */
function killWhen(args: string[], when: RegExp): Promise<{ signal: string | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import=tsx', cli, ...args], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    stderr += d;
    if (when.test(stderr)) child.kill('SIGKILL');
  });
  return new Promise((resolve) => child.once('exit', (_code, signal) => resolve({ signal, stderr })));
}

const base = ['run', '--env', 'coat', '--quick', '--seeds', '3', '--llm', 'oracle', '--json'];
type Out = { meta: { shard?: { index: number; count: number } }; results: { methods: { method: string; early: number[] }[] }[] };

test('two shards run concurrently, merged, equal the unsharded run; a missing shard is named; a killed shard rerun completes the merge', async (t) => {
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

  // shard 1 killed in its online phase (as a preempted node is), then rerun into
  // the same folder: it resumes from its phase cache and the merge is the unsharded run
  const killed = await killWhen([...base, '--out', join(dir, 'k1'), '--shard', '1/2'], /online \(/);
  t.is(killed.signal, 'SIGKILL', killed.stderr);
  const partial = await runCli(['merge', join(dir, 's0'), join(dir, 'k1'), '--out', join(dir, 'm4')]);
  t.is(partial.code, 1, 'a merge with the killed shard fails');
  t.regex(partial.stderr, /k1|shards 1\/2 missing/);
  const rerun = await runCli([...base, '--out', join(dir, 'k1'), '--shard', '1/2']);
  t.is(rerun.code, 0, rerun.stderr);
  const healed = await runCli(['merge', join(dir, 's0'), join(dir, 'k1'), '--out', join(dir, 'm5'), '--json']);
  t.is(healed.code, 0, healed.stderr);
  t.deepEqual((JSON.parse(healed.stdout) as Out).results, w!.results);
  const bad = await runCli([...base, '--out', join(dir, 'x'), '--shard', '2/2']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--shard: expected I\/N with 0 <= I < N/);
  const k8s = await runCli([...base, '--out', join(dir, 'x')], { JOB_COMPLETION_INDEX: '0' });
  t.is(k8s.code, 2);
  t.regex(k8s.stderr, /IALP_SHARDS/);
});
