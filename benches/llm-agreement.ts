// How well an LLM's preferences agree with the simulator's ground truth, per distillation
// mode, on MovieLens requests: the per-request AUC (as `agreement()` computes it: liked =
// the top third of the candidates by ground truth, ties counting one half) with a 95%
// t-interval over requests, the paired difference of each mode against the choice prompt,
// and the prompts/s of each mode on a fresh cache.
//
//   node --import=tsx benches/llm-agreement.ts [--requests 200] [--candidates 10] [--history 10]
//     [--modes choice,choice-perm3,pointwise] [--llm default] [--threads 1] [--concurrency 2]
//     [--seed 0] [--env movielens] [--cache FILE] [--json FILE]
//
// Each mode asks on its own fresh in-memory cache (so prompts/s is the model's), unless
// --cache names a file to reuse. The requests are built as `distillPreferences` builds them.

import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { PreferenceCache, auc, distill, resolveLlm, type DistillMode, type LlmBackend, type PreferenceRequest } from '../packages/ts-api/src/llm/index.js';
import { World, type EnvPreferenceRequest } from '../packages/ts-api/src/world.js';

const PAD = 0xffffffff;

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '200' },
    candidates: { type: 'string', default: '10' },
    history: { type: 'string', default: '10' },
    modes: { type: 'string', default: 'choice,choice-perm3,pointwise' },
    llm: { type: 'string', default: 'default' },
    threads: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '2' },
    seed: { type: 'string', default: '0' },
    env: { type: 'string', default: 'movielens' },
    cache: { type: 'string' },
    json: { type: 'string' },
  },
});
const n = Number(values.requests);
const k = Number(values.candidates);
const history = Number(values.history);
const concurrency = Number(values.concurrency);
const seed = Number(values.seed);

/** A mode name: `choice`, `choice-permN` (N orders averaged) or `pointwise`. */
function parseMode(name: string): { mode: DistillMode; permutations: number } {
  if (name === 'pointwise') return { mode: 'pointwise', permutations: 1 };
  const m = /^choice(?:-perm(\d+))?$/.exec(name);
  if (!m) throw new Error(`--modes: unknown mode ${name} (choice, choice-permN, pointwise)`);
  return { mode: 'choice', permutations: m[1] ? Number(m[1]) : 1 };
}

// as distillPreferences words the logged feedback
function feedbackText(r: number): string {
  if (r >= 0.75) return 'loved it';
  if (r >= 0.55) return 'liked it';
  if (r >= 0.35) return 'it was ok';
  return 'disliked it';
}

/** Student's t quantile by the Cornish-Fisher expansion in 1/df (within 1e-3 of exact for df >= 10). */
function tQuantile975(df: number): number {
  const z = 1.959963984540054;
  const z3 = z ** 3, z5 = z ** 5, z7 = z ** 7;
  return z + (z3 + z) / (4 * df) + (5 * z5 + 16 * z3 + 3 * z) / (96 * df ** 2) + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * df ** 3);
}

function meanCi(xs: readonly number[]): { mean: number; lo: number; hi: number; n: number } {
  const m = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / m;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (m - 1));
  const half = tQuantile975(m - 1) * sd / Math.sqrt(m);
  return { mean, lo: mean - half, hi: mean + half, n: m };
}

const world = await World.load({ name: values.env }, 'auto');
// a few more users than requests: some have no logged history
const env: EnvPreferenceRequest[] = world
  .preferenceRequests({ users: Math.ceil(n * 1.1) + 5, candidates: k, history, seed, pool: 'train' })
  .slice(0, n);
if (env.length < n) console.error(`only ${env.length} requests available (asked for ${n})`);
const prompts: PreferenceRequest[] = env.map((r) => ({
  state: {
    history: r.histItems.flatMap((it, j) => (it === PAD ? [] : [{ text: world.itemText(it), feedback: r.histRewards[j]!, feedbackText: feedbackText(r.histRewards[j]!) }])),
  },
  candidates: r.candidates.map((id) => ({ id, text: world.itemText(id) })),
}));
const positives = env.map((r) => {
  const m = Math.max(1, Math.ceil(r.candidates.length / 3));
  const top = new Set(r.candidates.map((c, i) => [c, r.truth[i]!] as const).sort((a, b) => b[1] - a[1]).slice(0, m).map(([c]) => c));
  return r.candidates.map((c) => top.has(c));
});

const backend: LlmBackend = await resolveLlm(values.llm, { concurrency, threads: Number(values.threads) });
console.error(`model ${backend.id}; ${env.length} ${values.env} requests, K = ${k}, H = ${history}`);
interface Row { mode: string; aucs: (number | undefined)[]; failures: number; promptsPerSecond: number; seconds: number; fellBack: number; firstListed?: number }
const rows: Row[] = [];
try {
  for (const name of values.modes.split(',')) {
    const { mode, permutations } = parseMode(name);
    const cache = new PreferenceCache(values.cache ?? ':memory:');
    const t0 = performance.now();
    let last = 0;
    const out = await distill(prompts, {
      backend,
      cache,
      mode,
      permutations,
      seed,
      concurrency,
      onProgress: (p) => {
        if (p.done - last >= 25 || p.done === p.total) {
          last = p.done;
          console.error(`  ${name}: ${p.done}/${p.total}, ${p.promptsPerSecond.toFixed(2)} requests/s`);
        }
      },
    });
    cache.close();
    const seconds = (performance.now() - t0) / 1000;
    const aucs = out.results.map((r, i) => (r.preference ? auc(r.preference.rewards, positives[i]!) : undefined));
    rows.push({
      mode: name,
      aucs,
      failures: out.summary.failures,
      promptsPerSecond: out.summary.promptsPerSecond,
      seconds,
      fellBack: out.results.filter((r) => r.mode !== mode).length,
      // the position bias of one order: how often the best pick is the first-listed candidate
      ...(mode === 'choice' && permutations === 1
        ? { firstListed: out.results.filter((r, i) => r.preference?.chosen[0] === env[i]!.candidates[0]).length / out.results.filter((r) => r.preference).length }
        : {}),
    });
  }
} finally {
  await backend.close();
}

// a reference row: the candidates' popularity in the logs as the score (no LLM)
rows.push({ mode: 'popularity (no LLM)', aucs: env.map((r, i) => auc(r.popularity, positives[i]!)), failures: 0, promptsPerSecond: NaN, seconds: 0, fellBack: 0 });
const f3 = (x: number) => x.toFixed(3);
console.log(`\n${backend.id}, ${values.env}, ${env.length} requests (training users), K = ${k}, H = ${history}, seed ${seed}`);
console.log('liked = the top third of a request\'s candidates by ground truth; AUC per request, ties one half; 95% t-interval over requests\n');
console.log('| mode | requests scored | failed | mean AUC | 95% CI | above chance? | vs choice (paired) | requests/s | seconds |');
console.log('|---|---|---|---|---|---|---|---|---|');
const base = rows.find((r) => r.mode === 'choice');
const summary = rows.map((r) => {
  const scored = r.aucs.filter((a): a is number => a !== undefined);
  const ci = meanCi(scored);
  const verdict = ci.lo > 0.5 ? 'yes' : ci.hi < 0.5 ? 'below' : 'no';
  let diff: ReturnType<typeof meanCi> | undefined;
  if (base && base !== r) {
    const d = r.aucs.flatMap((a, i) => (a !== undefined && base.aucs[i] !== undefined ? [a - base.aucs[i]!] : []));
    if (d.length > 1) diff = meanCi(d);
  }
  const vs = diff ? `${diff.mean >= 0 ? '+' : ''}${f3(diff.mean)} [${f3(diff.lo)}, ${f3(diff.hi)}]` : '-';
  const fell = r.fellBack ? ` (${r.fellBack} fell back to choice)` : '';
  const rate = Number.isNaN(r.promptsPerSecond) ? '-' : r.promptsPerSecond.toFixed(2);
  console.log(`| ${r.mode}${fell} | ${ci.n} | ${r.failures} | ${f3(ci.mean)} | [${f3(ci.lo)}, ${f3(ci.hi)}] | ${verdict} | ${vs} | ${rate} | ${r.seconds.toFixed(0)} |`);
  return { mode: r.mode, ...(r.firstListed === undefined ? {} : { firstListed: r.firstListed }), requests: ci.n, failures: r.failures, auc: ci.mean, ci95: [ci.lo, ci.hi], vsChoice: diff ? { mean: diff.mean, ci95: [diff.lo, diff.hi] } : null, requestsPerSecond: r.promptsPerSecond, seconds: r.seconds };
});
for (const r of rows) {
  if (r.firstListed !== undefined) console.log(`\n${r.mode}: the first pick is the first-listed candidate in ${(100 * r.firstListed).toFixed(0)}% of the answers (${(100 / k).toFixed(0)}% without a position bias)`);
}
console.log('requests/s: on this run\'s fresh cache (0 where every answer came from --cache)');
if (values.json) await writeFile(values.json, JSON.stringify({ model: backend.id, env: values.env, requests: env.length, k, history, seed, rows: summary }, null, 2));
