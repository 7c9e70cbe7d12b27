// Training logs: metrics.jsonl from `ialp train --metrics` and `ialp run`, and
// their TensorBoard export, read back by our own frame parser and by
// TensorBoard's own loader (from PyPI, in the venv scripts/setup-torch.sh makes).
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { crc32c, readMetricsJsonl, type UpdateRecord } from '../packages/ts-api/src/training-log.js';
import { root, runCli } from './helpers.js';

const python = join(root, '.venv-torch', 'bin', 'python');
const requirePython = process.env.IALP_REQUIRE_TORCH === '1';
const pyTest = existsSync(python) || requirePython ? test : test.skip;

async function trained(): Promise<{ dir: string; file: string; records: UpdateRecord[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'ialp-log-'));
  const file = join(dir, 'm', 'metrics.jsonl');
  const r = await runCli(['train', '--episodes', '300', '--eval-episodes', '16', '--seed', '4', '--metrics', file, '--json']);
  if (r.code !== 0) throw new Error(r.stderr);
  const updates = (JSON.parse(r.stdout) as { results: { updates: number } }).results.updates;
  const records = await readMetricsJsonl(file);
  if (records.length !== updates) throw new Error(`${records.length} records for ${updates} updates`);
  return { dir, file, records };
}

test('crc32c matches the standard check value', (t) => {
  t.is(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
  t.is(crc32c(new Uint8Array(0)), 0);
});

test('ialp train --metrics: one record per update; the TensorBoard export frames them with valid CRCs', async (t) => {
  const { dir, file, records } = await trained();
  t.deepEqual(records.map((r) => r.update), records.map((_, i) => i + 1));
  t.true(records.every((r) => r.method === 'a2c' && r.env === 'synthetic' && r.seed === 4 && r.source === null));
  t.true(records.every((r) => Number.isFinite(r.policyLoss) && r.gradNorm >= 0 && r.episodes >= 0));
  t.true(records.some((r) => r.meanReturn !== null));
  const tb = join(dir, 'tb');
  const ex = await runCli(['export', 'tensorboard', tb, '--from', file]);
  t.is(ex.code, 0, ex.stderr);
  const bytes = new Uint8Array(await readFile(join(tb, 'synthetic', 'a2c', 'seed-4', 'events.out.tfevents.0.ialp')));
  // TFRecord: u64 length, masked crc of it, data, masked crc of the data
  const mask = (c: number) => ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0, frames = 0;
  while (at < bytes.length) {
    const n = Number(v.getBigUint64(at, true));
    t.is(v.getUint32(at + 8, true), mask(crc32c(bytes.subarray(at, at + 8))));
    t.is(v.getUint32(at + 12 + n, true), mask(crc32c(bytes.subarray(at + 12, at + 12 + n))));
    at += 16 + n;
    frames++;
  }
  t.is(at, bytes.length);
  t.is(frames, records.length + 1, 'the file-version event, then one per update');
});

pyTest('TensorBoard reads the exported scalars back (its own event loader)', async (t) => {
  t.true(existsSync(python), `no Python venv at ${python}: run \`bash scripts/setup-torch.sh\``);
  const { dir, file, records } = await trained();
  const tb = join(dir, 'tb');
  t.is((await runCli(['export', 'tensorboard', tb, '--from', file])).code, 0);
  const script = `
import json, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
acc = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0})
acc.Reload()
print(json.dumps({tag: [[e.step, e.value] for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}))
`;
  const { stdout } = await promisify(execFile)(python, ['-c', script, join(tb, 'synthetic', 'a2c', 'seed-4')], { maxBuffer: 64 << 20 });
  const got = JSON.parse(stdout) as Record<string, [number, number][]>;
  t.deepEqual(Object.keys(got).sort(), ['entropy', 'episodes', 'grad_norm', 'loss/policy', 'loss/total', 'loss/value', 'return']);
  const f32 = (x: number) => Math.fround(x);
  t.deepEqual(got['loss/value'], records.map((r) => [r.update, f32(r.valueLoss)]));
  t.deepEqual(got.entropy, records.map((r) => [r.update, f32(r.entropy)]));
  t.deepEqual(got.return, records.filter((r) => r.meanReturn !== null).map((r) => [r.update, f32(r.meanReturn!)]));
});

test('bad training logs are named by file, line and field', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ialp-log-bad-'));
  const f = join(dir, 'metrics.jsonl');
  const good = JSON.stringify({ method: 'a2c', env: 'coat', seed: 1, source: null, update: 1, envSteps: 8, episodes: 0, policyLoss: 0, valueLoss: 0, entropy: 1, totalLoss: 0, gradNorm: 0, meanReturn: null });
  await writeFile(f, `${good}\n{"method": "a2c"\n`);
  await t.throwsAsync(readMetricsJsonl(f), { message: /metrics\.jsonl:2: not a JSON object/ });
  await writeFile(f, `${good}\n${good.replace('"seed":1', '"seed":"1"')}\n`);
  await t.throwsAsync(readMetricsJsonl(f), { message: /metrics\.jsonl:2: "seed" must be a number, got "1"/ });
  const r = await runCli(['export', 'tensorboard', join(dir, 'tb'), '--from', join(dir, 'missing.jsonl')]);
  t.is(r.code, 1);
  t.regex(r.stderr, /missing\.jsonl/);
  const u = await runCli(['export', 'csv', join(dir, 'tb')]);
  t.is(u.code, 2);
  t.regex(u.stderr, /tensorboard/);
});
