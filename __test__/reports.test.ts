// Finished work is never lost or blocked (issue 18): a failing rerun leaves the
// last report in place, a damaged phase-cache entry is named and recomputed, and
// an output folder that cannot be written says why before any work starts.
import test from 'ava';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describeWriteError, ensureWritableDir } from '../packages/ts-api/src/out-dir.js';
import { PhaseCache } from '../packages/ts-api/src/phase-cache.js';
import { cli, root, runCli } from './helpers.js';

let dir: string;
test.before(async () => { dir = await mkdtemp(join(tmpdir(), 'ialp-reports-')); });
test.after.always(async () => rm(dir, { recursive: true, force: true }));

test('a damaged phase-cache entry is named in a warning and recomputed', async (t) => {
  const warnings: string[] = [];
  const cache = new PhaseCache(join(dir, 'cache'), 'v1', (m) => warnings.push(m));
  let made = 0;
  const make = async () => ({ made: ++made });
  t.deepEqual(await cache.json('phase', { a: 1 }, make), { made: 1 });
  t.deepEqual(await cache.json('phase', { a: 1 }, make), { made: 1 }, 'a good entry is reused');
  const file = cache.file('phase.json', { a: 1 });
  // JSON that parses but is not what was written (issue 18's audit: `null` failed the phase on its shape)
  const written = await readFile(file, 'utf8');
  const edited = written.replace('"made":1', '"made":5');
  t.not(edited, written);
  for (const damage of ['{"made": 1', '', '\xff\xfe', 'null', '{}', '[1,2]', '{"made": 1}', edited]) {
    await writeFile(file, damage, 'latin1');
    const before = made;
    t.deepEqual(await cache.json('phase', { a: 1 }, make), { made: before + 1 });
    t.true(warnings.at(-1)!.startsWith(`phase cache ${file} is damaged (`), warnings.at(-1));
    t.true(warnings.at(-1)!.endsWith('); recomputing it'));
    t.deepEqual(await cache.json('phase', { a: 1 }, make), { made: before + 1 }, 'and rewritten');
  }
  // bytes entries are checked by their loader (a policy or a reward model)
  const check = (b: Uint8Array) => { if (b[0] !== 7) throw new Error('not a seven'); };
  t.deepEqual(await cache.bytes('art', 1, async () => Uint8Array.of(7, 1), check), Uint8Array.of(7, 1));
  await writeFile(cache.file('art', 1), Uint8Array.of(9));
  t.deepEqual(await cache.bytes('art', 1, async () => Uint8Array.of(7, 2), check), Uint8Array.of(7, 2));
  t.regex(warnings.at(-1)!, /^phase cache .*art-[0-9a-f]{16} is damaged \(not a seven\); recomputing it$/);
});

test('an output folder that cannot be written says why, not ENOENT', async (t) => {
  const eacces = Object.assign(new Error("EACCES: permission denied, open '/r/x'"), { code: 'EACCES', path: '/r/x' });
  t.is(describeWriteError('--out /r', eacces).message, '--out /r: cannot write there: permission denied (the folder is not writable by this user) (EACCES on /r/x)');
  const erofs = Object.assign(new Error('EROFS: read-only file system'), { code: 'EROFS' });
  t.regex(describeWriteError('--out /ro', erofs).message, /^--out \/ro: cannot write there: on a read-only file system \(EROFS\)$/);
  // a real one: a file where a folder of the path should be
  const file = join(dir, 'a-file');
  await writeFile(file, 'x');
  await t.throwsAsync(ensureWritableDir(join(file, 'run')), { message: /cannot write there: a part of the path is a file, not a folder \(ENOTDIR/ });
  // a symbolic link to nothing is named as one (it was "ENOENT" on the probe)
  await symlink(join(dir, 'nowhere'), join(dir, 'dangling'));
  await t.throwsAsync(ensureWritableDir(join(dir, 'dangling', 'run')), { message: /cannot write there: a symbolic link that points to nothing \(EDANGLING on .*dangling\)$/ });
  await ensureWritableDir(join(dir, 'fresh', 'run'));
  t.deepEqual(await readdir(join(dir, 'fresh', 'run')), [], 'the probe leaves nothing behind');
});

test('a failing rerun into a finished --out leaves its report in place', async (t) => {
  const out = join(dir, 'finished');
  await ensureWritableDir(out);
  const files = { 'report.html': '<p>the last good report</p>', 'results.json': '{"results": []}', 'results.csv': 'env,method\n' };
  for (const [f, text] of Object.entries(files)) await writeFile(join(out, f), text);
  const r = await runCli(['run', '--env', 'movielens', '--data', join(dir, 'no-such-folder'), '--llm', 'oracle', '--quick', '--out', out]);
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /no-such-folder/);
  for (const [f, text] of Object.entries(files)) t.is(await readFile(join(out, f), 'utf8'), text, f);
  await writeFile(join(dir, 'in-the-way'), 'x');
  const blocked = await runCli(['run', '--env', 'synthetic', '--llm', 'oracle', '--quick', '--out', join(dir, 'in-the-way', 'run')]);
  t.is(blocked.code, 1, blocked.stderr);
  t.regex(blocked.stderr, /^ialp: --out .*in-the-way\/run: cannot write there: a part of the path is a file/m);
});

test('a folder this user may not write is reported as permission denied, by a real EACCES', async (t) => {
  // As root (CI) chmod denies nothing, so the CLI runs as `nobody` there
  // (setpriv); as any other user the folder is made read-only instead.
  const asRoot = process.getuid?.() === 0;
  const base = await mkdtemp(join(tmpdir(), 'ialp-eacces-'));
  t.teardown(async () => { await chmod(base, 0o755); await rm(base, { recursive: true, force: true }); });
  await chmod(base, asRoot ? 0o755 : 0o555); // root's 0755: others may enter, not write
  const [cmd, pre] = asRoot ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath]] : [process.execPath, []];
  for (const out of [base, join(base, 'new', 'run')]) {
    const r = await promisify(execFile)(cmd, [...pre, '--import=tsx', cli, 'run', '--env', 'synthetic', '--out', out], { cwd: root, env: { ...process.env, HOME: tmpdir() } })
      .then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => e);
    t.is(r.code, 1, r.stderr);
    t.regex(r.stderr, new RegExp(`^ialp: --out ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot write there: permission denied \\(the folder is not writable by this user\\) \\(EACCES on `, 'm'));
  }
  t.deepEqual(await readdir(base), [], 'nothing was written');
});
