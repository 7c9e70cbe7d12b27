// Groups `ac` and `buffers`: there is no binding for a bare update or buffer, so
// these run the Rust program crates/ac-core/examples/bench_updates.rs (through
// `cargo run --release`) and read the JSON lines it prints. It times itself, with
// the same warm-up and repetition counts as the rest of the run.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Group, GroupContext, GroupResult } from '../lib/group.js';
import { measurement } from '../lib/measure.js';

const EXAMPLE = 'crates/ac-core/examples/bench_updates.rs';

interface Line {
  group: string;
  name: string;
  params: Record<string, number | string>;
  unit: string;
  perRep: number;
  seconds: number[];
}

function runExample(ctx: GroupContext, args: string[]): Line[] {
  const cargoArgs = ['run', '--release', '-q', '-p', 'ialp-ac-core', '--example', 'bench_updates', '--', ...args];
  ctx.log(`  cargo ${cargoArgs.join(' ')}`);
  const r = spawnSync('cargo', cargoArgs, { cwd: ctx.root, encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.error) throw new Error(`could not start cargo (needed to run ${EXAMPLE}): ${r.error.message}`);
  if (r.status !== 0) {
    throw new Error(`cargo run of ${EXAMPLE} exited with ${r.status}:\n${r.stderr.trim().split('\n').slice(-15).join('\n')}`);
  }
  return r.stdout
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
        cores: 1,
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
