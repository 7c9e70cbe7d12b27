// `ialp run --ray`: the shards as jobs on a real local Ray head (ray[default]
// from PyPI in .venv-ray, scripts/setup-ray.sh; started and stopped here by
// scripts/ray-local.sh), merged into the unsharded run's results. Runs where
// Ray is installed; with IALP_REQUIRE_RAY=1 (scripts/test.sh under CI) a
// missing Ray is a failure, not a skip.
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runShardsOnRay, type RayJobStatus } from '../packages/ts-api/src/ray.js';
import { root, runCli } from './helpers.js';

const haveRay = existsSync(join(root, '.venv-ray', 'bin', 'ray'));
const rayTest = haveRay || process.env.IALP_REQUIRE_RAY === '1' ? test.serial : test.skip;
const sh = (cmd: string) => promisify(execFile)('bash', [join(root, 'scripts', 'ray-local.sh'), cmd], { cwd: root, timeout: 180_000 });

rayTest('ialp run --ray: shards submitted as Ray jobs, merged, equal the local run; a failed shard is retried once', async (t) => {
  t.timeout(15 * 60_000);
  t.true(haveRay, 'no Ray at .venv-ray: run bash scripts/setup-ray.sh');
  const address = (await sh('start')).stdout.trim();
  t.teardown(async () => { await sh('stop').catch(() => {}); });
  t.regex(address, /^http:\/\/127\.0\.0\.1:\d+$/);
  const dir = await mkdtemp(join(tmpdir(), 'ialp-ray-'));
  const args = ['run', '--env', 'coat', '--quick', '--seeds', '3', '--llm', 'oracle', '--json'];
  const [onRay, local] = await Promise.all([
    runCli([...args, '--ray', address, '--shards', '2', '--out', join(dir, 'ray')]),
    runCli([...args, '--out', join(dir, 'local')]),
  ]);
  t.is(onRay.code, 0, onRay.stderr);
  t.is(local.code, 0, local.stderr);
  t.regex(onRay.stderr, /ray: shard 0\/2 succeeded/);
  t.regex(onRay.stderr, /ray: shard 1\/2 succeeded/);
  t.deepEqual(JSON.parse(onRay.stdout).results, JSON.parse(local.stdout).results);
  // no cluster there: a clear error naming the address
  const none = await runCli([...args, '--ray', 'http://127.0.0.1:9', '--out', join(dir, 'none')]);
  t.is(none.code, 1);
  t.regex(none.stderr, /cannot reach the Ray dashboard at http:\/\/127\.0\.0\.1:9/);

  // a shard whose first try fails (as on a lost node) is resubmitted once and succeeds;
  // one that fails on both tries is an error naming it, with its log's last lines
  const marks = await mkdtemp(join(tmpdir(), 'ialp-ray-retry-'));
  const seen: [number, RayJobStatus, number][] = [];
  await runShardsOnRay({
    address, shards: 2, name: `ialp-retry-${Date.now()}`, pollSeconds: 0.5,
    entrypoint: (i) => i === 1 ? `test -f ${marks}/tried || { touch ${marks}/tried; echo first try lost; exit 3; }; echo shard ${i} ok` : `echo shard ${i} ok`,
    onStatus: (shard, status, attempt) => seen.push([shard, status, attempt]),
  });
  t.true(seen.some(([s, st, a]) => s === 1 && st === 'FAILED' && a === 1), JSON.stringify(seen));
  t.true(seen.some(([s, st, a]) => s === 1 && st === 'SUCCEEDED' && a === 2), JSON.stringify(seen));
  t.false(seen.some(([s, , a]) => s === 0 && a > 1), 'shard 0 ran once');
  await t.throwsAsync(runShardsOnRay({
    address, shards: 1, name: `ialp-fail-${Date.now()}`, pollSeconds: 0.5, entrypoint: () => 'echo broken shard; exit 4',
  }), { message: /ray: shard 0\/1 \(job ialp-fail-\d+-shard-0-try-2\) failed on try 2 of 2[\s\S]*broken shard/ });
});
