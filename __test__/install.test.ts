// `npm i ialp` as a user would: pack every package (scripts/pack.mjs) and install the
// tarballs into fresh projects with no Rust toolchain on PATH.
// - A service install (no LLM extras): its size, `require('ialp')` + `Policy.load` +
//   `recommend` from CommonJS, the LLM features' errors saying what to install, the API
//   and the `ialp` command; then the prebuilt addon removed, for the WebAssembly
//   fallback (one warning) and forcing native being a clear error.
// - A full install (with the optional better-sqlite3 and node-llama-cpp): its size,
//   `import 'ialp'` resolving neither of them, and `ialp run` end to end.
//
// Offline: our packages come from the tarballs; the third-party ones from the npm cache
// that `npm ci` filled, with a retry that may use the registry if the cache lacks one.
// Install scripts are skipped: better-sqlite3's would download or compile SQLite
// (minutes, and no download here), so the full install gets the addon the workspace's
// `npm ci` built for this same version and Node (what that script would have made);
// our packages have no install scripts (napi-rs packages need none).
import test from 'ava';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { root } from './helpers.js';

const run = promisify(execFile);
const hostPackage = `@ialp/native-${process.platform}-${process.arch}${process.platform === 'linux' ? '-gnu' : process.platform === 'win32' ? '-msvc' : ''}`;
const work = mkdtempSync(join(tmpdir(), 'ialp-install-'));
const project = join(work, 'project');
const full = join(work, 'full');
/** The optional packages, at the versions the workspace is tested with. */
const extras = ['better-sqlite3', 'node-llama-cpp'].map((name) => `${name}@${(JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version}`);
const MB = 1e6;

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

async function sh(cmd: string, args: string[], extra: Record<string, string> = {}, timeout = 90_000, cwd = project) {
  try {
    const { stdout, stderr } = await run(cmd, args, { cwd, env: cleanEnv(extra), timeout, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? String(e) };
  }
}

interface UseResult { backend: string; policyBackend: string; meanReturn: number; file: string; recs: { item: number; score: number }[] }

/** Bytes of the files under `dir` (symbolic links not followed): what the install puts on disk. */
function treeBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += treeBytes(p);
    else if (e.isFile()) n += lstatSync(p).size;
  }
  return n;
}

async function npmInstall(cwd: string, specs: string[]) {
  mkdirSync(cwd);
  writeFileSync(join(cwd, 'package.json'), JSON.stringify({ name: 'ialp-user', private: true, type: 'module' }));
  const args = ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', ...specs];
  let r = await sh(bin + '/npm', [...args, '--offline'], {}, 300_000, cwd);
  if (r.code !== 0 && /ENOTCACHED/.test(r.stderr)) r = await sh(bin + '/npm', [...args, '--prefer-offline'], {}, 300_000, cwd);
  if (r.code !== 0) throw new Error(`npm install ${specs.join(' ')} failed in ${cwd}:\n${r.stderr}`);
}

let installed = false;
let serviceBytes = 0;
let fullBytes = 0;

test.before(async () => {
  const packs = join(work, 'packs');
  const { stdout } = await run(process.execPath, [join(root, 'scripts', 'pack.mjs'), '--out', packs], { cwd: root, maxBuffer: 16 << 20 });
  const tarballs = JSON.parse(stdout) as string[];
  if (!tarballs.some((t) => t.includes(hostPackage.slice(1).replace('/', '-')))) return; // no prebuilt addon for this host
  await npmInstall(project, tarballs);
  await npmInstall(full, [...tarballs, ...extras]);
  // what better-sqlite3's install script would have built (see the top)
  const addon = join('better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
  mkdirSync(dirname(join(full, 'node_modules', addon)), { recursive: true });
  copyFileSync(join(root, 'node_modules', addon), join(full, 'node_modules', addon));
  serviceBytes = treeBytes(join(project, 'node_modules'));
  fullBytes = treeBytes(join(full, 'node_modules'));
  for (const dir of [project, full]) for (const f of ['use-ialp.mjs', 'use-ialp.cjs', 'trace-imports.mjs', 'trace-hooks.mjs']) copyFileSync(join(root, '__test__', 'fixtures', 'install', f), join(dir, f));
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

test.serial('a service install (no LLM extras) is at most 60 MB; require(\'ialp\') loads a policy and recommends', async (t) => {
  if (!installed) return t.pass(`no prebuilt ${hostPackage} here; skipped`);
  t.log(`installed node_modules: service ${(serviceBytes / MB).toFixed(1)} MB, full (with ${extras.join(', ')}) ${(fullBytes / MB).toFixed(1)} MB`);
  t.true(serviceBytes <= 60 * MB, `service install ${(serviceBytes / MB).toFixed(1)} MB`);
  t.true(fullBytes > serviceBytes, 'the extras add to it');
  for (const name of ['better-sqlite3', 'node-llama-cpp']) t.false(existsSync(join(project, 'node_modules', name)), `${name} not installed`);

  const made = await sh(join(bin, 'node'), ['use-ialp.mjs']);
  t.is(made.code, 0, made.stderr);
  const { file, recs } = JSON.parse(made.stdout) as UseResult;
  const r = await sh(join(bin, 'node'), ['use-ialp.cjs', file, mkdtempSync(join(work, 'scratch-'))]);
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { backend: string; recs: unknown[]; cacheError: string; ggufError: string; loaded: string[] };
  t.is(out.backend, 'native');
  t.deepEqual(out.recs, recs, 'the CommonJS service recommends what the ESM script did');
  t.regex(out.cacheError, /the LLM preference cache \(.*preferences\.sqlite\) needs the optional package better-sqlite3, which is not installed; install it with `npm install better-sqlite3@12\.\d+\.\d+` \(or run Node 22\.5 or later/);
  t.regex(out.ggufError, /running the GGUF model .*model\.gguf needs the optional package node-llama-cpp, which is not installed; install it with `npm install node-llama-cpp@3\.21\.1`/);
  // the command line says the same, without a stack trace
  const d2 = await sh('ialp', ['distill', '--env', 'coat', '--users', '2', '--llm', 'oracle'], { IALP_CACHE_DIR: join(work, 'cache-service') });
  t.not(d2.code, 0);
  t.regex(d2.stderr, /needs the optional package better-sqlite3.*npm install better-sqlite3@12/);
  t.notRegex(d2.stderr, /^\s+at /m, 'no stack trace');
});

test.serial('a full install (with the LLM extras): import \'ialp\' reaches neither extra; ialp run works', async (t) => {
  if (!installed) return t.pass(`no prebuilt ${hostPackage} here; skipped`);
  const trace = join(work, 'imports.txt');
  const r = await sh(join(bin, 'node'), ['--import', './trace-imports.mjs', 'use-ialp.mjs'], { IALP_TRACE_FILE: trace }, 90_000, full);
  t.is(r.code, 0, r.stderr);
  const urls = readFileSync(trace, 'utf8').split('\n').filter(Boolean);
  t.true(urls.some((u) => /node_modules\/ialp\/dist\/index\.js$/.test(u)), 'the trace saw ialp itself');
  t.deepEqual(urls.filter((u) => /node_modules\/(better-sqlite3|node-llama-cpp)\//.test(u)), []);
  // with the extras there, the same LLM features get past the missing-package check
  const c = await sh(join(bin, 'node'), ['use-ialp.cjs', (JSON.parse(r.stdout) as UseResult).file, mkdtempSync(join(work, 'scratch-'))], {}, 90_000, full);
  t.is(c.code, 0, c.stderr);
  const out = JSON.parse(c.stdout) as { cacheError: string; ggufError: string; loaded: string[] };
  t.is(out.cacheError, '');
  t.regex(out.ggufError, /could not load the model with node-llama-cpp/);
  t.true(out.loaded.some((f) => f.includes('better-sqlite3')), 'the cache opened better-sqlite3, lazily');

  const outDir = join(work, 'run-out');
  const run = await sh('ialp', ['run', '--env', 'coat', '--quick', '--seeds', '1', '--llm', 'oracle', '--out', outDir, '--json'], { IALP_CACHE_DIR: join(work, 'cache-full'), PATH: [join(full, 'node_modules', '.bin'), bin].join(delimiter) }, 300_000, full);
  t.is(run.code, 0, run.stderr);
  const res = JSON.parse(run.stdout) as { results: { env: string; methods: { method: string }[] }[] };
  t.is(res.results[0]!.env, 'coat');
  t.true(res.results[0]!.methods.some((m) => m.method === 'a-ialp-ap'));
  t.true(existsSync(join(outDir, 'report.html')));
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
