// `npm i ialp` as a user would: pack every package (scripts/pack.mjs), install the
// tarballs into a fresh project with no Rust toolchain on PATH, and use the API and
// the `ialp` command; then remove the prebuilt addon and check the WebAssembly
// fallback (one warning) and that forcing native is a clear error.
//
// Offline: our packages come from the tarballs; the third-party ones (better-sqlite3,
// node-llama-cpp and theirs) from the npm cache that `npm ci` filled, with a retry
// that may use the registry if the cache lacks one. Install scripts are skipped:
// better-sqlite3's would download or compile SQLite (minutes, and no download
// here), and its addon is only loaded when the LLM preference cache opens, which
// this test does not use; our packages have no install scripts (napi-rs packages
// need none).
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { root } from './helpers.js';

const run = promisify(execFile);
const hostPackage = `@ialp/native-${process.platform}-${process.arch}${process.platform === 'linux' ? '-gnu' : process.platform === 'win32' ? '-msvc' : ''}`;
const work = mkdtempSync(join(tmpdir(), 'ialp-install-'));
const project = join(work, 'project');

// PATH with node and npm only (they sit next to cargo in /usr/bin on Debian).
const bin = join(work, 'bin');
mkdirSync(bin);
for (const tool of ['node', 'npm']) {
  const found = (process.env.PATH ?? '').split(delimiter).map((d) => join(d, tool)).find((f) => existsSync(f));
  symlinkSync(tool === 'node' ? process.execPath : found ?? join(dirname(process.execPath), tool), join(bin, tool));
}
const PATH = [join(project, 'node_modules', '.bin'), bin].join(delimiter);
const cleanEnv = (extra: Record<string, string> = {}) => {
  const env: Record<string, string> = { PATH, HOME: process.env.HOME ?? work, ...extra };
  if (process.env.npm_config_cache) env.npm_config_cache = process.env.npm_config_cache;
  return env;
};

async function sh(cmd: string, args: string[], extra: Record<string, string> = {}, timeout = 90_000) {
  try {
    const { stdout, stderr } = await run(cmd, args, { cwd: project, env: cleanEnv(extra), timeout, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? String(e) };
  }
}

interface UseResult { backend: string; policyBackend: string; meanReturn: number; recs: { item: number; score: number }[] }

let installed = false;

test.before(async () => {
  const packs = join(work, 'packs');
  const { stdout } = await run(process.execPath, [join(root, 'scripts', 'pack.mjs'), '--out', packs], { cwd: root, maxBuffer: 16 << 20 });
  const tarballs = JSON.parse(stdout) as string[];
  if (!tarballs.some((t) => t.includes(hostPackage.slice(1).replace('/', '-')))) return; // no prebuilt addon for this host
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'ialp-user', private: true, type: 'module' }));
  writeFileSync(join(project, 'use-ialp.mjs'), readFileSync(join(root, '__test__', 'fixtures', 'install', 'use-ialp.mjs')));
  const args = ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs];
  let r = await sh(bin + '/npm', [...args, '--offline'], {}, 180_000);
  if (r.code !== 0 && /ENOTCACHED/.test(r.stderr)) r = await sh(bin + '/npm', [...args, '--prefer-offline'], {}, 180_000);
  if (r.code !== 0) throw new Error(`npm install of the tarballs failed:\n${r.stderr}`);
  installed = true;
});

test.after.always(() => rmSync(work, { recursive: true, force: true }));

test.serial('the installed project has no Rust toolchain on PATH', async (t) => {
  if (!installed) return t.pass(`no prebuilt ${hostPackage} here; skipped`);
  for (const tool of ['cargo', 'rustc']) {
    const r = await sh('/bin/sh', ['-c', `command -v ${tool}`]);
    t.not(r.code, 0, `${tool} found at ${r.stdout.trim()}`);
  }
  t.true(existsSync(join(project, 'node_modules', ...hostPackage.split('/'))), `${hostPackage} was installed`);
});

test.serial('with the prebuilt addon: the API and the ialp command run on the native build', async (t) => {
  if (!installed) return t.pass(`no prebuilt ${hostPackage} here; skipped`);
  const r = await sh(join(bin, 'node'), ['use-ialp.mjs']);
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as UseResult;
  t.is(out.backend, 'native');
  t.is(out.policyBackend, 'native');
  t.true(Number.isFinite(out.meanReturn));
  t.is(out.recs.length, 5);
  t.notRegex(r.stderr, /Warning/);

  const policy = join(work, 'cli-policy.ialp');
  const cli = await sh('ialp', ['train', '--episodes', '30', '--eval-episodes', '8', '--save', policy, '--json']);
  t.is(cli.code, 0, cli.stderr);
  t.is((JSON.parse(cli.stdout) as { backend: string }).backend, 'native');
  const rec = await sh('ialp', ['recommend', '--policy', policy, '--user', '3', '--k', '4', '--json']);
  t.is(rec.code, 0, rec.stderr);
  t.regex(rec.stdout, /"item"/);
  // IALP_BACKEND forces the WebAssembly build even where native loads, without a warning.
  const forced = await sh(join(bin, 'node'), ['use-ialp.mjs'], { IALP_BACKEND: 'wasm' });
  t.is(forced.code, 0, forced.stderr);
  t.is((JSON.parse(forced.stdout) as UseResult).backend, 'wasm');
  t.notRegex(forced.stderr, /Warning/);
  // Same seed, same numbers on both builds.
  t.deepEqual((JSON.parse(forced.stdout) as UseResult).recs, out.recs);
});

test.serial('without the prebuilt addon: one warning, then the WebAssembly build does the same work', async (t) => {
  if (!installed) return t.pass(`no prebuilt ${hostPackage} here; skipped`);
  rmSync(join(project, 'node_modules', ...hostPackage.split('/')), { recursive: true, force: true });
  const addons = readdirSync(join(project, 'node_modules', '@ialp'), { recursive: true }).filter((f) => String(f).endsWith('.node'));
  t.deepEqual(addons, [], 'no .node file left under node_modules/@ialp');

  const r = await sh(join(bin, 'node'), ['use-ialp.mjs']);
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as UseResult;
  t.is(out.backend, 'wasm');
  t.is(out.policyBackend, 'wasm');
  t.is(out.recs.length, 5);
  t.is(r.stderr.match(/IALP_WASM_FALLBACK/g)?.length, 1, r.stderr);
  t.regex(r.stderr, new RegExp(`Install ${hostPackage} for the native build`));

  const cli = await sh('ialp', ['train', '--episodes', '30', '--eval-episodes', '8', '--json']);
  t.is(cli.code, 0, cli.stderr);
  t.is((JSON.parse(cli.stdout) as { backend: string }).backend, 'wasm');
  t.is(cli.stderr.match(/IALP_WASM_FALLBACK/g)?.length, 1, cli.stderr);

  // Forcing native where it cannot load is an error that says what is missing.
  for (const forced of [await sh('ialp', ['envs'], { IALP_BACKEND: 'native' }), await sh('ialp', ['envs', '--backend', 'native'])]) {
    t.not(forced.code, 0);
    t.regex(forced.stderr, new RegExp(`backend "native": the native addon did not load on ${process.platform}-${process.arch} .*install ${hostPackage}`));
    t.notRegex(forced.stderr, /^\s+at /m, 'no stack trace');
  }
  const bad = await sh('ialp', ['envs'], { IALP_BACKEND: 'gpu' });
  t.not(bad.code, 0);
  t.regex(bad.stderr, /IALP_BACKEND: expected "native", "wasm" or "auto", got "gpu"/);
});
