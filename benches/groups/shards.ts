// Group `shards`: the experiment as 2 concurrent shard processes (`ialp run
// --shard I/2`) against 1 process, cold, on this machine: the wall time and the
// online phase's time (issue #12's target: >= 1.7x on the online phase), and a
// check that the merged shards equal the unsharded run. One process already runs
// its seeds side by side (up to 4 at once, each on a thread of the native pool),
// so on a 2-core machine the shards compete for the cores the single process uses.
// The same pair with each process pinned to one core of its own (taskset) stands
// for shards on machines of their own: the scaling a cluster gives.

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Group, GroupContext, GroupResult } from '../lib/group.js';
import { measurement } from '../lib/measure.js';

interface RunOut { seconds: number; stdout: string; online: number }

/** Runs the CLI, pinned to core `cpu` when given. */
function ialp(root: string, args: string[], cpu?: number): Promise<{ code: number; stdout: string; stderr: string }> {
  const cmd = [process.execPath, join(root, 'packages', 'ts-api', 'bin', 'ialp.js'), ...args];
  const child = cpu === undefined
    ? spawn(cmd[0]!, cmd.slice(1), { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('taskset', ['-c', String(cpu), ...cmd], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code: code ?? 1, stdout, stderr })));
}

async function timed(root: string, args: string[], out: string, cpu?: number): Promise<RunOut> {
  const t0 = performance.now();
  const r = await ialp(root, [...args, '--out', out, '--json'], cpu);
  const seconds = (performance.now() - t0) / 1000;
  if (r.code !== 0) throw new Error(`ialp ${args.join(' ')} failed (${r.code}): ${r.stderr.slice(-400)}`);
  const meta = (JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as { meta: { phaseSeconds: Record<string, number> } }).meta;
  return { seconds, stdout: r.stdout, online: meta.phaseSeconds.online ?? NaN };
}

/** True where `taskset` (util-linux) runs and this machine has 2 cores or more. */
async function hasTaskset(): Promise<boolean> {
  if (availableParallelism() < 2) return false;
  return new Promise((resolve) => {
    const c = spawn('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
    c.once('error', () => resolve(false));
    c.once('exit', (code) => resolve(code === 0));
  });
}

async function run(ctx: GroupContext): Promise<GroupResult> {
  const seeds = ctx.quick ? 2 : 8;
  // a longer online phase than the default (1,000 episodes per method and seed; at
  // 300 it took under a second, so process start-up weighed as much as the work),
  // with a short pre-training so that the cold runs take seconds, not minutes
  const dir = await mkdtemp(join(tmpdir(), 'ialp-bench-shards-'));
  const config = { envs: ['coat'], llm: 'oracle', seeds, pretrain: { steps: 20_000 }, distill: { users: 200 }, online: { episodes: 1000 } };
  await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  const args = ['run', '--config', join(dir, 'config.json')];
  const result: GroupResult = {
    measurements: [],
    notes: [`\`ialp run --config\` ${JSON.stringify(config)}, cold (fresh run folders): 1 process, then 2 shard processes at once; wall time from process start to exit, online phase from each run's results.json (the shards' slower one).`],
    checks: [],
  };
  try {
    ctx.log('shards: 1 process');
    const one = await timed(ctx.root, args, join(dir, 'one'));
    ctx.log('shards: 2 shard processes at once');
    const t0 = performance.now();
    const shards = await Promise.all([0, 1].map((i) => timed(ctx.root, [...args, '--shard', `${i}/2`], join(dir, `s${i}`))));
    const both = (performance.now() - t0) / 1000;
    const online2 = Math.max(...shards.map((s) => s.online));
    const work = seeds * 10; // (seed, method) runs of the online phase
    result.measurements.push(measurement({ group: 'shards', name: 'online phase, 1 process', params: { seeds, processes: 1 }, unit: 'runs', perRep: work, cores: 2, seconds: [one.online] }));
    result.measurements.push(measurement({ group: 'shards', name: 'online phase, 2 shards', params: { seeds, processes: 2 }, unit: 'runs', perRep: work, cores: 2, seconds: [online2] }));
    result.measurements.push(measurement({ group: 'shards', name: 'whole run, 1 process', params: { seeds, processes: 1 }, unit: 'runs', perRep: work, cores: 2, seconds: [one.seconds] }));
    result.measurements.push(measurement({ group: 'shards', name: 'whole run, 2 shards', params: { seeds, processes: 2 }, unit: 'runs', perRep: work, cores: 2, seconds: [both] }));
    const onlineRatio = one.online / online2;
    result.notes.push(`online phase: 1 process ${one.online.toFixed(2)} s, 2 shards ${online2.toFixed(2)} s: ${onlineRatio.toFixed(2)}x; whole run: ${one.seconds.toFixed(1)} s vs ${both.toFixed(1)} s: ${(one.seconds / both).toFixed(2)}x`);
    result.checks.push({ name: 'shards: 2 shards >= 1.7x 1 process on the online phase', ok: onlineRatio >= 1.7, detail: `${onlineRatio.toFixed(2)}x (${one.online.toFixed(2)} s / ${online2.toFixed(2)} s)` });
    // one core per process: a shard per machine
    if (await hasTaskset()) {
      // three pairs (one in --quick), the median of each side: one pair varied by 15%
      const reps = ctx.quick ? 1 : 3;
      const singles: number[] = [];
      const pairs: number[] = [];
      for (let k = 0; k < reps; k++) {
        ctx.log(`shards: 1 process on one core, then 2 shards on a core each (${k + 1}/${reps})`);
        singles.push((await timed(ctx.root, args, join(dir, `one-pinned-${k}`), 0)).online);
        const pinned = await Promise.all([0, 1].map((i) => timed(ctx.root, [...args, '--shard', `${i}/2`], join(dir, `p${k}-${i}`), i)));
        pairs.push(Math.max(...pinned.map((x) => x.online)));
      }
      result.measurements.push(measurement({ group: 'shards', name: 'online phase, 1 process on 1 core', params: { seeds, processes: 1, coresEach: 1 }, unit: 'runs', perRep: work, cores: 1, seconds: singles }));
      result.measurements.push(measurement({ group: 'shards', name: 'online phase, 2 shards on 1 core each', params: { seeds, processes: 2, coresEach: 1 }, unit: 'runs', perRep: work, cores: 2, seconds: pairs }));
      const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const r = med(singles) / med(pairs);
      result.notes.push(`one core per process (a shard per machine), ${reps} pair(s): online phase 1 process ${singles.map((x) => x.toFixed(2)).join(', ')} s, 2 shards ${pairs.map((x) => x.toFixed(2)).join(', ')} s: medians ${r.toFixed(2)}x`);
      result.checks.push({ name: 'shards: 2 shards on a core each >= 1.7x 1 process on one core (online phase)', ok: r >= 1.7, detail: `${r.toFixed(2)}x (medians ${med(singles).toFixed(2)} s / ${med(pairs).toFixed(2)} s)` });
    }
    const merged = await ialp(ctx.root, ['merge', join(dir, 's0'), join(dir, 's1'), '--out', join(dir, 'merged'), '--json']);
    const same = merged.code === 0 && JSON.stringify((JSON.parse(merged.stdout) as { results: unknown }).results) === JSON.stringify((JSON.parse(one.stdout) as { results: unknown }).results);
    result.checks.push({ name: 'shards: the merged shards equal the unsharded run', ok: same, detail: merged.code === 0 ? (same ? 'results identical' : 'results differ') : merged.stderr.slice(-300) });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return result;
}

export const shardsGroup: Group = { name: 'shards', title: 'Sharded experiment: 2 shard processes vs 1 process (cold)', unavailable: null, run };
