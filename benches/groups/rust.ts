// Groups `ac`, `buffers` and `train`: there is no binding for a bare update or buffer, so
// these run the Rust program crates/ac-core/examples/bench_updates.rs (through
// `cargo run --release`) and read the JSON lines it prints. It times itself, with
// the same warm-up and repetition counts as the rest of the run.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Group, GroupContext, GroupResult } from '../lib/group.js';
import { measurement } from '../lib/measure.js';
import { pairedDiff } from '../../packages/ts-api/src/stats.js';

const EXAMPLE = 'crates/ac-core/examples/bench_updates.rs';

interface Line {
  group: string;
  name: string;
  params: Record<string, number | string>;
  unit: string;
  perRep: number;
  seconds: number[];
}

/** Runs an example of crates/ac-core (`cargo run --release`) and returns its standard output. */
function cargoExample(ctx: GroupContext, example: string, args: string[]): string {
  const cargoArgs = ['run', '--release', '-q', '-p', 'ialp-ac-core', '--example', example, '--', ...args];
  const file = `crates/ac-core/examples/${example}.rs`;
  ctx.log(`  cargo ${cargoArgs.join(' ')}`);
  const r = spawnSync('cargo', cargoArgs, { cwd: ctx.root, encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.error) throw new Error(`could not start cargo (needed to run ${file}): ${r.error.message}`);
  if (r.status !== 0) {
    throw new Error(`cargo run of ${file} exited with ${r.status}:\n${r.stderr.trim().split('\n').slice(-15).join('\n')}`);
  }
  return r.stdout;
}

function runExample(ctx: GroupContext, args: string[]): Line[] {
  return cargoExample(ctx, 'bench_updates', args)
    .split('\n')
    .filter((l) => l.trim())
    .map((l, i) => {
      try {
        return JSON.parse(l) as Line;
      } catch {
        throw new Error(`${EXAMPLE} output line ${i + 1} is not JSON: ${l.slice(0, 200)}`);
      }
    });
}

function toResult(lines: Line[], notes: string[]): GroupResult {
  return {
    measurements: lines.map((l) =>
      measurement({
        group: l.group,
        name: l.name,
        params: l.params,
        unit: l.unit,
        perRep: l.perRep,
        cores: typeof l.params.threads === 'number' ? l.params.threads : 1,
        seconds: l.seconds,
      }),
    ),
    notes,
    checks: [],
  };
}

/** Why the libtorch comparison cannot run here, or null when it can: it needs
 * the torch build's Python environment (`.venv-torch`, made by
 * scripts/setup-torch.sh or `IALP_TORCH=1 bash scripts/setup.sh`). */
export function torchUnavailable(root: string): string | null {
  if (!existsSync(join(root, 'scripts/torch-env.sh'))) return 'scripts/torch-env.sh is missing';
  if (!existsSync(join(root, '.venv-torch'))) {
    return 'no torch build here (.venv-torch missing: run IALP_TORCH=1 bash scripts/setup.sh to add it)';
  }
  return null;
}

/** Why the JAX reference cannot run here, or null when it can. */
export function jaxUnavailable(root: string): string | null {
  if (!existsSync(join(root, 'benches/reference/a2c_jax.py'))) return 'benches/reference/a2c_jax.py is missing';
  if (!existsSync(join(root, '.venv-jax/bin/python'))) return 'no JAX here (.venv-jax missing: run bash scripts/setup-jax.sh to add it)';
  return null;
}

interface JaxCase {
  batch: number;
  nItems: number;
  compileSeconds: number;
  userSteps: number;
  seconds: number[];
}

/** The JAX reference (benches/reference/a2c_jax.py, one CPU thread) at the
 * group's shapes; compile time reported apart from the timed repetitions. */
function jaxReference(ctx: GroupContext, batches: number[], items: number[]): { measurements: ReturnType<typeof measurement>[]; notes: string[] } {
  const why = jaxUnavailable(ctx.root);
  if (why) return { measurements: [], notes: [`JAX reference: not run, ${why}.`] };
  const args = [
    'benches/reference/a2c_jax.py',
    ...['--batches', batches.join(','), '--items', items.join(',')],
    ...['--rep-ms', String(ctx.plan.repMs), '--warmup', String(ctx.plan.warmup), '--reps', String(ctx.plan.reps)],
  ];
  ctx.log(`  .venv-jax/bin/python ${args.join(' ')}`);
  const env = { ...process.env, XLA_FLAGS: '--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1', JAX_PLATFORMS: 'cpu' };
  const r = spawnSync(join(ctx.root, '.venv-jax/bin/python'), args, { cwd: ctx.root, encoding: 'utf8', env, maxBuffer: 16 << 20 });
  if (r.error || r.status !== 0) {
    return { measurements: [], notes: [`JAX reference: failed (${r.error?.message ?? `exit ${r.status}`}): ${(r.stderr ?? '').trim().split('\n').slice(-5).join(' | ')}`] };
  }
  const cases = r.stdout.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as JaxCase);
  return {
    measurements: cases.map((c) =>
      measurement({
        group: 'train',
        name: 'jax a2c train',
        params: { batch: c.batch, nItems: c.nItems, compileSeconds: Number(c.compileSeconds.toFixed(2)) },
        unit: 'user-steps',
        perRep: c.userSteps,
        cores: 1,
        seconds: c.seconds,
      }),
    ),
    notes: [
      'jax a2c train: benches/reference/a2c_jax.py (jit + vmap + lax.scan, one XLA CPU thread) at the same shapes; ' +
        'compileSeconds is its first call (tracing and XLA compilation), not in the timed repetitions. It runs after the ialp cases, not interleaved with them.',
    ],
  };
}

interface BackendCase {
  backend: string;
  hidden: number;
  batch: number;
  seconds: number[];
}

/** ndarray and libtorch CPU (one thread each) at the same shapes, the updates
 * interleaved repetition by repetition: crates/ac-core/examples/bench_backends.rs
 * built with the `torch` feature. */
function runTorchComparison(ctx: GroupContext, batches: number[], hidden: number[]): { cases: BackendCase[]; threads: number } {
  const dir = mkdtempSync(join(tmpdir(), 'ialp-bench-torch-'));
  const json = join(dir, 'backends.json');
  try {
    const args = [
      ...['--backends', 'ndarray,tch-cpu', '--threads', '1', '--batches', batches.join(','), '--hidden', hidden.join(',')],
      ...['--warmup', String(ctx.plan.warmup), '--reps', String(ctx.plan.reps), '--json', json],
    ];
    ctx.log('  cargo run --release --features torch --example bench_backends (the first build with torch takes minutes)');
    const script =
      'source scripts/torch-env.sh && export LD_LIBRARY_PATH="$IALP_LIBTORCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" && ' +
      'exec cargo run --release -q -p ialp-ac-core --features torch --example bench_backends -- "$@"';
    const r = spawnSync('bash', ['-c', script, 'bash', ...args], { cwd: ctx.root, encoding: 'utf8', maxBuffer: 16 << 20 });
    if (r.error) throw new Error(`could not start bash for the torch comparison: ${r.error.message}`);
    if (r.status !== 0) {
      throw new Error(`bench_backends with the torch feature exited with ${r.status}:\n${r.stderr.trim().split('\n').slice(-15).join('\n')}`);
    }
    const out = JSON.parse(readFileSync(json, 'utf8')) as { torchThreads: number; cases: BackendCase[] };
    return { cases: out.cases, threads: out.torchThreads };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const acGroup: Group = {
  name: 'ac',
  title: 'Actor-critic updates (A2C; ndarray, and libtorch CPU where the torch build exists)',
  unavailable: null,
  async run(ctx) {
    const batches = ctx.quick ? [256, 1024] : [256, 1024, 4096];
    const hidden = [64, 256];
    const lines = runExample(ctx, [
      ...['--group', 'ac', '--batches', batches.join(','), '--hidden', hidden.join(',')],
      ...['--warmup', String(ctx.plan.warmup), '--reps', String(ctx.plan.reps)],
    ]);
    const result = toResult(lines, [
      `Runs ${EXAMPLE} (Rust, single thread): one A2C update (forward, backward, Adam) of NdarrayNet ` +
        'on random encoded states of synthetic (d = 32: 128 inputs, 500 items), depth 2, embedDim 32; samples/s = batch rows / update time.',
    ]);
    const why = torchUnavailable(ctx.root);
    if (why) {
      result.notes.push(`libtorch CPU: not compared, ${why}; the ndarray-vs-libtorch target is not measured.`);
      return result;
    }
    const { cases, threads } = runTorchComparison(ctx, batches, hidden);
    for (const c of cases) {
      result.measurements.push(
        measurement({
          group: 'ac',
          name: c.backend === 'tch-cpu' ? 'vs-torch:libtorch-cpu' : 'vs-torch:ndarray',
          params: { batch: c.batch, hidden: c.hidden, threads: 1 },
          unit: 'samples',
          perRep: c.batch,
          cores: 1,
          seconds: c.seconds,
        }),
      );
    }
    result.notes.push(
      'vs-torch: crates/ac-core/examples/bench_backends.rs built with the torch feature: the same update (same initial weights, same batch) ' +
        `on ndarray and on libtorch CPU (tch, ${threads} thread), repetitions interleaved.`,
    );
    return result;
  },
};

export const buffersGroup: Group = {
  name: 'buffers',
  title: 'Buffers and advantage estimation',
  unavailable: null,
  async run(ctx) {
    const lines = runExample(ctx, ['--group', 'buffers', '--warmup', String(ctx.plan.warmup), '--reps', String(ctx.plan.reps)]);
    return toResult(lines, [
      `Runs ${EXAMPLE} (Rust, single thread): RolloutBuffer push (T = 32 rows of B = 1024, 128 floats per observation), ` +
        'ReplayBuffer push (one transition per call) and sample (minibatches of 256, with replacement), GAE over T x B.',
    ]);
  },
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The share of each part of an A2C iteration, from the medians of the part lines. */
function partShares(lines: Line[]): string[] {
  const notes: string[] = [];
  for (const whole of lines.filter((l) => l.name === 'a2c train')) {
    const same = (l: Line) => l.params.batch === whole.params.batch && l.params.nItems === whole.params.nItems && l.params.threads === whole.params.threads;
    const total = median(whole.seconds);
    const parts = lines.filter((l) => same(l) && l.name.startsWith('part:'));
    const alone = lines.filter((l) => same(l) && l.name.startsWith('alone:'));
    const pct = (l: Line) => `${l.name.slice(l.name.indexOf(':') + 1)} ${((100 * median(l.seconds)) / total).toFixed(0)}%`;
    const perUpdate = (1000 * total) / Number(whole.params.updatesPerRep);
    notes.push(
      `B = ${whole.params.batch}, ${whole.params.nItems} items, ${whole.params.threads} thread(s): ${perUpdate.toFixed(2)} ms per update; ` +
        `${parts.map(pct).join(', ')} (alone: ${alone.map(pct).join(', ')})`,
    );
  }
  return notes;
}

/** Each shape's user-steps/s on more threads over one thread, from the medians. */
function threadSpeedups(lines: Line[]): string[] {
  const rate = (l: Line) => l.perRep / median(l.seconds);
  const wholes = lines.filter((l) => l.name === 'a2c train');
  return wholes.filter((l) => l.params.threads !== 1).flatMap((l) => {
    const one = wholes.find((o) => o.params.threads === 1 && o.params.batch === l.params.batch && o.params.nItems === l.params.nItems);
    return one ? [`${l.params.threads} threads over 1 at B = ${l.params.batch}, ${l.params.nItems} items: ${(rate(l) / rate(one)).toFixed(2)}x`] : [];
  });
}

const fmtPaired = (d: { mean: number; ci95: number }) => `${d.mean >= 0 ? '+' : ''}${d.mean.toFixed(2)} ± ${d.ci95.toFixed(2)}`;

interface Learned { seconds: number; updates: number; first: number; last: number; compile?: number }

const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const spread = (xs: number[]) => `${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}`;

/**
 * `ialp train` (its defaults: synthetic, B = 64, 500 items, 5,000 episodes) and
 * the JAX reference's `--learn` with the same number of updates, each a cold
 * process timed from start to exit (JAX's import and compilation included),
 * seed by seed one after the other; with each, the mean return of the first and
 * last 10% of its episodes: whether ialp's A2C learns as a standard
 * implementation does. The port draws its own world per seed (threefry), so
 * the runs are not paired; the comparison is of the two spreads.
 */
function coldAndLearning(ctx: GroupContext): Pick<GroupResult, 'measurements' | 'notes' | 'checks'> {
  const why = jaxUnavailable(ctx.root);
  if (why) return { measurements: [], notes: [`cold job and learning against JAX: not run, ${why}.`], checks: [] };
  const seeds = ctx.quick ? [1, 2] : [1, 2, 3, 4, 5];
  const env = { ...process.env, XLA_FLAGS: '--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1', JAX_PLATFORMS: 'cpu' };
  // ialp's world and each seed's initial weights, which the JAX reference reads: a paired comparison
  const init = mkdtempSync(join(tmpdir(), 'ialp-reference-init-'));
  try {
    cargoExample(ctx, 'reference_init', ['--seeds', seeds.join(','), '--out', init]);
    return coldAndLearningFrom(ctx, seeds, env, init);
  } finally {
    rmSync(init, { recursive: true, force: true });
  }
}

function coldAndLearningFrom(ctx: GroupContext, seeds: number[], env: NodeJS.ProcessEnv, init: string): Pick<GroupResult, 'measurements' | 'notes' | 'checks'> {
  const ours: Learned[] = [];
  const theirs: Learned[] = [];
  for (const seed of seeds) {
    ctx.log(`  cold: ialp train --seed ${seed}, then the JAX reference with as many updates`);
    let t0 = performance.now();
    const a = spawnSync(process.execPath, [join(ctx.root, 'packages/ts-api/bin/ialp.js'), 'train', '--seed', String(seed), '--json'], { cwd: ctx.root, encoding: 'utf8', maxBuffer: 64 << 20 });
    const aSeconds = (performance.now() - t0) / 1000;
    if (a.status !== 0) return { measurements: [], notes: [`cold job: ialp train failed: ${(a.stderr ?? '').slice(-300)}`], checks: [] };
    const out = JSON.parse(a.stdout) as { results: { updates: number; rows: { method: string; phase: string; summary: { meanReturn: number } }[] } };
    const row = (phase: string) => out.results.rows.find((r) => r.method === 'a2c' && r.phase === phase)!.summary.meanReturn;
    ours.push({ seconds: aSeconds, updates: out.results.updates, first: row('online, first 10%'), last: row('online, last 10%') });
    t0 = performance.now();
    const j = spawnSync(join(ctx.root, '.venv-jax/bin/python'), ['benches/reference/a2c_jax.py', '--learn', String(out.results.updates), '--batches', '64', '--items', '500', '--seeds', String(seed), '--init', init], { cwd: ctx.root, encoding: 'utf8', env, maxBuffer: 16 << 20 });
    const jSeconds = (performance.now() - t0) / 1000;
    if (j.status !== 0) return { measurements: [], notes: [`cold job: the JAX reference failed: ${(j.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`], checks: [] };
    const r = JSON.parse(j.stdout.trim().split('\n').at(-1)!) as { compileSeconds: number; first10: { meanReturn: number }; last10: { meanReturn: number } };
    theirs.push({ seconds: jSeconds, updates: out.results.updates, first: r.first10.meanReturn, last: r.last10.meanReturn, compile: r.compileSeconds });
  }
  const ratio = meanOf(ours.map((x) => x.seconds)) / meanOf(theirs.map((x) => x.seconds));
  const m = (name: string, xs: Learned[]) => measurement({ group: 'train', name, params: { batch: 64, nItems: 500, seeds: seeds.length }, unit: 'jobs', perRep: 1, cores: 1, seconds: xs.map((x) => x.seconds) });
  return {
    measurements: [m('cold ialp train (process start to result)', ours), m('cold JAX reference, same updates (import and compile included)', theirs)],
    notes: [
      `cold whole job, ${seeds.length} seeds one after the other: ialp train ${spread(ours.map((x) => x.seconds))} s, the JAX reference with as many updates ${spread(theirs.map((x) => x.seconds))} s (compile ${spread(theirs.map((x) => x.compile!))} s): ialp / JAX ${ratio.toFixed(3)}x`,
      `learning (a2c, mean return of the first / last 10% of 5,000 episodes, seeds ${seeds.join(', ')}; the JAX reference in ialp's world from ialp's initial weights of each seed): ialp ${ours.map((x) => `${x.first.toFixed(2)} / ${x.last.toFixed(2)}`).join('; ')} (last 10% mean ${meanOf(ours.map((x) => x.last)).toFixed(2)}); ` +
        `JAX ${theirs.map((x) => `${x.first.toFixed(2)} / ${x.last.toFixed(2)}`).join('; ')} (mean ${meanOf(theirs.map((x) => x.last)).toFixed(2)}); updates ${ours.map((x) => x.updates).join(', ')}`,
      `learning, paired by seed (same world, same initial weights, the same number of updates; users and sampling drawn by each one's generator): last 10% ialp - JAX ${fmtPaired(pairedDiff(ours.map((x) => x.last), theirs.map((x) => x.last)))}, first 10% ${fmtPaired(pairedDiff(ours.map((x) => x.first), theirs.map((x) => x.first)))} (95% interval, Student t; inside it the two learn alike)`,
    ],
    checks: [{ name: 'train: cold ialp train <= 0.5x the JAX reference (compile included)', ok: ratio <= 0.5, detail: `${ratio.toFixed(3)}x` }],
  };
}

export const trainGroup: Group = {
  name: 'train',
  title: 'Whole A2C training iterations (stepping, encoding, forward, sampling, backward, Adam)',
  unavailable: null,
  async run(ctx) {
    const batches = [16, 64, 1024];
    const items = ctx.quick ? [500] : [500, 10000];
    const threads = [1, 2];
    const lines = runExample(ctx, [
      ...['--group', 'train', '--batches', batches.join(','), '--items', items.join(','), '--threads', threads.join(',')],
      ...['--rep-ms', String(ctx.plan.repMs), '--warmup', String(ctx.plan.warmup), '--reps', String(ctx.plan.reps)],
    ]);
    const result = toResult(lines, [
      `Runs ${EXAMPLE} --group train (Rust, on 1 and on 2 threads: \`threads\` steps the batch and splits the network's large products by rows, same bits): A2C iterations as \`ialp train\` runs them (synthetic at its defaults, d = 16, ` +
        'T = 8 steps of B users per update, hidden 64, depth 2, embedDim 32, Adam), user-steps/s including the update. ' +
        '`part:` lines are the time of each part inside the same repetitions (throughput = if only that part ran); ' +
        '`alone:` lines time the sampling and Adam by themselves at the same shapes, to split the fused parts.',
      ...partShares(lines),
      ...threadSpeedups(lines),
    ]);
    const jax = jaxReference(ctx, batches, items);
    result.measurements.push(...jax.measurements);
    result.notes.push(...jax.notes);
    for (const j of jax.measurements) {
      const ours = result.measurements.find((m) => m.name === 'a2c train' && m.params.threads === 1 && m.params.batch === j.params.batch && m.params.nItems === j.params.nItems);
      if (!ours) continue;
      result.notes.push(
        `ialp / JAX at B = ${j.params.batch}, ${j.params.nItems} items: ${(ours.throughput.median / j.throughput.median).toFixed(2)}x ` +
          `(medians of runs made one after the other; JAX compiled in ${j.params.compileSeconds} s before its repetitions)`,
      );
    }
    const cold = coldAndLearning(ctx);
    result.measurements.push(...cold.measurements);
    result.notes.push(...cold.notes);
    result.checks.push(...cold.checks);
    return result;
  },
};
