// The pure-TypeScript `synthetic` of benches/reference must step exactly like the
// Rust one: `npm run bench` compares their speeds, which only means something if
// they compute the same thing. Equality is exact (bit for bit): the reference
// ports libm's expf/logf instead of using Math.exp/log.
import test from 'ava';
import { Env } from '@ialp/native';
import { ReferenceEnv, expf, logf, type EnvSpec } from '../benches/reference/synthetic.js';

function episodesOf(flat: Float64Array) {
  const out = [];
  for (let i = 0; i < flat.length; i += 4) {
    out.push({ slot: flat[i], user: flat[i + 1], totalReward: flat[i + 2], length: flat[i + 3] });
  }
  return out;
}

function compare(spec: EnvSpec, steps: number) {
  const native = new Env({ name: 'synthetic', ...spec });
  const reference = new ReferenceEnv(spec);
  const b = reference.batchSize;
  const h = reference.batch.history;
  const actions = new Uint32Array(b);
  const [rn, rr] = [new Float32Array(b), new Float32Array(b)];
  const [dn, dr] = [new Uint8Array(b), new Uint8Array(b)];
  let ends = 0;
  for (let t = 0; t < steps; t++) {
    for (let i = 0; i < b; i++) actions[i] = (i * 37 + t * 11 + ((t * t) % 7)) % native.nItems;
    native.step(actions, rn, dn);
    reference.step(actions, rr, dr);
    if (rn.some((x, i) => !Object.is(x, rr[i])) || dn.some((x, i) => x !== dr[i])) {
      return {
        same: false as const,
        step: t,
        native: { rewards: Array.from(rn), dones: Array.from(dn) },
        reference: { rewards: Array.from(rr), dones: Array.from(dr) },
      };
    }
    ends += dn.reduce((a, x) => a + x, 0);
  }
  const [ni, nr, ri, rw] = [new Uint32Array(b * h), new Float32Array(b * h), new Uint32Array(b * h), new Float32Array(b * h)];
  native.observe(ni, nr);
  reference.observe(ri, rw);
  return {
    same: true as const,
    ends,
    features: [native.itemFeatures(), reference.world.features],
    categories: [native.itemCategories(), reference.world.itemCats],
    episodes: [episodesOf(native.drainEpisodes()), reference.drainEpisodes()],
    observations: [
      [ni, nr],
      [ri, rw],
    ],
  };
}

for (const [label, spec] of [
  ['d = 32, B = 8 (the bench setting)', { batch: { batchSize: 8, seed: 1 }, synthetic: { dim: 32 } }],
  ['defaults, B = 8, another seed', { batch: { batchSize: 8, seed: 12345 }, synthetic: { seed: 7 } }],
  ['no auto-reset, long window, no drift', { batch: { batchSize: 8, autoReset: false, warmStart: 0 }, quit: { window: 8, maxSameCategory: 4 }, synthetic: { drift: 0 } }],
  // d not a multiple of the 8 lanes of the sums (lanes.rs `dot`): the remainder path
  ['d = 13, B = 8', { batch: { batchSize: 8, seed: 2 }, synthetic: { dim: 13, seed: 3 } }],
] as [string, EnvSpec][]) {
  test(`reference synthetic equals the Rust one: ${label}`, (t) => {
    const r = compare(spec, 300);
    if (!r.same) return t.fail(`first difference at step ${r.step}: ${JSON.stringify(r)}`);
    t.true(r.ends >= 8, 'episodes end');
    t.deepEqual(r.features[1], r.features[0], 'item features (world generation)');
    t.deepEqual(r.categories[1], r.categories[0], 'item categories');
    t.deepEqual(r.episodes[1], r.episodes[0], 'finished episodes, in order');
    t.deepEqual(r.observations[1], r.observations[0], 'final observations');
  });
}

test('the libm ports stay within one f32 ulp of Math and are exact at known points', (t) => {
  const f = Math.fround;
  const ulp = (x: number) => {
    const a = new Float32Array([x]);
    const u = new Uint32Array(a.buffer);
    u[0] += 1;
    return Math.abs(a[0] - x);
  };
  for (let i = 0; i < 2000; i++) {
    const x = f(-8 + (16 * i) / 2000);
    t.true(Math.abs(expf(x) - Math.exp(x)) <= ulp(f(Math.exp(x))), `expf(${x})`);
    const y = f((i + 1) / 2000);
    t.true(Math.abs(logf(y) - Math.log(y)) <= ulp(f(Math.log(y))) + 1e-12, `logf(${y})`);
  }
  t.is(expf(0), 1);
  t.is(logf(1), 0);
});

test('{"batch": {"threads": N}} in the spec steps the same numbers as one thread', (t) => {
  // 3 x 4096 slots: enough for crates/sim to use 3 threads (one per 4096 slots at most)
  const b = 3 * 4096 + 5;
  const run = (threads: number) => {
    const env = new Env({ name: 'synthetic', batch: { batchSize: b, seed: 3, threads }, synthetic: { dim: 32 } });
    const actions = new Uint32Array(b);
    const rewards = new Float32Array(b);
    const dones = new Uint8Array(b);
    const all: number[] = [];
    for (let step = 0; step < 20; step++) {
      for (let i = 0; i < b; i++) actions[i] = (i * 7 + step * 13) % env.nItems;
      env.step(actions, rewards, dones);
      all.push(...rewards, ...dones);
    }
    return { all, episodes: Array.from(env.drainEpisodes()) };
  };
  const one = run(1);
  t.true(one.episodes.length > 0);
  t.deepEqual(run(3), one);
  t.throws(() => run(0), { message: /threads: expected an integer in \[1, 256\], got 0/ });
});
