// Confidence intervals for any number of seeds, and paired differences.
import test from 'ava';
import { meanCi, pairedDiff, tQuantile } from '../packages/ts-api/src/stats.js';

test('Student t quantiles match the tables for small and large degrees of freedom', (t) => {
  // 97.5% quantiles from the standard tables
  const table: [number, number][] = [[1, 12.706], [2, 4.303], [4, 2.776], [9, 2.262], [10, 2.228], [15, 2.131], [30, 2.042], [120, 1.980]];
  for (const [df, q] of table) t.true(Math.abs(tQuantile(0.975, df) - q) < 5e-4, `df ${df}: ${tQuantile(0.975, df)}`);
  t.true(Math.abs(tQuantile(0.975, 1e6) - 1.95996) < 1e-4);
  t.true(Math.abs(tQuantile(0.025, 7) + tQuantile(0.975, 7)) < 1e-9, 'symmetric');
  t.true(Number.isNaN(tQuantile(0.975, 0)));
});

test('meanCi uses n - 1 degrees of freedom beyond ten seeds too', (t) => {
  const xs = Array.from({ length: 12 }, (_, i) => i);
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - 5.5) ** 2, 0) / 11);
  const m = meanCi(xs);
  t.is(m.mean, 5.5);
  t.true(Math.abs(m.ci95 - (2.201 * sd) / Math.sqrt(12)) < 1e-3, `${m.ci95}`);
  t.true(Number.isNaN(meanCi([3]).ci95));
});

test('paired differences remove what the pairs share', (t) => {
  const base = [10, 20, 30, 40, 50];
  const better = base.map((x, i) => x + 1 + (i % 2) * 0.1);
  const d = pairedDiff(better, base);
  t.true(Math.abs(d.mean - 1.04) < 1e-9);
  t.true(d.ci95 < 0.1, 'the shared spread between seeds is gone');
  t.true(meanCi(better).ci95 > 10, 'unpaired, the interval is wide');
  t.throws(() => pairedDiff([1], [1, 2]));
});

test('online episodes in arrival order: the first users served, not the shortest episodes', async (t) => {
  const { inArrivalOrder } = await import('../packages/ts-api/src/metrics.js');
  const { train } = await import('../packages/ts-api/src/train.js');
  // two slots: slot 0 runs episodes of length 1, 1, 1, 5; slot 1 one of length 6, then one still running
  const ep = (slot: number, length: number, user: number) => ({ slot, user, length, totalReward: length });
  const finished = [ep(0, 1, 0), ep(0, 1, 1), ep(0, 1, 2), ep(0, 5, 3), ep(1, 6, 10), ep(1, 2, 11)];
  // starts: slot 0 at 0, 1, 2, 3 (clock 8); slot 1 at 0, 6 (clock 8); the cut is 8: all started before it
  t.deepEqual(inArrivalOrder(finished, 2).map((e) => e.user), [0, 10, 1, 2, 3, 11]);
  // slot 1's second episode unfinished: the cut is slot 1's clock, 6; what started at or after it is left out
  t.deepEqual(inArrivalOrder(finished.slice(0, 5), 2).map((e) => e.user), [0, 10, 1, 2, 3]);
  t.deepEqual(inArrivalOrder([ep(0, 3, 0), ep(0, 1, 1)], 2), [], 'a slot that never finished: nothing is known complete');
  t.throws(() => inArrivalOrder([ep(2, 1, 0)], 2), { message: /slot 2/ });
  // a real run: every episode kept once, and the first ones are not biased short
  const r = await train({ env: { name: 'synthetic', batchSize: 16 }, episodes: 200, seed: 3, backend: 'native' });
  const ordered = inArrivalOrder(r.episodes, 16);
  t.true(ordered.length > 150 && ordered.length <= r.episodes.length);
  t.is(new Set(ordered).size, ordered.length);
  const meanLen = (xs: { length: number }[]) => xs.reduce((a, e) => a + e.length, 0) / xs.length;
  t.true(meanLen(r.episodes.slice(0, 16)) < meanLen(ordered.slice(0, 16)), 'in finish order the first episodes are the short ones');
});
