// Agreement metrics against hand-computed values.
import test from 'ava';
import { agreement, auc, hit, popularityChoice, precision, randomHitRate } from '../packages/ts-api/src/llm/index.js';

test('AUC counts ties as one half and needs both classes', (t) => {
  // Positives 0.9 and 0.5 against negatives 0.1 and 0.5: wins 1 + 1 + 1 + 0.5 of 4 pairs.
  t.is(auc([0.9, 0.1, 0.5, 0.5], [true, false, true, false]), 0.875);
  t.is(auc([1, 0, 0, 0], [true, false, false, false]), 1);
  t.is(auc([0, 1, 1, 1], [true, false, false, false]), 0);
  t.is(auc([1, 1], [true, false]), 0.5);
  t.is(auc([1, 2], [true, true]), undefined);
});

test('hit, precision and the expected hit rate of random picks', (t) => {
  const truth = new Set([3, 5]);
  t.is(hit([1, 5], truth), 1);
  t.is(hit([1, 2], truth), 0);
  t.is(precision([1, 5], truth), 0.5);
  t.is(precision([], truth), 0);
  t.is(randomHitRate(4, 1, 1), 0.25);
  t.is(randomHitRate(4, 1, 2), 0.5);
  // 1 - C(2,2)/C(4,2) = 1 - 1/6
  t.true(Math.abs(randomHitRate(4, 2, 2) - 5 / 6) < 1e-12);
  t.is(randomHitRate(4, 3, 2), 1);
  t.is(randomHitRate(4, 0, 2), 0);
});

test('popularity picks the most popular, ties in candidate order', (t) => {
  const pop = new Map([[10, 5], [11, 9], [12, 5], [13, 1]]);
  t.deepEqual(popularityChoice([10, 11, 12, 13], (id) => pop.get(id) ?? 0, 2), [11, 10]);
  t.deepEqual(popularityChoice([12, 11, 10, 13], (id) => pop.get(id) ?? 0, 2), [11, 12]);
});

test('agreement of the LLM, random and popularity on the same requests', (t) => {
  const pop = (id: number) => [0, 4, 3, 2, 1][id % 5]!;
  const report = agreement(
    [
      // The LLM picks 2 (liked). Popularity picks 1 (not liked). AUC llm: 1; popularity of [1,2,3,4] = [4,3,2,1], liked {2}: 2/3.
      { candidates: [1, 2, 3, 4], truth: [2], preference: { chosen: [2], rewards: [0, 1, 0, 0] } },
      // The LLM picks 1 and 3, liked {3, 4}: hit, precision 1/2; AUC: positives 3 (1), 4 (0) vs negatives 1 (1), 2 (0) = (0.5 + 1 + 0 + 0.5) / 4 = 0.5.
      // Popularity picks 1, 2: no hit; AUC pop: positives 3 (2), 4 (1) vs 1 (4), 2 (3) = 0.
      { candidates: [1, 2, 3, 4], truth: [3, 4, 99], preference: { chosen: [1, 3], rewards: [1, 0, 1, 0] } },
      // Graded: scores via rewards; truth {5}: 5 has the top reward, AUC 1. Popularity of [5, 7, 8] = [0, 3, 2]: picks 7, AUC 0.
      { candidates: [5, 7, 8], truth: [5], preference: { chosen: [5], scores: [5, 2, 1], rewards: [1, 0.25, 0] } },
      // Skipped: no valid answer; and no liked candidate.
      { candidates: [1, 2], truth: [1] },
      { candidates: [1, 2], truth: [9], preference: { chosen: [1], rewards: [1, 0] } },
    ],
    pop,
  );
  t.is(report.skipped, 2);
  const close = (a: number, b: number) => t.true(Math.abs(a - b) < 1e-12, `${a} != ${b}`);
  t.is(report.llm.n, 3);
  close(report.llm.hitRate, 1);
  close(report.llm.precision, (1 + 0.5 + 1) / 3);
  close(report.llm.auc, (1 + 0.5 + 1) / 3);
  t.is(report.llm.aucN, 3);
  // Random: hit rates 1/4, 1 - C(2,2)/C(4,2) = 5/6, 1/3; precision p/k = 1/4, 2/4, 1/3.
  close(report.random.hitRate, (0.25 + 5 / 6 + 1 / 3) / 3);
  close(report.random.precision, (0.25 + 0.5 + 1 / 3) / 3);
  close(report.random.auc, 0.5);
  close(report.popularity!.hitRate, 0);
  close(report.popularity!.precision, 0);
  close(report.popularity!.auc, (2 / 3 + 0 + 0) / 3);
  t.is(agreement([{ candidates: [1], truth: [1] }]).llm.n, 0);
  t.true(Number.isNaN(agreement([]).llm.hitRate));
});
