// Dataset environments (MovieLens latest-small and Coat, shipped with ialp)
// through both builds: worlds, batched stepping with the quit model, item text,
// the user-model cache and bad data folders.
import test from 'ava';
import { mkdtemp, readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Environment, evaluate, summarize, World } from '../packages/ts-api/src/index.js';
import { backends, root, runCli } from './helpers.js';

const cache = await mkdtemp(join(tmpdir(), 'ialp-cache-'));

for (const backend of backends) {
  for (const name of ['movielens', 'coat'] as const) {
    test(`${backend}: ${name} steps in batches and users quit`, async (t) => {
      const world = await World.load({ name, cache }, backend);
      const info = world.info;
      t.is(info.env, name);
      t.true(info.users > 100 && info.items > 100);
      const env = await Environment.create({ name, world, batchSize: 32, seed: 1 });
      const actions = new Uint32Array(32);
      let ended = 0;
      for (let step = 0; step < 120; step++) {
        for (let i = 0; i < 32; i++) actions[i] = (i * 131 + step * 17) % env.nItems;
        const { rewards, dones } = env.step(actions);
        t.true(rewards.every((r) => r >= 0 && r <= 1));
        ended += dones.reduce((a, b) => a + b, 0);
      }
      const eps = env.drainEpisodes();
      t.is(eps.length, ended);
      t.true(ended > 32, 'the quit model ends episodes');
      t.true(eps.every((e) => e.length >= 1 && e.length <= info.quit.maxSteps));
      t.true(world.itemText(0).length > 3);
      // the core computes the info once (it counts the logs): the same frozen object each time, what the core says
      t.is(world.info, info);
      t.deepEqual(info, world.raw.info);
      t.throws(() => { (info as { users: number }).users = 1; }, { instanceOf: TypeError });
      t.throws(() => { (info.quit as { maxSteps: number }).maxSteps = 1; }, { instanceOf: TypeError });
    });
  }
}

test('native and wasm build the same movielens world and step the same numbers', async (t) => {
  const run = async (backend: 'native' | 'wasm') => {
    const env = await Environment.create({ name: 'movielens', cache: false, batchSize: 8, seed: 3 }, backend);
    const out: number[] = [];
    const actions = new Uint32Array(8);
    for (let s = 0; s < 50; s++) {
      actions.forEach((_, i) => (actions[i] = (i * 7 + s * 13) % env.nItems));
      out.push(...env.step(actions).rewards);
    }
    return out;
  };
  t.deepEqual(await run('native'), await run('wasm'));
});

test('the fitted user model is cached and reused', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ialp-cache-'));
  const a = await World.load({ name: 'coat', cache: dir }, 'native');
  const files = await readdir(join(dir, 'user-models'));
  t.is(files.length, 1);
  t.regex(files[0]!, /^coat-[0-9a-f]{24}\.ialpmf$/);
  const b = await World.load({ name: 'coat', cache: dir }, 'native');
  t.deepEqual(b.raw.userModel(), a.raw.userModel());
  t.is((await readdir(join(dir, 'user-models'))).length, 1);
});

test('random and popularity policies give visibly different episode lengths', async (t) => {
  for (const name of ['synthetic', 'movielens', 'coat']) {
    const world = await World.load({ name, cache }, 'native');
    const r = summarize(await evaluate({ world, env: { name }, policy: 'random', episodes: 256, seed: 1 }));
    const p = summarize(await evaluate({ world, env: { name }, policy: 'popularity', episodes: 256, seed: 1 }));
    const ratio = Math.max(r.meanLength, p.meanLength) / Math.min(r.meanLength, p.meanLength);
    t.true(ratio > 1.25, `${name}: random ${r.meanLength.toFixed(2)} vs popularity ${p.meanLength.toFixed(2)} steps`);
  }
});

test('ialp env inspect coat: the user model beats popularity on the random-exposure test set', async (t) => {
  const r = await runCli(['env', 'inspect', 'coat', '--json', '--episodes', '64']);
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { info: { users: number; items: number }; validation: { modelAuc: number; popularityAuc: number; modelRmse: number; itemMeanRmse: number; testInteractions: number } };
  t.is(out.info.users, 290);
  t.is(out.info.items, 300);
  t.is(out.validation.testInteractions, 4640);
  t.true(out.validation.modelAuc > out.validation.popularityAuc, JSON.stringify(out.validation));
});

test('ialp envs lists the environments', async (t) => {
  const r = await runCli(['envs']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /movielens\s+610\s+9742/);
  t.regex(r.stdout, /coat\s+290\s+300/);
  t.regex(r.stdout, /kuairec.*--data/);
});

test('bad data folders are clear errors', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ialp-bad-'));
  await t.throwsAsync(World.load({ name: 'movielens', data: join(dir, 'missing') }, 'native'), { message: /missing/ });
  await t.throwsAsync(World.load({ name: 'movielens', data: dir }, 'native'), { message: /has no files/ });
  await mkdir(join(dir, 'ml'));
  await writeFile(join(dir, 'ml', 'ratings.csv'), 'userId,movieId,rating,timestamp\n1,1,abc,5\n');
  await writeFile(join(dir, 'ml', 'movies.csv'), 'movieId,title,genres\n1,Toy Story (1995),Comedy\n');
  await t.throwsAsync(World.load({ name: 'movielens', data: join(dir, 'ml'), cache: false }, 'native'), { message: /ratings\.csv line 2/ });
  await t.throwsAsync(World.load({ name: 'kuairec' }, 'native'), { message: /needs its data files/ });
  const r = await runCli(['run', '--env', 'coat', '--data', join(dir, 'nope')]);
  t.is(r.code, 1);
  t.regex(r.stderr, /nope/);
  // a folder that is not a dataset's (--data /usr): refused by its file count before any is read
  const many = join(dir, 'many');
  await mkdir(join(many, 'sub'), { recursive: true });
  await Promise.all(Array.from({ length: 1001 }, (_, i) => writeFile(join(many, i % 2 ? 'sub' : '', `t${i}.csv`), 'x\n')));
  await t.throwsAsync(World.load({ name: 'movielens', data: many, cache: false }, 'native'), { message: /^data folder .*many: more than 1000 data files or 8 GiB of them within two folder levels; expected a dataset's folder/ });
});

test('files of a data folder that no loader reads (licences, notes, archives) are left unread', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ialp-extra-'));
  const ml = join(root, 'packages', 'ts-api', 'data', 'ml-latest-small');
  for (const f of ['ratings.csv', 'movies.csv']) await writeFile(join(dir, f), await readFile(join(ml, f)));
  const plain = await World.load({ name: 'movielens', data: dir, cache: false }, 'native');
  // a file no loader reads, which would not even be valid text
  await writeFile(join(dir, 'ml-latest-small.zip'), new Uint8Array(1 << 20).fill(0xff));
  await writeFile(join(dir, 'LICENSE'), 'licence text');
  const extra = await World.load({ name: 'movielens', data: dir, cache: false }, 'native');
  t.is(extra.info.fingerprint, plain.info.fingerprint);
});

test('a damaged user-model cache is refitted and replaced', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ialp-cache-'));
  const good = await World.load({ name: 'coat', cache: dir }, 'native');
  const [file] = await readdir(join(dir, 'user-models'));
  await writeFile(join(dir, 'user-models', file!), 'not a model');
  const again = await World.load({ name: 'coat', cache: dir }, 'native');
  t.deepEqual(again.raw.userModel(), good.raw.userModel());
  t.deepEqual(new Uint8Array(await readFile(join(dir, 'user-models', file!))), new Uint8Array(good.raw.userModel()!));
});
