// The iALP / A-iALP building blocks through both builds: offline pre-training
// on logs, fine-tuning from it (ft), adaptive deployment (ap), greedy on r_phi.
import test from 'ava';
import { evaluate, pretrain, summarize, train, World } from '../packages/ts-api/src/index.js';
import { backends } from './helpers.js';

for (const backend of backends) {
  test(`${backend}: pre-train, fine-tune and deploy adaptively on synthetic`, async (t) => {
    const world = await World.load({ name: 'synthetic' }, backend);
    const { policy: pi0, stats } = await pretrain({ world, ialp: { epochs: 2, transitionsPerEpoch: 2048, seed: 1 } });
    t.true(stats.loggedTransitions! > 0);
    t.is(stats.augmentedTransitions, 0, 'no reward model: the logs-only baseline');
    const ft = await train({ world, init: pi0, episodes: 200, seed: 2, users: 'heldOut' });
    t.is(ft.episodes.length, 200);
    t.is(ft.trace, undefined);
    const ap = await train({ world, init: pi0, adaptive: true, episodes: 200, seed: 2, users: 'heldOut' });
    t.is(ap.trace!.length, ap.updates);
    t.true(ap.trace!.every((x) => x.sharePretrained >= 0 && x.sharePretrained <= 1));
    const { heldOut } = world.userSplit();
    t.true(ap.episodes.every((e) => heldOut.includes(e.user)));
    await t.throwsAsync(train({ world, adaptive: true, episodes: 10 }), { message: /adaptive: needs `init`/ });
  });
}

test('native and wasm pre-train and deploy to the same numbers', async (t) => {
  const run = async (backend: 'native' | 'wasm') => {
    const world = await World.load({ name: 'synthetic' }, backend);
    const { policy } = await pretrain({ world, ialp: { epochs: 1, transitionsPerEpoch: 1024, seed: 4 } });
    const ap = await train({ world, init: policy, adaptive: true, episodes: 100, seed: 5 });
    return { episodes: ap.episodes, trace: ap.trace };
  };
  t.deepEqual(await run('native'), await run('wasm'));
});

test('greedy on a reward model is an evaluation actor', async (t) => {
  const world = await World.load({ name: 'synthetic' }, 'native');
  const reqs = world.preferenceRequests({ users: 30, candidates: 5 });
  // labels from the simulator's ground truth stand in for an LLM here
  const hist = reqs.flatMap((r) => r.candidates.map(() => r.histItems)).flat();
  const histR = reqs.flatMap((r) => r.candidates.map(() => r.histRewards)).flat();
  const fitted = await world.backend.trainRewardModel(world.raw, {
    history: 10,
    histItems: Uint32Array.from(hist),
    histRewards: Float32Array.from(histR),
    items: Uint32Array.from(reqs.flatMap((r) => r.candidates)),
    labels: Float32Array.from(reqs.flatMap((r) => r.truth)),
  }, { epochs: 5 });
  const greedy = summarize(await evaluate({ world, policy: { greedy: fitted.model }, episodes: 64, seed: 1 }));
  t.is(greedy.episodes, 64);
  t.true(greedy.rewardPerStep > 0);
  await t.throwsAsync(evaluate({ world, policy: { greedy: new Uint8Array([1, 2, 3]) }, episodes: 4 }), { message: /reward model/ });
});

test('iALP in the world r_phi imagines: the same bits on native and wasm, and it learns', async (t) => {
  const run = async (backend: 'native' | 'wasm') => {
    const world = await World.load({ name: 'synthetic' }, backend);
    const reqs = world.preferenceRequests({ users: 60, candidates: 5, seed: 2 });
    const fitted = await world.backend.trainRewardModel(world.raw, {
      history: 10,
      histItems: Uint32Array.from(reqs.flatMap((r) => r.candidates.map(() => r.histItems)).flat()),
      histRewards: Float32Array.from(reqs.flatMap((r) => r.candidates.map(() => r.histRewards)).flat()),
      items: Uint32Array.from(reqs.flatMap((r) => r.candidates)),
      labels: Float32Array.from(reqs.flatMap((r) => r.truth)),
    }, { epochs: 5 });
    const { policy, stats } = await pretrain({ world, ialp: { episodes: 300, users: 32, seed: 3 }, rewardModel: fitted.model });
    // one build hands out a Buffer, the other a Uint8Array: compare the bytes
    return { bytes: Buffer.from(policy.toBytes()), stats, policy };
  };
  const native = await run('native');
  const wasm = await run('wasm');
  t.deepEqual(native.bytes, wasm.bytes);
  t.deepEqual(native.stats, wasm.stats);
  t.is(native.stats.imaginedEpisodes, 300);
  t.is(native.stats.epochs, 0);
  t.true(native.stats.augmentedTransitions! > 0);
  await t.throwsAsync(pretrain({ world: await World.load({ name: 'synthetic' }, 'native'), ialp: { episodes: 0 } }), { message: /nothing to learn from/ });
});
