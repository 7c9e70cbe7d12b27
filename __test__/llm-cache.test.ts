// PreferenceCache on SQLite: get/put/stats, first answer wins, and two processes writing
// overlapping keys into one file.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';
import { PreferenceCache, ScriptedBackend, distill } from '../packages/ts-api/src/llm/index.js';
import { userRequest } from './fixtures/llm/requests.js';
import { root } from './helpers.js';

function tempDir(t: { teardown: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ialp-cache-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('get, put, stats; the first answer stays unless a success replaces a failure', (t) => {
  const dir = tempDir(t);
  const cache = new PreferenceCache(join(dir, 'nested', 'p.sqlite'));
  t.teardown(() => cache.close());
  t.is(cache.get('m', 'k1'), undefined);
  t.true(cache.put('m', 'k1', { status: 'ok', answer: { kind: 'choice', chosen: [2] }, raw: '{"choices": ["C"]}', attempts: 1, createdAt: 5 }));
  t.deepEqual(cache.get('m', 'k1'), { status: 'ok', answer: { kind: 'choice', chosen: [2] }, raw: '{"choices": ["C"]}', attempts: 1, createdAt: 5 });
  t.false(cache.put('m', 'k1', { status: 'ok', answer: { kind: 'choice', chosen: [0] }, raw: 'x', attempts: 1 }), 'first answer wins');
  t.is(cache.get('m', 'k1')!.raw, '{"choices": ["C"]}');
  t.true(cache.put('m', 'k2', { status: 'failed', answer: null, raw: 'junk', attempts: 3, reason: 'not-json' }));
  t.like(cache.get('m', 'k2'), { status: 'failed', answer: null, reason: 'not-json', attempts: 3 });
  t.false(cache.put('m', 'k2', { status: 'failed', answer: null, raw: 'junk 2', attempts: 3, reason: 'empty' }));
  t.true(cache.put('m', 'k2', { status: 'ok', answer: { kind: 'scores', scores: [1, 5] }, raw: 'y', attempts: 1 }));
  t.deepEqual(cache.get('m', 'k2')!.answer, { kind: 'scores', scores: [1, 5] });
  t.is(cache.get('other', 'k1'), undefined, 'keys are per model');
  cache.putMany('other', [['a', { status: 'ok', answer: null, raw: '', attempts: 1 }], ['b', { status: 'failed', answer: null, raw: '', attempts: 2 }]]);
  t.deepEqual(cache.stats(), { rows: 4, ok: 3, failed: 1, models: 2 });
  t.deepEqual(cache.stats('other'), { rows: 2, ok: 1, failed: 1, models: 1 });
});

test('a cache file that is not a database is kept beside, named, and the cache starts empty', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'p.sqlite');
  const junk = Buffer.from('this was never a SQLite file, or its first pages are gone'.repeat(100));
  writeFileSync(path, junk);
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  t.teardown(() => process.off('warning', onWarning));
  const cache = new PreferenceCache(path);
  t.teardown(() => cache.close());
  t.true(cache.put('m', 'k', { status: 'ok', answer: null, raw: 'r', attempts: 1 }));
  t.is(cache.get('m', 'k')!.raw, 'r');
  const aside = readdirSync(dir).filter((f) => f.startsWith('p.sqlite.damaged-'));
  t.is(aside.length, 1, readdirSync(dir).join(', '));
  t.deepEqual(readFileSync(join(dir, aside[0]!)), junk, 'the damaged file is kept as it was');
  return new Promise<void>((resolve) => setImmediate(() => {
    t.true(warnings.some((w) => w.includes(path) && w.includes('not a SQLite database') && w.includes(aside[0]!)), warnings.join('\n'));
    resolve();
  }));
});

test('two processes distilling overlapping requests into one file: no duplicates, no lost rows', async (t) => {
  t.timeout(120_000);
  const db = join(tempDir(t), 'shared.sqlite');
  const writer = fileURLToPath(new URL('./fixtures/llm/distill-writer.ts', import.meta.url));
  const run = (from: number, to: number) =>
    promisify(execFile)(process.execPath, ['--import=tsx', writer, db, String(from), String(to)], { cwd: root });
  const [a, b] = await Promise.all([run(0, 300), run(150, 450)]);
  const sa = JSON.parse(a.stdout) as { calls: number; done: number };
  const sb = JSON.parse(b.stdout) as { calls: number; done: number };
  t.is(sa.done, 300);
  t.is(sb.done, 300);
  // Overlapping keys may be asked by both (they raced) but are stored once.
  t.true(sa.calls + sb.calls >= 450 && sa.calls + sb.calls <= 600);

  const cache = new PreferenceCache(db);
  t.teardown(() => cache.close());
  t.deepEqual(cache.stats(), { rows: 450, ok: 450, failed: 0, models: 1 });
  const backend = new ScriptedBackend(['{"choices": ["A"]}'], { id: 'shared-model' });
  const all = Array.from({ length: 450 }, (_, u) => userRequest(u));
  const { summary } = await distill(all, { backend, cache });
  t.is(backend.calls, 0, 'every request of the union is in the cache');
  t.is(summary.cacheHits, 450);
});

test('the SQLite driver: better-sqlite3 where installed, node:sqlite where this Node has it, else a clear error', (t) => {
  const getBuiltin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  const hasNodeSqlite = (() => {
    try {
      return typeof getBuiltin === 'function' && getBuiltin('node:sqlite') !== undefined;
    } catch {
      return false;
    }
  })();
  const dir = tempDir(t);
  if (hasNodeSqlite) {
    const cache = new PreferenceCache(join(dir, 'n.sqlite'), { driver: 'node:sqlite' });
    t.teardown(() => cache.close());
    t.is(cache.driver, 'node:sqlite');
    t.is(cache.putMany('m', [['k', { status: 'ok', answer: { kind: 'choice', chosen: [1] }, raw: 'r', attempts: 1, createdAt: 7 }]]), 1);
    t.deepEqual({ ...cache.get('m', 'k') }, { status: 'ok', answer: { kind: 'choice', chosen: [1] }, raw: 'r', attempts: 1, createdAt: 7 });
    t.deepEqual(cache.stats(), { rows: 1, ok: 1, failed: 0, models: 1 });
  } else {
    t.throws(() => new PreferenceCache(join(dir, 'n.sqlite'), { driver: 'node:sqlite' }), { message: new RegExp(`driver node:sqlite: this Node \\(${process.version}\\) has no node:sqlite module`) });
  }
  const b = new PreferenceCache(join(dir, 'b.sqlite'), { driver: 'better-sqlite3' });
  t.is(b.driver, 'better-sqlite3');
  b.close();
  b.close(); // twice is harmless
  t.throws(() => new PreferenceCache(join(dir, 'x.sqlite'), { driver: 'sqlite4' as 'auto' }), { message: /driver: expected "better-sqlite3", "node:sqlite" or "auto", got "sqlite4"/ });
  t.throws(() => new PreferenceCache(join(dir, 'x.sqlite'), { busyTimeoutMs: -1 }), { message: /busyTimeoutMs: expected an integer >= 0, got -1/ });
});
