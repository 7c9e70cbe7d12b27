// How well the LLM's choices agree with held-out ground truth, next to what random and
// popularity choices would score on the same requests.
import type { Preference } from './prompt.js';

/** One request judged against ground truth. */
export interface Judgement {
  /** Candidate ids, in request order. */
  candidates: readonly number[];
  /** Ids the user is known to have liked (ids outside `candidates` are ignored). */
  truth: readonly number[];
  /** The LLM's preference; absent when it gave no valid answer. */
  preference?: Preference;
}

export interface AgreementMetrics {
  /** Requests scored for hit rate and precision. */
  n: number;
  /** Share of requests where at least one chosen candidate is in the truth set. */
  hitRate: number;
  /** Mean share of chosen candidates that are in the truth set. */
  precision: number;
  /** Mean per-request ROC AUC of the scores (ties count one half); NaN when no request has both classes. */
  auc: number;
  /** Requests scored for AUC (both liked and not-liked candidates present). */
  aucN: number;
}

export interface AgreementReport {
  llm: AgreementMetrics;
  /** Expected values of choosing as many candidates uniformly at random. */
  random: AgreementMetrics;
  /** Choosing the most popular candidates (present when popularity is given). */
  popularity?: AgreementMetrics;
  /** Requests left out: no valid LLM answer, or no liked candidate. */
  skipped: number;
}

/** 1 if any chosen id is in the truth set, else 0. */
export function hit(chosen: readonly number[], truth: ReadonlySet<number>): number {
  return chosen.some((c) => truth.has(c)) ? 1 : 0;
}

/** Share of chosen ids in the truth set (0 for an empty choice). */
export function precision(chosen: readonly number[], truth: ReadonlySet<number>): number {
  return chosen.length === 0 ? 0 : chosen.filter((c) => truth.has(c)).length / chosen.length;
}

/**
 * ROC AUC of `scores` for the labels `positive`: the chance that a random positive scores
 * above a random negative, ties counting one half. Undefined without both classes.
 */
export function auc(scores: readonly number[], positive: readonly boolean[]): number | undefined {
  let pairs = 0;
  let wins = 0;
  for (let i = 0; i < scores.length; i++) {
    if (!positive[i]) continue;
    for (let j = 0; j < scores.length; j++) {
      if (positive[j]) continue;
      pairs++;
      if (scores[i]! > scores[j]!) wins += 1;
      else if (scores[i] === scores[j]) wins += 0.5;
    }
  }
  return pairs === 0 ? undefined : wins / pairs;
}

/** Expected hit rate of `m` distinct random picks among `k` candidates of which `p` are liked: 1 - C(k-p, m) / C(k, m). */
export function randomHitRate(k: number, p: number, m: number): number {
  if (m <= 0 || p <= 0) return 0;
  if (k - p < m) return 1;
  // C(k-p, m) / C(k, m) = prod_{i<m} (k-p-i) / (k-i)
  let miss = 1;
  for (let i = 0; i < m; i++) miss *= (k - p - i) / (k - i);
  return 1 - miss;
}

/** The `m` most popular candidates, ties broken by candidate order. */
export function popularityChoice(candidates: readonly number[], popularity: (id: number) => number, m: number): number[] {
  return candidates
    .map((id, i) => ({ id, i, pop: popularity(id) }))
    .sort((a, b) => b.pop - a.pop || a.i - b.i)
    .slice(0, m)
    .map((c) => c.id);
}

/**
 * Agreement of the LLM with ground truth (hit rate, precision, AUC), and of random and
 * popularity choices of the same size on the same requests. AUC uses the graded scores
 * when the LLM gave them, else chosen = 1 / not chosen = 0.
 */
export function agreement(judgements: readonly Judgement[], popularity?: (id: number) => number): AgreementReport {
  const acc = () => ({ n: 0, hit: 0, prec: 0, aucSum: 0, aucN: 0 });
  const llm = acc();
  const rnd = acc();
  const pop = acc();
  let skipped = 0;
  for (const j of judgements) {
    const truth = new Set(j.truth);
    const positive = j.candidates.map((c) => truth.has(c));
    const p = positive.filter(Boolean).length;
    const pref = j.preference;
    if (!pref || p === 0) {
      skipped++;
      continue;
    }
    const k = j.candidates.length;
    const m = pref.chosen.length;
    llm.n++;
    llm.hit += hit(pref.chosen, truth);
    llm.prec += precision(pref.chosen, truth);
    const a = auc(pref.rewards, positive);
    rnd.n++;
    rnd.hit += randomHitRate(k, p, m);
    rnd.prec += m === 0 ? 0 : p / k;
    if (a !== undefined) {
      llm.aucSum += a;
      llm.aucN++;
      rnd.aucSum += 0.5;
      rnd.aucN++;
    }
    if (popularity) {
      const chosen = popularityChoice(j.candidates, popularity, m);
      pop.n++;
      pop.hit += hit(chosen, truth);
      pop.prec += precision(chosen, truth);
      const pa = auc(j.candidates.map(popularity), positive);
      if (pa !== undefined) {
        pop.aucSum += pa;
        pop.aucN++;
      }
    }
  }
  const finish = (s: ReturnType<typeof acc>): AgreementMetrics => ({
    n: s.n,
    hitRate: s.n ? s.hit / s.n : NaN,
    precision: s.n ? s.prec / s.n : NaN,
    auc: s.aucN ? s.aucSum / s.aucN : NaN,
    aucN: s.aucN,
  });
  return { llm: finish(llm), random: finish(rnd), ...(popularity ? { popularity: finish(pop) } : {}), skipped };
}
