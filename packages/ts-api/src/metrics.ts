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
