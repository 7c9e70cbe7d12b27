// Group `main`: the main job, `ialp run --quick` (MovieLens latest-small, the
// default LLM; one seed under bench --quick), as a user runs it: the command line in a child process, first
// with empty caches (only the default model, already fetched, is reused: the
// download is network time, not ialp's), then rerun from its caches. Reports
// the wall time of each phase and checks that the rerun gives the same numbers.

import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { cacheDir } from '../../packages/ts-api/src/index.js';
import type { Group, GroupContext, GroupResult } from '../lib/group.js';
import { measurement } from '../lib/measure.js';

interface RunJson {
  meta: { seconds: number; phaseSeconds: Record<string, number> };
  results: unknown;
}

async function ialpRun(root: string, args: string[], cache: string): Promise<{ json: RunJson; wall: number }> {
  const t0 = performance.now();
  const { stdout } = await promisify(execFile)(process.execPath, ['--import=tsx', join(root, 'packages/ts-api/src/cli.ts'), 'run', ...args], {
    cwd: root,
    env: { ...process.env, IALP_CACHE_DIR: cache },
    maxBuffer: 64 << 20,
  });
  return { json: JSON.parse(stdout) as RunJson, wall: (performance.now() - t0) / 1000 };
}

const fmt = (p: Record<string, number>) => Object.entries(p).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ');

async function run(ctx: GroupContext): Promise<GroupResult> {
  const dir = await mkdtemp(join(tmpdir(), 'ialp-bench-main-'));
  const cache = join(dir, 'cache');
  const out = join(dir, 'out');
  // bench --quick: one seed instead of three
  const seeds = ctx.quick ? 1 : 3;
  const args = ['--quick', '--seeds', String(seeds), '--out', out, '--json'];
  const result: GroupResult = { measurements: [], notes: [], checks: [] };
  try {
    // the default model is reused from the user's cache (fetched there once)
    await mkdir(cache, { recursive: true });
    await symlink(join(cacheDir(), 'models'), join(cache, 'models')).catch(() => {});
    ctx.log('main: ialp run --quick, empty caches');
    const first = await ialpRun(ctx.root, args, cache);
    ctx.log('main: ialp run --quick, rerun from the caches');
    const again = await ialpRun(ctx.root, args, cache);
    for (const [name, r] of [['first run', first], ['rerun from caches', again]] as const) {
      result.measurements.push(measurement({ group: 'main', name, params: { env: 'movielens', quick: true, seeds, seconds: Number(r.wall.toFixed(1)) }, unit: 'runs', perRep: 1, cores: 1, seconds: [r.wall] }));
    }
    result.notes.push(
      `ialp run --quick --seeds ${seeds} (movielens, default LLM, 8 methods), one timed run each, wall time including Node start-up. ` +
        `First run ${first.wall.toFixed(1)} s (${fmt(first.json.meta.phaseSeconds)}); ` +
        `rerun ${again.wall.toFixed(1)} s (${fmt(again.json.meta.phaseSeconds)}).`,
    );
    result.checks.push({
      name: 'main: the rerun from caches gives the first run\'s numbers',
      ok: JSON.stringify(first.json.results) === JSON.stringify(again.json.results),
      detail: `rerun ${(first.wall / again.wall).toFixed(1)}x faster`,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return result;
}

export const mainGroup: Group = { name: 'main', title: 'The main job (ialp run --quick)', unavailable: null, run };
