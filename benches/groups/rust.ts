// Groups `ac` and `buffers`: there is no binding for a bare update or buffer, so
// these run the Rust program crates/ac-core/examples/bench_updates.rs (through
// `cargo run --release`) and read the JSON lines it prints. It times itself, with
// the same warm-up and repetition counts as the rest of the run.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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

/** Whether crates/ac-core declares a `torch` feature (issue #6 adds the libtorch backend). */
export function torchFeature(root: string): boolean {
  const manifest = join(root, 'crates/ac-core/Cargo.toml');
  return existsSync(manifest) && /^\s*torch\s*=/m.test(readFileSync(manifest, 'utf8').split(/^\[features\]/m)[1] ?? '');
}

export const acGroup: Group = {
  name: 'ac',
  title: 'Actor-critic updates (A2C, ndarray backend)',
  unavailable: null,
  async run(ctx) {
    const batches = ctx.quick ? [256, 1024] : [256, 1024, 4096];
    const hidden = [64, 256];
    const lines = runExample(ctx, [
      ...['--group', 'ac', '--batches', batches.join(','), '--hidden', hidden.join(',')],
      ...['--warmup', String(ctx.plan.warmup), '--reps', String(ctx.plan.reps)],
    ]);
    return toResult(lines, [
      `Runs ${EXAMPLE} (Rust, single thread): one A2C update (forward, backward, Adam) of NdarrayNet ` +
        'on random encoded states of synthetic (d = 32: 128 inputs, 500 items), depth 2, embedDim 32; samples/s = batch rows / update time.',
      torchFeature(ctx.root)
        ? 'libtorch CPU/CUDA: not run by this harness; benches/gpu/run.sh compares them with ndarray (see benches/README.md).'
        : 'libtorch CPU: torch build not present (issue #6 adds it); the ndarray-vs-libtorch target is n/a.',
    ]);
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
