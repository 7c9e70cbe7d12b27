// Hostile input to @ialp/wasm used directly (and through the library): a JS
// exception thrown during a call (a detached typed array, a Proxy of one, a
// throwing getter) must not unwind through the wasm frames, which left the object
// answering "recursive use of an object detected" and, after a few thousand such
// calls, the module "memory access out of bounds"; requests nested without end
// or holding NaN or an infinity, and sizes the wasm32 memory cannot hold, are
// errors naming the input, before anything is allocated.
import test from 'ava';
import { Env, evaluate, init, Policy, RewardModel, train, trainRewardModel, World } from '@ialp/wasm';
import { Environment } from '../packages/ts-api/src/index.js';

type Spec = Record<string, unknown>;
const spec = (batchSize = 4): Spec => ({ name: 'synthetic', batch: { batchSize, seed: 1 }, synthetic: { nUsers: 50, nItems: 30 } });
const detached = <T extends Uint8Array | Uint32Array | Float32Array>(a: T): T => {
  structuredClone(a.buffer, { transfer: [a.buffer as ArrayBuffer] });
  return a;
};
/** A step and an observation of `env`, to compare with a fresh environment's. */
function play(env: Env) {
  const b = env.batchSize;
  const rewards = new Float32Array(b);
  const dones = new Uint8Array(b);
  env.step(Uint32Array.from({ length: b }, (_, i) => i % env.nItems), rewards, dones);
  const items = new Uint32Array(b * env.history);
  const hist = new Float32Array(b * env.history);
  env.observe(items, hist);
  return { rewards: [...rewards], dones: [...dones], items: [...items], hist: [...hist] };
}
const throwingGetter = (): Spec => Object.defineProperty({ name: 'synthetic' }, 'batch', { enumerable: true, get: () => { throw new Error('getter boom'); } });

let world: World;
let policy: Uint8Array;
test.before(async () => {
  await init();
  world = World.build(spec(), null);
  policy = (train({ env: spec(8), episodes: 20, seed: 1 }, world, null, null) as { policy: Uint8Array }).policy;
});

test('a detached typed array, a Proxy of one or a throwing getter is an error, and the same object then steps as a fresh one', (t) => {
  const env = new Env(spec());
  const [r, d] = [new Float32Array(4), new Uint8Array(4)];
  t.throws(() => env.step(detached(new Uint32Array(4)), r, d), { message: /^actions: its ArrayBuffer is detached/ });
  t.throws(() => env.step(new Uint32Array(4), detached(new Float32Array(4)), d), { message: /^rewards: its ArrayBuffer is detached/ });
  t.throws(() => env.step(new Proxy(new Uint32Array(4), {}), r, d), { message: /^actions: expected a Uint32Array, got an object that only looks like one/ });
  t.throws(() => env.observe(new Proxy(new Uint32Array(40), {}), new Float32Array(40)), { message: /^items: expected a Uint32Array/ });
  t.throws(() => env.setUserPool(new Proxy(new Uint32Array([1]), {})), { message: /^users: expected a Uint32Array/ });
  t.throws(() => env.step(new Float64Array(4) as unknown as Uint32Array, r, d), { message: 'actions: expected a Uint32Array, got Float64Array' });
  t.throws(() => new Env(throwingGetter()), { message: 'getter boom' });
  t.throws(() => world.env(throwingGetter()), { message: 'getter boom' });
  t.throws(() => World.build(throwingGetter(), null), { message: 'getter boom' });
  // the same object, and the module, still work: as a fresh environment does
  t.deepEqual(play(env), play(new Env(spec())));
  t.deepEqual(play(world.env(spec())), play(new Env(spec())));
});

test('artefacts, examples and callbacks that throw are errors, and the module still answers', (t) => {
  t.throws(() => Policy.fromBytes(detached(new Uint8Array(policy))), { message: /^bytes: its ArrayBuffer is detached/ });
  t.throws(() => Policy.fromBytes(new Proxy(new Uint8Array(policy), {})), { message: /^bytes: expected a Uint8Array/ });
  t.throws(() => RewardModel.fromBytes([1, 2] as unknown as Uint8Array), { message: 'bytes: expected a Uint8Array, got Array' });
  class Sub extends Uint8Array {}
  const p = Policy.fromBytes(new Sub(policy));
  t.is(p.nItems, 30);
  t.throws(() => p.recommend(new Proxy(Uint32Array.of(1), {}), Float32Array.of(1), 3, true), { message: /^items: expected a Uint32Array/ });
  t.is(p.recommend(Uint32Array.of(1), Float32Array.of(1), 3, true).items.length, 3);
  const examples = { history: 1, histItems: Uint32Array.of(1, 2), histRewards: Float32Array.of(1, 0), items: Uint32Array.of(3, 4), labels: Float32Array.of(1, 0) };
  t.throws(() => trainRewardModel(world, Object.defineProperty({ ...examples }, 'items', { get: () => { throw new Error('items boom'); } }), { epochs: 1 }), { message: 'items boom' });
  t.throws(() => trainRewardModel(world, { ...examples, labels: detached(new Float32Array(2)) }, { epochs: 1 }), { message: /^examples\.labels: its ArrayBuffer is detached/ });
  t.truthy(trainRewardModel(world, examples, { epochs: 1 }).model.length);
  const hostile = { get message(): string { throw new Error('message boom'); } };
  t.throws(() => train({ env: spec(8), episodes: 20 }, world, () => { throw hostile; }, null), { message: /^onProgress threw: / });
  t.throws(() => train({ env: spec(8), episodes: 20 }, world, 'no' as never, null), { message: 'onProgress: expected a function, got string' });
  t.is(evaluate(spec(), world, null, { episodes: 4 }).length, 16);
});

test('10,000 calls given hostile arguments do not break the object or the module', (t) => {
  const env = new Env(spec());
  const [r, d] = [new Float32Array(4), new Uint8Array(4)];
  let errors = 0;
  for (let i = 0; i < 10_000; i++) {
    const bad = [
      () => env.step(detached(new Uint32Array(4)), r, d),
      () => env.step(new Proxy(new Uint32Array(4), {}), r, d),
      () => new Env(throwingGetter()),
      () => Policy.fromBytes(detached(new Uint8Array(8))),
    ][i % 4]!;
    try {
      bad();
    } catch {
      errors++;
    }
  }
  t.is(errors, 10_000);
  t.deepEqual(play(env), play(new Env(spec())));
  t.is(new Env({ name: 'synthetic' }).batchSize, 64);
});

test('a spec nested 30,000 deep or holding NaN or an infinity is an error naming the field', (t) => {
  let deep: unknown = 1;
  for (let i = 0; i < 30_000; i++) deep = [deep];
  t.throws(() => new Env({ name: 'synthetic', batch: { batchSize: deep } }), { message: /^environment spec: batch\.batchSize(\[0\])+: nested more than 32 deep/ });
  const cyclic: Spec = { name: 'synthetic' };
  cyclic.batch = cyclic;
  t.throws(() => new Env(cyclic), { message: /^environment spec: batch(\.batch)+: nested more than 32 deep, or it refers to itself/ });
  t.throws(() => world.preferenceRequests({ mix: deep }), { message: /^config: mix(\[0\])+: nested more than 32 deep/ });
  t.throws(() => new Env({ name: 'synthetic', batch: { batchSize: NaN } }), { message: 'environment spec: batch.batchSize: expected a finite number, got NaN' });
  t.throws(() => world.env({ name: 'synthetic', batch: { history: NaN } }), { message: 'environment spec: batch.history: expected a finite number, got NaN' });
  t.throws(() => train({ env: spec(8), episodes: 20, a2c: { adam: { lr: NaN } } }, world, null, null), { message: 'training config: a2c.adam.lr: expected a finite number, got NaN' });
  t.throws(() => train({ env: spec(8), episodes: Infinity }, world, null, null), { message: 'training config: episodes: expected a finite number, got Infinity' });
  t.throws(() => evaluate(spec(), world, null, { episodes: NaN }), { message: 'evaluation options: episodes: expected a finite number, got NaN' });
  t.throws(() => evaluate({ name: 'synthetic', batch: { seed: -Infinity } }, world, null, { episodes: 4 }), { message: 'environment spec: batch.seed: expected a finite number, got -Infinity' });
  t.is(new Env(spec()).batchSize, 4, 'the module still answers');
});

test('sizes a wasm32 memory cannot hold are errors naming them, before anything is allocated', async (t) => {
  const t0 = performance.now();
  const limit = 'the wasm build holds at most 1073741824';
  t.throws(() => new Env({ name: 'synthetic', batch: { batchSize: 2 ** 24, history: 16 } }), {
    message: `batch of 16777216 users x history 16 needs ${2 ** 24 * (16 * 16 + 256)} bytes; ${limit}`,
  });
  t.throws(() => world.env({ name: 'synthetic', batch: { batchSize: 2 ** 24, history: 16 } }), { message: /^batch of 16777216 users x history 16 needs \d+ bytes/ });
  t.throws(() => World.build({ name: 'synthetic', synthetic: { nItems: 40_000_000 } }, null), { message: new RegExp(`^synthetic world of 40000000 items and 10000 users \\(dim 16, 10 categories\\) needs \\d+ bytes; ${limit}$`) });
  t.throws(() => new Env({ name: 'synthetic', synthetic: { nItems: 40_000_000 } }), { message: /^synthetic world of 40000000 items/ });
  t.throws(() => train({ env: { name: 'synthetic', batch: { batchSize: 2 ** 20 } }, a2c: { nSteps: 1 }, episodes: 20 }, world, null, null), {
    message: new RegExp(`^training config: batch of 1048576 users x history 10 x nSteps 1 over 30 items needs \\d+ bytes; ${limit}$`),
  });
  // (2^21 users x 8 steps is past the shared limit on one pass's activations, on every build)
  t.throws(() => train({ env: { name: 'synthetic', batch: { batchSize: 2 ** 21 } }, episodes: 20 }, world, null, null), {
    message: /^a2c\.nSteps x env\.batch\.batchSize: 16777216 rows of 160 values each/,
  });
  // the shared limits still come first, naming the field
  t.throws(() => new Env({ name: 'synthetic', batch: { batchSize: 2 ** 24, history: 4096 } }), { message: 'batchSize x history: 16777216 x 4096 is more than the limit of 268435456' });
  // and through the library
  await t.throwsAsync(Environment.create({ batchSize: 2 ** 24, history: 16 }, 'wasm'), { message: /^batch of 16777216 users x history 16 needs \d+ bytes/ });
  t.true(performance.now() - t0 < 10_000, `at once: ${performance.now() - t0} ms`);
  t.deepEqual(play(new Env(spec())), play(new Env(spec())), 'the module still answers');
});
