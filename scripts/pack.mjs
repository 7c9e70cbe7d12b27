#!/usr/bin/env node
// `npm run pack`: npm tarballs of every package, as they would be published.
//   ialp-X.tgz                      packages/ts-api (the API and the `ialp` command)
//   ialp-wasm-X.tgz                 packages/wasm (needs `npm run build:wasm`)
//   ialp-native-X.tgz               packages/native: the napi-rs loader, with one
//                                   optionalDependency per target in napi.targets
//   ialp-native-<target>-X.tgz      packages/native/npm/<target>: one prebuilt addon
//                                   each, for the targets whose .node is at hand
// As `napi pre-publish` does, the optionalDependencies and exact versions of our
// own packages are written into staged copies only: the workspace's package.json
// files (and package-lock.json) keep `*` and no optional dependencies, so `npm ci`
// never looks for platform packages that are not published.
// A target's .node is taken from packages/native/ (where `npm run build:native`
// puts the host's) or else packages/native/npm/<target>/ (where the release
// workflow's `napi artifacts` puts downloaded builds).
//
// Usage: node scripts/pack.mjs [--out DIR] [--all]   (default DIR: target/packs)
//   --all: fail unless every target in napi.targets has its addon (releases)
// Prints the tarballs' paths as JSON on stdout.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { out: { type: 'string', default: join(root, 'target', 'packs') }, all: { type: 'boolean', default: false } } });
const out = resolve(values.out);
mkdirSync(out, { recursive: true });

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));
const fail = (msg) => {
  console.error(`pack: ${msg}`);
  process.exit(1);
};

// npm pack <dir> into `out`; returns the tarball's path.
function pack(dir) {
  const json = execFileSync('npm', ['pack', '--json', '--pack-destination', out, '--loglevel=error'], { cwd: dir, encoding: 'utf8' });
  return join(out, JSON.parse(json)[0].filename);
}

// A copy of `dir` with only package.json, README.md and `files`, its manifest rewritten by `edit`.
function stage(dir, edit) {
  const pkg = readJson(join(dir, 'package.json'));
  const tmp = mkdtempSync(join(tmpdir(), 'ialp-pack-'));
  for (const f of [...(pkg.files ?? []), 'README.md']) {
    if (f.includes('*')) fail(`${dir}/package.json: files entry "${f}": globs are not staged; list files by name`);
    if (existsSync(join(dir, f))) cpSync(join(dir, f), join(tmp, f), { recursive: true });
    else if (f !== 'README.md') fail(`${join(dir, f)} is missing; run \`npm run build\` first`);
  }
  edit(pkg);
  writeFileSync(join(tmp, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  return tmp;
}

const nativeDir = join(root, 'packages', 'native');
const native = readJson(join(nativeDir, 'package.json'));
const wasm = readJson(join(root, 'packages', 'wasm', 'package.json'));
const tarballs = [];
const staged = [];

// Per-platform packages: the npm dir name is napi's platformArchABI, e.g. linux-x64-gnu.
const platformPkgs = {};
const missing = [];
for (const npmDir of execFileSync('ls', [join(nativeDir, 'npm')], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
  const dir = join(nativeDir, 'npm', npmDir);
  const pkg = readJson(join(dir, 'package.json'));
  if (pkg.version !== native.version) fail(`${dir}/package.json: version ${pkg.version}, expected ${native.version} (run \`npx napi version\` in packages/native)`);
  platformPkgs[pkg.name] = native.version;
  const addon = pkg.main;
  // A fresh local build wins over a copy left in the npm dir by an earlier run.
  if (existsSync(join(nativeDir, addon))) cpSync(join(nativeDir, addon), join(dir, addon));
  if (!existsSync(join(dir, addon))) {
    missing.push(npmDir);
    continue;
  }
  tarballs.push(pack(dir));
}
if (Object.keys(platformPkgs).length === missing.length) fail('no prebuilt addon found; run `npm run build:native` first');
if (values.all && missing.length) fail(`--all: no prebuilt addon for ${missing.join(', ')} in packages/native/npm/<target>/`);

const nativeStage = stage(nativeDir, (pkg) => {
  pkg.optionalDependencies = platformPkgs;
});
staged.push(nativeStage);
tarballs.push(pack(nativeStage));

if (!existsSync(join(root, 'packages', 'wasm', 'dist', 'ialp_wasm_bg.wasm'))) fail('packages/wasm/dist is missing; run `npm run build:wasm` first');
tarballs.push(pack(join(root, 'packages', 'wasm')));

const apiStage = stage(join(root, 'packages', 'ts-api'), (pkg) => {
  pkg.dependencies[native.name] = native.version;
  pkg.dependencies[wasm.name] = wasm.version;
});
staged.push(apiStage);
tarballs.push(pack(apiStage));

for (const dir of staged) rmSync(dir, { recursive: true, force: true });
if (missing.length) console.error(`pack: no prebuilt addon for ${missing.join(', ')} here (built by .github/workflows/release.yml); their packages were not packed`);
console.log(JSON.stringify(tarballs, null, 2));
