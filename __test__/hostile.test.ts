// Hostile input on both builds, through the library, the raw bindings and the
// command line (issue 18): forged artefact sizes, unbounded reads, size
// arguments without limits, integers that do not fit and typed arrays of the
// wrong kind are errors naming the input, never an abort, a hang or something
// silently else.
import test from 'ava';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Environment, loadBackend, Policy, pretrain, readFileBounded, train, World } from '../packages/ts-api/src/index.js';
import { forge, joinSafetensors, splitSafetensors, type PolicyHeader } from './forge.js';
import { backends, runCli } from './helpers.js';

const env = { name: 'synthetic', synthetic: { nUsers: 50, nItems: 30 } };

/** A small reward model over `world`'s items. */
async function rewardModel(world: World, h = 2, n = 8): Promise<Uint8Array> {
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
  // (a 32-bit usize, in wasm, cannot hold 2^40: the same size error, from the header's parse)
  ['hidden 2^40', (h) => (h.meta.net.hidden = 2 ** 40), /^policy file: (header: meta\.|__metadata__\.meta: )?net\.hidden: expected an integer in \[\d+, \d+\], got 1099511627776$/],
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
      // at once: an allocation of what the header says would abort, and a read without
      // end never returns; 10 s leaves room for a loaded CI machine
      t.true(performance.now() - t0 < 10_000, `${what}: ${performance.now() - t0} ms`);
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
  t.true(performance.now() - t0 < 10_000, 'at once (reading /dev/zero would not end), with room for a loaded machine');
  const big = join(dir, 'big.bin');
  await writeFile(big, new Uint8Array(100));
  await t.throwsAsync(readFileBounded(big, 'policy file', 99), { message: /100 bytes is more than the limit of 99 bytes/ });
  t.is((await readFileBounded(big, 'policy file', 100)).length, 100);
});

test('the command line: forged and unbounded policies, and ids that do not fit', async (t) => {
  const forged = join(dir, 'forged.ialp');
  await writeFile(forged, forge(good, (h) => (h.meta.net.hidden = 2 ** 40)));
  // another environment's policy with the same number of items: its ids mean other items
  const coatSized = join(dir, 'coat-sized.ialp');
  await writeFile(coatSized, (await train({ env: { name: 'synthetic', synthetic: { nUsers: 50, nItems: 300 } }, episodes: 10, seed: 1, backend: 'native' })).policy.toBytes());
  const other = await runCli(['recommend', '--policy', coatSized, '--user', '1', '--env', 'coat']);
  t.is(other.code, 1, other.stderr);
  t.regex(other.stderr, /coat-sized\.ialp: the policy was trained on environment "synthetic", not "coat"; its item ids mean other items/);
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

test('the command line: an option given twice or empty, or ignored by the command, is an error, not the last or the default', async (t) => {
  const policy = join(dir, 'good.ialp');
  await writeFile(policy, good);
  const cases: [string[], number, RegExp][] = [
    [['recommend', '--policy', policy, '--user', '3', '--user', '4'], 2, /--user: given twice \("3" and "4"\); give it once/],
    [['train', '--json', '--json'], 2, /--json: given twice; give it once/],
    [['run', '--env', ''], 2, /--env: expected a value, got ""/],
    [['distill', '--llm', ' '], 2, /--llm: expected a value, got " "/],
    [['run', '--out', ''], 2, /--out: expected a value, got ""/],
    // a data folder the environment would not read
    [['recommend', '--policy', policy, '--user', '3', '--data', join(dir, 'none')], 1, /data .*none: environment "synthetic" reads no data files/],
    // checked before any work: a bad oracle spec, a Ray address that is no URL
    [['run', '--env', 'synthetic', '--llm', 'oracle:2', '--out', join(dir, 'o2')], 1, /llm "oracle:2": expected oracle, oracle:NOISE with NOISE in \[0, 1\]/],
    [['run', '--env', 'synthetic', '--ray', 'head:8265', '--out', join(dir, 'o3')], 1, /--ray "head:8265": expected the http\(s\):\/\/ address of a Ray dashboard/],
    // an LLM source is checked as far as it can be without loading it, before the logs' phases
    [['run', '--env', 'synthetic', '--llm', 'bogus:xyz', '--out', join(dir, 'o4')], 1, /--llm "bogus:xyz": expected "default", a path to a \.gguf model file, or the URL/],
    [['run', '--env', 'synthetic', '--llm', join(dir, 'no-such.gguf'), '--out', join(dir, 'o5')], 1, /--llm .*no-such\.gguf: no such file/],
    [['run', '--env', 'synthetic', '--llm', 'oracle,http://127.0.0.1:9/v1', '--out', join(dir, 'o6')], 1, /--llm http:\/\/127\.0\.0\.1:9\/v1: name the model/],
    // a sweep's numbers are decimal, as every integer flag's: "0x3" is a word the check names
    [['run', '--env', 'synthetic', '--llm', 'oracle', '--sweep', 'seeds=2,0x3', '--out', join(dir, 'o7')], 1, /sweep\.seeds\[1\]: expected an integer in \[1, 100\], got "0x3" \(a string\)/],
  ];
  const t0 = performance.now();
  const results = await Promise.all(cases.map(([args]) => runCli(args)));
  for (const [i, r] of results.entries()) {
    const [args, code, message] = cases[i]!;
    t.is(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr, message, args.join(' '));
    t.notRegex(r.stderr, /\n\s+at /, 'no stack trace');
  }
  t.true(performance.now() - t0 < 60_000, 'every case fails before any work');
});

test('the command line: output files are checked before training, and unbounded or looping paths fail at once', async (t) => {
  const cases: [string[], RegExp][] = [
    // a folder where --save names a file: found before training, not after
    [['train', '--episodes', '10000000', '--save', dir], /--save .*: cannot write there: a folder is in the way \(expected a file name\)/],
    [['train', '--episodes', '10000000', '--metrics', join(dir, 'good.ialp', 'm.jsonl')], /--metrics .*: cannot write there: a part of the path is a file, not a folder/],
    // Node's recursive mkdir loops for ever where the file system says ENOENT for a parent that exists
    [['train', '--episodes', '10000000', '--save', '/proc/ialp-no/such/p.ialp'], /--save \/proc\/ialp-no\/such\/p\.ialp: cannot write there: the file system does not let a folder be created there \(ENOENT on \/proc\/ialp-no\)/],
    [['run', '--env', 'synthetic', '--out', '/proc/ialp-no/out'], /--out \/proc\/ialp-no\/out: cannot write there/],
    [['export', 'tensorboard', join(dir, 'tb'), '--from', '/dev/zero'], /metrics file \/dev\/zero: a character device, expected a regular file of at most 268435456 bytes/],
    [['merge', '/dev'], /merge: results file \/dev\/results\.json: /],
    // a shard's results.json claiming a billion shards (the merge once allocated them all and aborted)
    [['merge', join(dir, 'shard-forged')], /merge: .*shard-forged\/results\.json: meta\.shard: expected \{index, count\} with 0 <= index < count <= 999999, got \{"index":0,"count":1000000000\}/],
    [['merge', join(dir, 'shard-many')], /merge: shards 1\/999999, 2\/999999, .*, 10\/999999 and 999988 more missing/],
    [['merge', join(dir, 'shard-config')], /merge: .*shard-config\/results\.json: meta\.config\.envs(\[0\]){31}: nested more than 32 deep/],
  ];
  const shardDir = async (name: string, meta: unknown) => {
    await mkdir(join(dir, name), { recursive: true });
    await writeFile(join(dir, name, 'results.json'), JSON.stringify({ meta, results: [] }));
  };
  await shardDir('shard-forged', { config: { envs: ['coat'] }, shard: { index: 0, count: 1e9 } });
  await shardDir('shard-many', { config: { envs: ['coat'] }, shard: { index: 0, count: 999_999 } });
  // a config 100,000 lists deep (written as text: JSON.stringify would overflow here)
  await mkdir(join(dir, 'shard-config'), { recursive: true });
  await writeFile(join(dir, 'shard-config', 'results.json'), `{"meta": {"config": {"envs": ${'['.repeat(100_000)}1${']'.repeat(100_000)}}}}`);
  await writeFile(join(dir, 'good.ialp'), good);
  const t0 = performance.now();
  const results = await Promise.all(cases.map(([args]) => runCli(args)));
  for (const [i, r] of results.entries()) {
    const [args, message] = cases[i]!;
    t.is(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr, message, args.join(' '));
  }
  t.true(performance.now() - t0 < 60_000, `${performance.now() - t0} ms: every case fails before any work`);
});

test('every typed-array argument of the backend surface is named, with the same words on both builds', async (t) => {
  const messages = new Map<string, string[]>();
  for (const backend of backends) {
    const b = await loadBackend(backend);
    const world = await World.load({ name: 'synthetic', synthetic: { nUsers: 50, nItems: 30 } }, backend);
    const wrong: unknown[] = ['a string', [1, 2, 3], new Float64Array(3), null];
    const got: string[] = [];
    const attempt = async (f: () => unknown) => {
      try {
        await f();
        got.push('accepted');
      } catch (e) {
        got.push((e as Error).message);
      }
    };
    for (const v of wrong) {
      const x = v as Uint8Array;
      await attempt(() => b.loadPolicy(x));
      await attempt(() => b.loadRewardModel(x));
      await attempt(() => Policy.fromBytes(x, backend));
      if (v !== null) {
        await attempt(() => b.buildWorld({ name: 'synthetic' }, new Map(), x));
        await attempt(() => b.evaluate({ name: 'synthetic' }, world.raw, x, {}));
        await attempt(() => b.pretrain(world.raw, {}, x));
        await attempt(() => b.train({ episodes: 10 }, world.raw, undefined, undefined, x));
      }
      await attempt(() => b.trainRewardModel(world.raw, { history: 1, histItems: new Uint32Array(2), histRewards: new Float32Array(2), items: x as unknown as Uint32Array, labels: new Float32Array(2) }, {}));
    }
    messages.set(backend, got);
  }
  // and the objects it returns: an Env, a Policy, a RewardModel
  for (const backend of backends) {
    const b = await loadBackend(backend);
    const got = messages.get(backend)!;
    const e = b.createEnv({ name: 'synthetic', batch: { batchSize: 2 } });
    const p = b.loadPolicy(good);
    for (const v of ['a string', [1, 2], new Float64Array(2), null]) {
      const x = v as unknown as Uint32Array;
      for (const f of [() => e.step(x, new Float32Array(2), new Uint8Array(2)), () => e.observe(x, new Float32Array(60)), () => e.setUserPool(x), () => p.recommend(x, new Float32Array(2), 3, true)]) {
        try {
          f();
          got.push('accepted');
        } catch (err) {
          got.push((err as Error).message);
        }
      }
    }
    e.step(Uint32Array.of(1, 2), new Float32Array(2), new Uint8Array(2));
    t.is(p.recommend(Uint32Array.of(1, 2), Float32Array.of(1, 0), 3, true).items.length, 3, `${backend}: the checked methods still work`);
  }
  const [native, wasm] = [messages.get('native')!, messages.get('wasm')!];
  t.deepEqual(wasm, native, 'the same error for the same input on both builds');
  for (const m of native) t.regex(m, /^(bytes|userModel|artefact|critic|init|examples\.items|actions|items|users): expected a (Uint8Array|Uint32Array), got (string|Array|Float64Array|null)$/);
});

test('a header size too large for the build is a size error naming the field on both builds, never "not valid JSON"', async (t) => {
  const edits: [string, (h: PolicyHeader) => void, RegExp][] = [
    ['hidden', (h) => (h.meta.net.hidden = 2 ** 40), /net\.hidden: expected an integer in \[\d+, \d+\], got 1099511627776/],
    ['history', (h) => (h.meta.history = 2 ** 33), /history: expected (at most 4096|an integer in \[0, 4294967295\]), got 8589934592/],
    ['nItems', (h) => (h.meta.nItems = 2 ** 40), /nItems/],
    ['hidden -1', (h) => (h.meta.net.hidden = -1), /net\.hidden: expected an integer in \[\d+, \d+\], got -1/],
  ];
  for (const [what, edit, message] of edits) {
    for (const backend of backends) {
      const e = await t.throwsAsync(Policy.fromBytes(forge(good, edit), backend), undefined, `${backend}: ${what}`);
      t.regex(e!.message, message, `${backend}: ${what}`);
      t.notRegex(e!.message, /not valid JSON/, `${backend}: ${what}`);
    }
  }
  // a tensor's data offsets in the safetensors header (outside __metadata__): 2^40 past a 32-bit usize
  const { header, data } = splitSafetensors(good);
  const first = Object.keys(header).find((k) => k !== '__metadata__')!;
  header[first]!.data_offsets = [0, 2 ** 40];
  const forged = joinSafetensors(header, data);
  const said = new Map<string, string>();
  for (const backend of backends) {
    const e = await t.throwsAsync(Policy.fromBytes(forged, backend), undefined, `${backend}: a tensor offset`);
    t.regex(e!.message, /^policy file: tensor ".+": shape \[\d+(, \d+)*\] \(\d+ F32 values\) does not fit data_offsets \[0, 1099511627776\]/, `${backend}: a tensor offset`);
    said.set(backend, e!.message);
  }
  if (said.size === 2) t.is(said.get('wasm'), said.get('native'), 'the same words on both builds');
});

test('options nested without end, cyclic or exponentially shared are errors naming the path on both builds, and the wasm module survives', async (t) => {
  let deep: unknown = 1;
  for (let i = 0; i < 100_000; i++) deep = [deep];
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  let shared: unknown = [1];
  for (let i = 0; i < 40; i++) shared = [shared, shared]; // 2^40 values as the core would read it
  const quit = { window: 5 };
  for (const backend of backends) {
    const b = await loadBackend(backend);
    t.throws(() => b.createEnv({ name: 'synthetic', quit: deep as never }), { message: /^spec\.quit(\[0\]){31}: nested more than 32 deep, or it refers to itself/ }, backend);
    t.throws(() => b.createEnv({ name: 'synthetic', quit: cyclic }), { message: /^spec\.quit(\.self)+: nested more than 32 deep, or it refers to itself/ }, backend);
    const t0 = performance.now();
    t.throws(() => b.createEnv({ name: 'synthetic', quit: shared as never }), { message: /nested more than 32 deep|more than 1000000 values/ }, backend);
    t.true(performance.now() - t0 < 5000, `${backend}: shared values are not walked 2^40 times`);
    const world = await World.load({ name: 'synthetic', synthetic: { nUsers: 50, nItems: 30 } }, backend);
    await t.throwsAsync(b.evaluate({ name: 'synthetic' }, world.raw, null, { deep } as never), { message: /^options\.deep(\[0\]){31}: nested more than 32/ });
    // the world's queries too (the wasm build's serde recursion overflowed on them)
    t.throws(() => world.preferenceRequests({ mix: deep } as never), { message: /^config\.mix(\[0\]){31}: nested more than 32/ }, backend);
    t.throws(() => world.inspect('yes' as never), { message: 'validate: expected a boolean, got string' }, backend);
    // a value used twice is no cycle; and the module still answers
    const e = b.createEnv({ name: 'synthetic', batch: { batchSize: 2 }, quit, synthetic: { nUsers: 50, nItems: 30 } });
    t.is(e.batchSize, 2, backend);
  }
});

test('the command line: a dataset too small for a statistic shows it as missing, never a TypeError', async (t) => {
  // three users: no user has both liked and unliked test items, so the AUCs are null
  const r = await runCli(['env', 'inspect', 'movielens', '--data', join('crates', 'sim', 'tests', 'fixtures', 'movielens', 'latest'), '--episodes', '5']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^matrix factorisation\s+\d\.\d+\s+-$/m);
  t.notRegex(r.stderr, /Cannot read properties/);
});

for (const backend of backends) {
  // settings within each field's own limit whose product would need terabytes: an error
  // naming the settings before anything is allocated, never "memory allocation failed" (an abort)
  test(`${backend}: sizes that multiply past what one pass may hold are errors naming the settings`, async (t) => {
    const world = await World.load({ name: 'synthetic' }, backend);
    const h = 10; // pre-training's default history
    const n = 16;
    const fitted = { model: await rewardModel(world, h, n) };
    await t.throwsAsync(pretrain({ world, ialp: { users: 65536, a2c: { nSteps: 65536 }, episodes: 10 }, rewardModel: fitted.model }),
      { message: /a2c\.nSteps x ialp\.users: 65536 x 65536 is more than the limit of 16777216/ });
    await t.throwsAsync(pretrain({ world, ialp: { users: 4096, a2c: { nSteps: 4096, net: { hidden: 1024, depth: 1 } }, episodes: 10 }, rewardModel: fitted.model }),
      { message: /a2c\.nSteps x ialp\.users: 16777216 rows of 1056 values each \(hidden 1024 x depth 1 \+ 32\) is more than the limit of 536870912 values/ });
    await t.throwsAsync(pretrain({ world, ialp: { epochs: 1, batchSize: 65536, a2c: { net: { hidden: 16384, depth: 1 } } } }),
      { message: /ialp\.batchSize: 65536 rows of 16416 values each/ });
    await t.throwsAsync(train({ world, env: { batchSize: 256 }, episodes: 10, a2c: { nSteps: 65536, net: { hidden: 16384, depth: 1 } } }),
      { message: /a2c\.nSteps x env\.batch\.batchSize: 16777216 rows of 16416 values each/ });
    await t.throwsAsync(world.backend.trainRewardModel(world.raw, {
      history: h, histItems: new Uint32Array(n * h), histRewards: new Float32Array(n * h), items: new Uint32Array(n), labels: new Float32Array(n),
    }, { batchSize: 65536, hidden: 16384, depth: 1, epochs: 1 }), { message: /rewardModel\.batchSize: 65536 rows of 16400 values each/ });
    // and the same process goes on working
    t.true((await train({ world, env: { batchSize: 4 }, episodes: 10 })).episodes.length >= 10);
  });
}

test('number and boolean arguments of the objects the surface returns are named, with the same words on both builds', async (t) => {
  const said: Record<string, string[]> = {};
  for (const backend of backends) {
    const world = await World.load({ name: 'synthetic' }, backend);
    const raw = world.raw as unknown as Record<string, (...a: unknown[]) => unknown>;
    const policy = world.backend.loadPolicy(good);
    const calls: [string, () => unknown][] = [
      ['item: expected a number, got string', () => raw.itemText!('x')],
      ['item: expected a number, got undefined', () => raw.itemText!()],
      ['user: expected a number, got Object', () => raw.latestHistory!({}, 1)],
      ['history: expected a number, got string', () => raw.latestHistory!(1, '3')],
      ['validate: expected a boolean, got string', () => raw.inspect!('yes')],
      ['k: expected a number, got string', () => policy.recommend(new Uint32Array(10), new Float32Array(10), '5' as never, true)],
      ['excludeSeen: expected a boolean, got number', () => policy.recommend(new Uint32Array(10), new Float32Array(10), 5, 1 as never)],
    ];
    said[backend] = calls.map(([want, f]) => {
      const e = t.throws(f, { message: want }, `${backend}: ${want}`);
      return e?.message ?? '';
    });
    t.is(raw.itemText!(0), world.itemText(0), 'and the object still answers');
  }
  if (backends.length > 1) t.deepEqual(said[backends[0]!], said[backends[1]!]);
});
