// The one surface seen from TypeScript: the generated types and defaults
// (packages/ts-api/src/core-types.ts, from crates/types) describe what both
// builds answer, and requests are checked once, by the core, naming the field.
import test from 'ava';
import { CORE_DEFAULTS, Environment, evaluate, World } from '../packages/ts-api/src/index.js';
import { backends } from './helpers.js';

for (const backend of backends) {
  test(`${backend}: a member left out takes the core's default, as CORE_DEFAULTS says`, async (t) => {
    const world = await World.load({}, backend);
    const episodes = await evaluate({ world, policy: 'random' });
    t.is(episodes.length, CORE_DEFAULTS.evaluate.episodes);
    const env = await Environment.create({}, backend);
    t.is(env.batchSize, CORE_DEFAULTS.train.env.batch.batchSize);
    t.is(env.history, CORE_DEFAULTS.train.env.batch.history);
    t.is(world.info.items, CORE_DEFAULTS.train.env.synthetic.nItems);
  });

  test(`${backend}: numbers that cannot cross as objects are errors naming the member`, async (t) => {
    await t.throwsAsync(Environment.create({ synthetic: { gain: Infinity } }, backend), {
      message: 'environment spec: synthetic.gain: expected a finite number, got Infinity',
    });
    const world = await World.load({}, backend);
    t.throws(() => world.preferenceRequests({ mix: { popular: NaN } }), {
      message: 'request config: mix.popular: expected a finite number, got NaN',
    });
    await t.throwsAsync(evaluate({ world, episodes: NaN }), { message: 'evaluation options: episodes: expected a finite number, got NaN' });
  });

  test(`${backend}: values the TypeScript layer no longer re-checks are refused by the core, naming the field`, async (t) => {
    await t.throwsAsync(Environment.create({ batchSize: 1.5 }, backend), { message: /batch\.batchSize/ });
    await t.throwsAsync(Environment.create({ history: 5000 }, backend), { message: /^history: expected at most 4096, got 5000/ });
    await t.throwsAsync(Environment.create({ seed: -1 }, backend), { message: /batch\.seed/ });
  });

  test(`${backend}: the records have the generated shapes`, async (t) => {
    const world = await World.load({}, backend);
    const inspection = world.inspect(false);
    t.deepEqual(Object.keys(inspection).sort(), ['info', 'validation']);
    t.is(inspection.validation, null);
    t.deepEqual(Object.keys(inspection.info.quit).sort(), ['maxSameCategory', 'maxSteps', 'minMeanReward', 'window']);
    const [request] = world.preferenceRequests({ users: 1, candidates: 3 });
    t.is(request!.candidates.length, 3);
    t.true(request!.sources.every((s) => s === 'popular' || s === 'similar' || s === 'random'));
    const sizes = world.raw.categorySizes();
    t.is(sizes.reduce((a, c) => a + c.items, 0), world.info.items);
  });
}
