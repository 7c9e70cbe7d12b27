// Hostile input on both builds, through the library, the raw bindings and the
// command line (issue 18): forged artefact sizes, unbounded reads, size
// arguments without limits, integers that do not fit and typed arrays of the
// wrong kind are errors naming the input, never an abort, a hang or something
// silently else.
import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Environment, loadBackend, Policy, readFileBounded, train, World } from '../packages/ts-api/src/index.js';
import { forge, type PolicyHeader } from './forge.js';
import { backends, runCli } from './helpers.js';

const env = { name: 'synthetic', synthetic: { nUsers: 50, nItems: 30 } };

/** A small reward model over `world`'s items. */
async function rewardModel(world: World): Promise<Uint8Array> {
  const n = 8;
  const h = 2;
  const fit = await world.backend.trainRewardModel(world.raw, {
    history: h,
    histItems: Uint32Array.from({ length: n * h }, (_, i) => i % 5),
    histRewards: new Float32Array(n * h).fill(1),
    items: Uint32Array.from({ length: n }, (_, i) => i),
    labels: Float32Array.from({ length: n }, (_, i) => i % 2),
  }, { epochs: 1 });
  return fit.model;
}
let good: Uint8Array;
let dir: string;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ialp-hostile-'));
  good = (await train({ env, episodes: 20, seed: 1, backend: 'native' })).policy.toBytes();
});
test.after.always(async () => rm(dir, { recursive: true, force: true }));

const forgeries: [string, (h: PolicyHeader) => void, RegExp][] = [
  // (a 32-bit usize, in wasm, cannot even hold 2^40: the header does not parse)
  ['hidden 2^40', (h) => (h.meta.net.hidden = 2 ** 40), /^policy file: (net\.hidden: expected an integer in \[1, 16384\]|__metadata__\.meta is not valid policy metadata: invalid value: integer `1099511627776`, expected usize)/],
  ['hidden 16384, depth 64', (h) => Object.assign(h.meta.net, { hidden: 16384, depth: 64 }), /has (\d+|too many) parameters, but the file holds \d+/],
  ['embedDim 16384', (h) => (h.meta.net.embedDim = 16384), /parameters, but the file holds/],
  ['nItems 2^40', (h) => (h.meta.nItems = 2 ** 40), /^policy file: /],
];

for (const backend of backends) {
  test(`${backend}: forged network sizes with a valid checksum fail at once, before allocating`, async (t) => {
    const m = (await loadBackend(backend)) as unknown as { loadPolicy(b: Uint8Array): unknown };
    for (const [what, edit, message] of forgeries) {
      const bytes = forge(good, edit);
      const t0 = performance.now();
      await t.throwsAsync(Policy.fromBytes(bytes, backend), { message }, what);
      t.throws(() => m.loadPolicy(bytes), { message }, `raw ${what}`);
      t.true(performance.now() - t0 < 2000, `${what}: ${performance.now() - t0} ms`);
    }
    // the untouched file still loads (the forgery, not the checker, fails)
    t.is((await Policy.fromBytes(forge(good, () => {}), backend)).nItems, 30);
  });

  test(`${backend}: size arguments have limits and integers that do not fit are errors naming them`, async (t) => {
    const world = await World.load({ name: 'synthetic' }, backend);
    const raw = world.raw;
    t.throws(() => raw.latestHistory(1, 2 ** 32 - 1), { message: 'history: expected an integer in [0, 4096], got 4294967295' });
    for (const user of [2 ** 32, -1, 1.5, NaN]) {
      t.throws(() => raw.latestHistory(user, 3), { message: /^user: expected an integer in \[0, 4294967295\], got / }, String(user));
    }
    t.throws(() => raw.itemText(2 ** 32), { message: /^item: expected an integer in \[0, 4294967295\]/ });
    // the library names the world's own range
    t.throws(() => world.latestHistory(2 ** 32, 3), { message: /^user: expected an integer in \[0, 9999\], got 4294967296/ });
    t.throws(() => world.latestHistory(1, 2 ** 32 - 1), { message: /^history: expected an integer in \[0, 4096\]/ });
    t.is(raw.latestHistory(0, 3).items.length, 3);
    // 2^24 x 4096 overflows a 32-bit usize (wasm32): checked, not wrapped to 0
    t.throws(() => world.backend.createEnv({ name: 'synthetic', batch: { batchSize: 2 ** 24, history: 4096 } }), {
      message: 'batchSize x history: 16777216 x 4096 is more than the limit of 268435456',
    });
    const rm = world.backend.loadRewardModel(await rewardModel(world));
    t.throws(() => rm.score(new Uint32Array(3), new Float32Array(3), new Uint32Array(2 ** 20 + 1)), { message: /^history length: expected 1048577 x H = \d+ per item, got 3/ });
    t.throws(() => world.preferenceRequests({ history: 2 ** 32 - 1 }), { message: /history: expected an integer in \[1, 4096\]/ });
    t.throws(() => world.preferenceRequests({ users: 1_000_000, statesPerUser: 4 }), { message: /users x statesPerUser/ });
  });

  test(`${backend}: typed arrays of the wrong kind are rejected, as the native build rejects them`, async (t) => {
    const b = await loadBackend(backend);
    const e = b.createEnv({ name: 'synthetic', batch: { batchSize: 2 } });
    const rewards = new Float32Array(2);
    const dones = new Uint8Array(2);
    const bad: unknown[] = [new Float64Array([1, NaN]), [1, 2], new Int32Array([1, 2]), new Float32Array([1, 2])];
    for (const actions of bad) {
      t.throws(() => e.step(actions as Uint32Array, rewards, dones), undefined, String((actions as object).constructor.name));
    }
    t.throws(() => e.step(Uint32Array.of(1, 2), new Float64Array(2) as unknown as Float32Array, dones));
    t.throws(() => b.loadPolicy(Array.from(good) as unknown as Uint8Array));
    e.step(Uint32Array.of(1, 2), rewards, dones);
    t.true(rewards.some((r) => r !== 0), 'a good step writes its rewards');
  });
}

test('the library names the argument and the kind of array it got, on both builds', async (t) => {
  for (const backend of backends) {
    const env = await Environment.create({ name: 'synthetic', batchSize: 2 }, backend);
    t.throws(() => env.step(new Float64Array([1, NaN]) as unknown as Uint32Array), { message: 'actions: expected a Uint32Array, got Float64Array' }, backend);
    t.throws(() => env.setUserPool([1, 2] as unknown as Uint32Array), { message: 'users: expected a Uint32Array, got Array' }, backend);
    t.is(env.step(Uint32Array.of(3, 4)).rewards.length, 2);
  }
});

test('the wasm build names the argument and the kind of array it got', async (t) => {
  const b = await loadBackend('wasm');
  const e = b.createEnv({ name: 'synthetic', batch: { batchSize: 2 } });
  t.throws(() => e.step(new Float64Array([1, NaN]) as unknown as Uint32Array, new Float32Array(2), new Uint8Array(2)), {
    message: 'actions: expected a Uint32Array, got Float64Array',
  });
  t.throws(() => b.loadPolicy([1, 2, 3] as unknown as Uint8Array), { message: 'bytes: expected a Uint8Array, got Array' });
});

test('reads of policy files are bounded: /dev/zero, a folder and an oversized file fail at once', async (t) => {
  const t0 = performance.now();
  await t.throwsAsync(Policy.load('/dev/zero'), { message: /^policy file \/dev\/zero: a character device, expected a regular file of at most 1073741824 bytes/ });
  await t.throwsAsync(Policy.load(dir), { message: /: a folder, expected a regular file/ });
  t.true(performance.now() - t0 < 2000);
  const big = join(dir, 'big.bin');
  await writeFile(big, new Uint8Array(100));
  await t.throwsAsync(readFileBounded(big, 'policy file', 99), { message: /100 bytes is more than the limit of 99 bytes/ });
  t.is((await readFileBounded(big, 'policy file', 100)).length, 100);
});

test('the command line: forged and unbounded policies, and ids that do not fit', async (t) => {
  const forged = join(dir, 'forged.ialp');
  await writeFile(forged, forge(good, (h) => (h.meta.net.hidden = 2 ** 40)));
  const [f, z, u, neg] = await Promise.all([
    runCli(['recommend', '--policy', forged, '--user', '1']),
    runCli(['recommend', '--policy', '/dev/zero', '--user', '1']),
    runCli(['recommend', '--policy', forged, '--user', '4294967296']),
    runCli(['recommend', '--policy', forged, '--user', '-1']),
  ]);
  t.is(f.code, 1, f.stderr);
  t.regex(f.stderr, /forged\.ialp: policy file: net\.hidden: expected an integer in \[1, 16384\], got 1099511627776/);
  t.is(z.code, 1, z.stderr);
  t.regex(z.stderr, /policy file \/dev\/zero: a character device/);
  t.is(u.code, 2, u.stderr);
  t.regex(u.stderr, /--user: expected an integer in \[0, 4294967295\], got "4294967296"/);
  t.is(neg.code, 2, neg.stderr);
  for (const r of [f, z, u, neg]) t.notRegex(r.stderr, /\n\s+at /, 'no stack trace');
});
