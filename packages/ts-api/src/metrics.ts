/** A finished episode. */
export interface Episode {
  slot: number;
  user: number;
  totalReward: number;
  length: number;
}

export function episodesFromFlat(flat: Float64Array): Episode[] {
  const out: Episode[] = [];
  for (let i = 0; i + 3 < flat.length; i += 4) {
    out.push({ slot: flat[i]!, user: flat[i + 1]!, totalReward: flat[i + 2]!, length: flat[i + 3]! });
  }
  return out;
}

/**
 * Online episodes, given in the order they finished on `slots` slots that each
 * run their users back to back (as training does), put in the order the users
 * arrived, keeping only those that started before the first unfinished one
 * did. In finish order the first episodes are biased short (the short ones
 * end first), so "the first N episodes" would not be the first N users
 * served; in arrival order, of these, they are.
 */
export function inArrivalOrder(episodes: readonly Episode[], slots: number): Episode[] {
  const clock = new Array<number>(slots).fill(0);
  const started = episodes.map((e, i) => {
    if (!(e.slot >= 0 && e.slot < slots)) throw new RangeError(`episode ${i}: slot ${e.slot} is not below the ${slots} slots`);
    const start = clock[e.slot]!;
    clock[e.slot] = start + e.length;
    return { e, start };
  });
  // every slot's unfinished episode started at its clock: all that started before the earliest of those finished
  const cut = Math.min(...clock);
  return started.filter((x) => x.start < cut).sort((a, b) => a.start - b.start || a.e.slot - b.e.slot).map((x) => x.e);
}

export interface Summary {
  episodes: number;
  /** Mean cumulative reward per episode. */
  meanReturn: number;
  /** Half-width of the 95% confidence interval of the mean return (normal approximation). */
  returnCi95: number;
  meanLength: number;
  /** Total reward / total steps. */
  rewardPerStep: number;
}

export function summarize(eps: readonly Episode[]): Summary {
  const n = eps.length;
  if (n === 0) return { episodes: 0, meanReturn: NaN, returnCi95: NaN, meanLength: NaN, rewardPerStep: NaN };
  let sr = 0, sl = 0;
  for (const e of eps) { sr += e.totalReward; sl += e.length; }
  const mean = sr / n;
  let ss = 0;
  for (const e of eps) ss += (e.totalReward - mean) ** 2;
  const sd = n > 1 ? Math.sqrt(ss / (n - 1)) : 0;
  return { episodes: n, meanReturn: mean, returnCi95: 1.96 * sd / Math.sqrt(n), meanLength: sl / n, rewardPerStep: sl > 0 ? sr / sl : NaN };
}

/** Mean return over consecutive windows of `size` episodes: an online learning curve. */
export function learningCurve(eps: readonly Episode[], size: number): { episodes: number; meanReturn: number; meanLength: number }[] {
  const out = [];
  for (let i = 0; i + size <= eps.length; i += size) {
    const s = summarize(eps.slice(i, i + size));
    out.push({ episodes: i + size, meanReturn: s.meanReturn, meanLength: s.meanLength });
  }
  return out;
}
