// Environments through both builds of the core: batched stepping, in-place
// buffers, determinism, and errors at the boundary.
import test from 'ava';
import { Environment, World } from '../packages/ts-api/src/index.js';
import { backends } from './helpers.js';

async function rollout(backend: 'native' | 'wasm', seed: number, steps: number) {
  const env = await Environment.create({ batchSize: 16, seed }, backend);
  const actions = new Uint32Array(env.batchSize);
  const rewards: number[] = [];
  let ends = 0;
  for (let t = 0; t < steps; t++) {
    for (let i = 0; i < actions.length; i++) actions[i] = (i * 37 + t * 11) % env.nItems;
    const r = env.step(actions);
    rewards.push(...r.rewards);
    ends += r.dones.reduce((a, b) => a + b, 0);
  }
  return { rewards, ends, episodes: env.drainEpisodes(), obs: Array.from(env.observe().items) };
}

for (const backend of backends) {
  test(`${backend}: stepping is deterministic and users quit`, async (t) => {
    const a = await rollout(backend, 3, 200);
    const b = await rollout(backend, 3, 200);
    t.deepEqual(a, b);
    t.true(a.ends > 16, 'with auto-reset many episodes end in 200 steps');
    t.is(a.episodes.length, a.ends);
    t.true(a.episodes.every((e) => e.length >= 1 && e.length <= 50));
    t.true(a.rewards.every((r) => r >= 0 && r <= 1));
    const c = await rollout(backend, 4, 200);
    t.notDeepEqual(a.rewards, c.rewards);
  });

  test(`${backend}: observations hold the latest items, right-aligned`, async (t) => {
    const env = await Environment.create({ batchSize: 2, history: 4, warmStart: 0, seed: 1 }, backend);
    t.deepEqual(Array.from(env.observe().items), new Array(8).fill(0xffffffff));
    env.step(new Uint32Array([5, 6]));
    const { items } = env.observe();
    t.is(items[3], 5);
    t.is(items[7], 6);
  });

  test(`${backend}: bad input is a clear Error and the process lives on`, async (t) => {
    const env = await Environment.create({ batchSize: 4 }, backend);
    t.throws(() => env.step(new Uint32Array(3)), { message: /actions length: expected 4, got 3/ });
    t.throws(() => env.step(new Uint32Array([0, 1, 2, 99999])), { message: /actions\[3\]: expected an item id < 500/ });
    await t.throwsAsync(Environment.create({ name: 'nope' }, backend), { message: /environment name: expected one of synthetic, movielens, coat, kuairec, kuairand, got "nope"/ });
    await t.throwsAsync(Environment.create({ batchSize: 0 }, backend), { message: /batchSize: expected an integer/ });
    await t.throwsAsync(Environment.create({ batchSize: -3 }, backend), { message: /batchSize/ });
    await t.throwsAsync(Environment.create({ quit: { window: 0 } }, backend), { message: /quit\.window/ });
    await t.throwsAsync(Environment.create({ synthetic: { nItems: -1 } }, backend), { message: /synthetic\.nItems/ });
    // still usable afterwards
    t.is(env.step(new Uint32Array(4)).rewards.length, 4);
  });
}

test('native and wasm step the same numbers', async (t) => {
  const [n, w] = await Promise.all([rollout('native', 9, 300), rollout('wasm', 9, 300)]);
  t.deepEqual(n, w);
});

test('native: stepping on 2 threads gives the single-thread numbers', async (t) => {
  const run = async (threads: number) => {
    const env = await Environment.create({ batchSize: 8192, seed: 2, threads }, 'native');
    const actions = new Uint32Array(8192);
    const out: number[] = [];
    for (let s = 0; s < 20; s++) {
      actions.forEach((_, i) => (actions[i] = (i * 31 + s * 7) % env.nItems));
      const { rewards } = env.step(actions);
      out.push(rewards.reduce((a, b) => a + b, 0), rewards[s * 100]!);
    }
    return { out, episodes: env.drainEpisodes() };
  };
  t.deepEqual(await run(2), await run(1));
  await t.throwsAsync(Environment.create({ threads: 0 }, 'native'), { message: /threads/ });
});

test('a query declared once in the core (world_queries!) answers alike on both builds', async (t) => {
  const [n, w] = await Promise.all([World.load({}, 'native'), World.load({}, 'wasm')]);
  const sizes = n.raw.categorySizes() as { category: string; items: number }[];
  t.deepEqual(w.raw.categorySizes(), sizes);
  t.is(sizes.reduce((a, c) => a + c.items, 0), n.info.items);
  t.deepEqual(w.raw.inspect(false), n.raw.inspect(false));
});
