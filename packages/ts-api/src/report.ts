// The experiment's report: a terminal table, CSV and JSON of every number, and
// one self-contained HTML page: settings, results and the run as tables, and SVG
// plots (paired differences against the best baseline, learning curves with 95%
// bands, A-iALP_ap's weights over time, a sweep's cells and the agreement sweep).

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { aucOverSeeds, cellLabel, DEFAULTS, meanCi, METHOD_INFO, type EnvResult, type ExperimentConfig, type Method, type MethodResult } from './experiment.js';
import { pairedDiff } from './stats.js';
import { writeFileAtomic } from './paths.js';
import { formatTable } from './table.js';

const COLORS = ['#888888', '#b07aa1', '#9c755f', '#edc948', '#4e79a7', '#76b7b2', '#bab0ac', '#59a14f', '#f28e2b', '#e15759'];
const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
const ci = (xs: number[]) => { const m = meanCi(xs); return `${f3(m.mean)} ± ${f3(m.ci95)}`; };

export function resultTable(r: EnvResult, early: number): string {
  return formatTable(
    ['method', `first ${early} episodes`, 'vs best baseline (paired)', 'all episodes', `last ${early}`, 'mean length', 'reward/step'],
    r.methods.map((m) => [m.method, ci(m.early), m.vsBest ? `${m.vsBest.mean >= 0 ? '+' : ''}${f3(m.vsBest.mean)} ± ${f3(m.vsBest.ci95)}` : '(best)', ci(m.overall), ci(m.final), meanCi(m.length).mean, meanCi(m.rewardPerStep).mean]),
  );
}

const signed = (d: { mean: number; ci95: number }) => `${d.mean >= 0 ? '+' : ''}${f3(d.mean)} ± ${f3(d.ci95)}`;

/**
 * A sweep's comparison, one table per environment and preference source: each
 * method's early return in every cell, and for every cell after the first its
 * paired difference against the first (by seed: on the seeds both cells ran).
 */
export function sweepTables(results: EnvResult[]): { title: string; table: string; env: string; source: string }[] {
  const groups = new Map<string, EnvResult[]>();
  for (const r of results.filter((x) => x.cell)) {
    const k = JSON.stringify([r.env, r.source]);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return [...groups.values()].map((cells) => {
    const [first] = cells;
    const header = ['method', ...cells.map((_, i) => `cell ${i + 1}`)];
    const rows = first!.methods.map((m0) => [m0.method, ...cells.map((c, i) => {
      const m = c.methods.find((x) => x.method === m0.method);
      if (!m) return 'n/a';
      if (i === 0) return ci(m.early);
      // paired by seed: the seeds both cells ran (a shard's, or a sweep over seeds)
      const at0 = new Map(first!.seeds.map((seed, j) => [seed, j]));
      const both = c.seeds.map((seed, j) => [j, at0.get(seed)] as const).filter(([, j0]) => j0 !== undefined);
      const d = pairedDiff(both.map(([j]) => m.early[j]!), both.map(([, j0]) => m0.early[j0!]!));
      return `${ci(m.early)} (${signed(d)})`;
    })]);
    const cellsText = cells.map((c, i) => `  cell ${i + 1}: ${cellLabel(c.cell!)}`).join('\n');
    return { env: first!.env, source: first!.source, title: `${first!.env}, preference source ${first!.source}`, table: `${cellsText}\n${formatTable(header, rows)}` };
  });
}

function cellsInfo(results: EnvResult[]): string {
  const methods = results[0]?.methods.map((m) => m.method) ?? [];
  return methods.map((m) => `<tr><td><b>${esc(m)}</b></td><td>${esc(METHOD_INFO[m])}</td></tr>`).join('');
}

/** About `n` round values covering [lo, hi] (steps of 1, 2 or 5 x 10^k). */
export function niceTicks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo) || !Number.isFinite(hi - lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((x) => x >= raw)!;
  const out: number[] = [];
  // from the round value at or below lo to the one at or above hi: the ticks cover the data
  for (let v = Math.floor(lo / step + 1e-9) * step; v < hi + step * (1 - 1e-9); v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  return out;
}

const tick = (v: number) => String(Number(v.toPrecision(4)));
/** The methods whose 95% band is drawn (the others are lines): the learnt ones and the best baseline. */
const banded = (m: Method, best: Method) => m === best || m === 'ialp' || m.startsWith('a-ialp');

/** Learning curves of one environment: mean return per window of episodes over seeds,
 * ticks on both axes, the early window shaded, a point's value on hover. */
export function curvesSvg(methods: MethodResult[], early: number, best: Method): string {
  const W = 640, H = 300, L = 48, R = 150, T = 14, B = 40;
  const window = Math.max(1, Math.floor(early / 2));
  const series = methods.map((m) => {
    const len = Math.min(...m.curves.map((c) => c.length));
    return Array.from({ length: Number.isFinite(len) ? len : 0 }, (_, i) => meanCi(m.curves.map((c) => c[i]!)));
  });
  const all = series.flat().flatMap((p) => [p.mean - (p.ci95 || 0), p.mean + (p.ci95 || 0)]).filter(Number.isFinite);
  const n = Math.max(1, ...series.map((x) => x.length));
  const x1 = n * window;
  const yt = niceTicks(Math.min(0, ...all), Math.max(...all, 1e-9));
  const [y0, y1] = [Math.min(yt[0]!, ...all), Math.max(yt.at(-1)!, ...all)];
  const x = (e: number) => L + (e / x1) * (W - L - R);
  const y = (v: number) => H - B - ((v - y0) / (y1 - y0 || 1)) * (H - T - B);
  const mid = (i: number) => i * window + window / 2;
  const grid = yt.map((v) => `<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/><text x="${L - 5}" y="${y(v) + 3}" font-size="10" text-anchor="end">${tick(v)}</text>`).join('')
    + niceTicks(0, x1, 6).map((v) => `<line x1="${x(v)}" x2="${x(v)}" y1="${H - B}" y2="${H - B + 4}" stroke="#333"/><text x="${x(v)}" y="${H - B + 15}" font-size="10" text-anchor="middle">${tick(v)}</text>`).join('');
  const earlyBox = `<rect x="${x(0)}" y="${T}" width="${x(Math.min(early, x1)) - x(0)}" height="${H - T - B}" fill="#f3f0e6"/><text x="${x(Math.min(early, x1)) - 3}" y="${T + 10}" font-size="9" fill="#8a7a4a" text-anchor="end">first ${early}</text>`;
  const parts = series.map((sr, k) => {
    if (sr.length === 0) return '';
    const m = methods[k]!.method, c = COLORS[k % COLORS.length];
    const band = banded(m, best)
      ? `<polygon points="${sr.map((p, i) => `${x(mid(i))},${y(p.mean + (p.ci95 || 0))}`).concat(sr.map((p, i) => `${x(mid(i))},${y(p.mean - (p.ci95 || 0))}`).reverse()).join(' ')}" fill="${c}" opacity="0.12"/>`
      : '';
    const line = `<polyline points="${sr.map((p, i) => `${x(mid(i))},${y(p.mean)}`).join(' ')}" fill="none" stroke="${c}" stroke-width="${banded(m, best) ? 2.2 : 1.2}"/>`;
    const dots = sr.map((p, i) => `<circle cx="${x(mid(i))}" cy="${y(p.mean)}" r="3" fill="${c}" opacity="0.01"><title>${esc(m)}, episodes ${i * window + 1}-${(i + 1) * window}: ${f3(p.mean)} ± ${f3(p.ci95)}</title></circle>`).join('');
    return band + line + dots;
  });
  const legend = methods.map((m, k) => `<line x1="${W - R + 8}" x2="${W - R + 22}" y1="${T + 6 + 14 * k}" y2="${T + 6 + 14 * k}" stroke="${COLORS[k % COLORS.length]}" stroke-width="${banded(m.method, best) ? 2.2 : 1.2}"/><text x="${W - R + 26}" y="${T + 10 + 14 * k}" font-size="11">${esc(m.method)}</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" role="img" font-family="system-ui,sans-serif">${earlyBox}${grid}<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#333"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#333"/>${parts.join('')}${legend}<text x="${(L + W - R) / 2}" y="${H - 6}" font-size="11" text-anchor="middle">online episode (users in the order they arrived; mean of ${window}-episode windows)</text><text x="12" y="${(T + H - B) / 2}" font-size="11" transform="rotate(-90 12 ${(T + H - B) / 2})" text-anchor="middle">mean return</text></svg>`;
}

/** Each method's early return minus the best baseline's, paired by seed, with its 95% interval. */
export function pairedSvg(r: EnvResult): string {
  const rows = r.methods.filter((m) => m.vsBest);
  if (rows.length === 0) return '';
  const W = 640, L = 130, R = 20, T = 10, row = 18, H = T + rows.length * row + 34;
  const ends = rows.flatMap((m) => [m.vsBest!.mean - (m.vsBest!.ci95 || 0), m.vsBest!.mean + (m.vsBest!.ci95 || 0)]).filter(Number.isFinite);
  const xt = niceTicks(Math.min(0, ...ends), Math.max(0, ...ends));
  const [a, b] = [Math.min(xt[0]!, ...ends), Math.max(xt.at(-1)!, ...ends)];
  const x = (v: number) => L + ((v - a) / (b - a || 1)) * (W - L - R);
  const body = rows.map((m, i) => {
    const d = m.vsBest!, yy = T + i * row + row / 2;
    const lo = d.mean - (d.ci95 || 0), hi = d.mean + (d.ci95 || 0);
    const c = lo > 0 ? '#2e7d32' : hi < 0 ? '#c62828' : '#555';
    return `<text x="${L - 8}" y="${yy + 4}" font-size="11" text-anchor="end">${esc(m.method)}</text><line x1="${x(lo)}" x2="${x(hi)}" y1="${yy}" y2="${yy}" stroke="${c}" stroke-width="2"/><circle cx="${x(d.mean)}" cy="${yy}" r="4" fill="${c}"><title>${esc(m.method)} minus ${esc(d.baseline)}: ${signed(d)}</title></circle>`;
  }).join('');
  const axisY = T + rows.length * row + 4;
  const ticksSvg = xt.map((v) => `<line x1="${x(v)}" x2="${x(v)}" y1="${T}" y2="${axisY}" stroke="${v === 0 ? '#999' : '#eee'}"/><text x="${x(v)}" y="${axisY + 12}" font-size="10" text-anchor="middle">${tick(v)}</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" role="img" font-family="system-ui,sans-serif">${ticksSvg}${body}<text x="${(L + W - R) / 2}" y="${H - 4}" font-size="11" text-anchor="middle">early return minus ${esc(r.bestBaseline)}'s, paired by seed (dot: mean; bar: 95% interval)</text></svg>`;
}

function weightsSvg(m: MethodResult | undefined): string {
  if (!m?.trace?.length) return '<p>No adaptive run.</p>';
  const t = m.trace, W = 560, H = 200, P = 40;
  const x = (i: number) => P + (i / Math.max(1, t.length - 1)) * (W - 2 * P);
  // weights are realised rewards on the 0-1 scale, the share a fraction
  const y = (v: number) => H - P - Math.min(1, Math.max(0, v)) * (H - 2 * P);
  const line = (f: (p: (typeof t)[number]) => number, c: string, what: string) =>
    `<polyline points="${t.map((p, i) => `${x(i)},${y(f(p))}`).join(' ')}" fill="none" stroke="${c}" stroke-width="2"><title>${what}: ${f3(f(t.at(-1)!))} after update ${t.at(-1)!.updates}</title></polyline>`;
  const grid = niceTicks(0, 1, 4).map((v) => `<line x1="${P}" x2="${W - P}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/><text x="${P - 5}" y="${y(v) + 3}" font-size="10" text-anchor="end">${tick(v)}</text>`).join('')
    + niceTicks(0, t.length - 1, 6).map((i) => `<text x="${x(i)}" y="${H - P + 14}" font-size="10" text-anchor="middle">${tick(t[Math.round(i)]?.updates ?? i)}</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W + 160}" height="${H}" role="img" font-family="system-ui,sans-serif">${grid}<line x1="${P}" y1="${H - P}" x2="${W - P}" y2="${H - P}" stroke="#333"/><line x1="${P}" y1="${P}" x2="${P}" y2="${H - P}" stroke="#333"/>${line((p) => p.weightPretrained, '#e15759', 'w pi_0')}${line((p) => p.weightOnline, '#4e79a7', 'w pi_1')}${line((p) => p.sharePretrained, '#59a14f', "share of pi_0's proposals")}<text x="${W - P + 6}" y="${P}" font-size="11" fill="#e15759">w pi_0 (realised reward)</text><text x="${W - P + 6}" y="${P + 14}" font-size="11" fill="#4e79a7">w pi_1</text><text x="${W - P + 6}" y="${P + 28}" font-size="11" fill="#59a14f">share of pi_0's proposals</text><text x="${W / 2}" y="${H - 8}" font-size="11" text-anchor="middle">update (first seed)</text></svg>`;
}

/**
 * The agreement sweep of one environment: each method's mean early return
 * (y) against the preference source's measured agreement with users (x, the
 * AUC of its labels against ground truth), one point per source.
 */
export function agreementSvg(cells: EnvResult[], early: number): string {
  const W = 620, H = 320, L = 50, R = 190, T = 20, B = 46;
  const pts = cells.map((c) => ({ x: c.llm.auc, ys: c.methods.map((m) => meanCi(m.early).mean) })).filter((p) => Number.isFinite(p.x)).sort((a, b) => a.x - b.x);
  if (pts.length === 0) return '';
  const methods = cells[0]!.methods.map((m) => m.method);
  const ys = pts.flatMap((p) => p.ys).filter(Number.isFinite);
  const hi = Math.max(1e-9, ...ys) * 1.05;
  const x = (v: number) => L + v * (W - L - R);
  const y = (v: number) => H - B - (v / hi) * (H - T - B);
  const ticks = (n: number, max: number) => Array.from({ length: n + 1 }, (_, i) => (i * max) / n);
  const grid = ticks(5, hi).map((v) => `<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/><text x="${L - 5}" y="${y(v) + 3}" font-size="10" text-anchor="end">${v.toFixed(v < 10 ? 1 : 0)}</text>`).join('')
    + ticks(5, 1).map((v) => `<text x="${x(v)}" y="${H - B + 14}" font-size="10" text-anchor="middle">${v.toFixed(1)}</text>`).join('');
  const lines = methods.map((m, k) => {
    const p = pts.map((q) => `${x(q.x)},${y(q.ys[k]!)}`).join(' ');
    const dots = pts.map((q) => `<circle cx="${x(q.x)}" cy="${y(q.ys[k]!)}" r="2.5" fill="${COLORS[k % COLORS.length]}"><title>${esc(m)}: ${f3(q.ys[k]!)} at agreement ${f3(q.x)}</title></circle>`).join('');
    return `<polyline points="${p}" fill="none" stroke="${COLORS[k % COLORS.length]}" stroke-width="${m.startsWith('a-ialp') || m === 'ialp' ? 2.5 : 1.2}"/>${dots}<text x="${W - R + 8}" y="${T + 12 + 14 * k}" font-size="11" fill="${COLORS[k % COLORS.length]}">${esc(m)}</text>`;
  }).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" role="img" font-family="system-ui,sans-serif"><rect width="${W}" height="${H}" fill="white"/>${grid}<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#333"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#333"/><line x1="${x(0.5)}" y1="${T}" x2="${x(0.5)}" y2="${H - B}" stroke="#999" stroke-dasharray="3 3"/><text x="${x(0.5) + 3}" y="${T + 10}" font-size="9" fill="#666">chance</text>${lines}<text x="${(L + W - R) / 2}" y="${H - 8}" font-size="11" text-anchor="middle">agreement of the preference source with users (AUC of its labels)</text><text x="12" y="${(T + H - B) / 2}" font-size="11" transform="rotate(-90 12 ${(T + H - B) / 2})" text-anchor="middle">mean return, first ${early} episodes</text><text x="${L}" y="${T - 6}" font-size="11">${esc(cells[0]!.env)}</text></svg>`;
}

const td = (x: string | number, cls = '') => `<td${cls ? ` class="${cls}"` : ''}>${esc(String(x))}</td>`;

/** The result table as HTML: each method's returns with intervals and its paired difference. */
function htmlTable(r: EnvResult, early: number): string {
  const head = ['method', `first ${early} episodes`, 'vs best baseline (paired)', 'all episodes', `last ${early}`, 'mean length', 'reward/step'];
  const rows = r.methods.map((m) => `<tr${m.method === r.bestBaseline ? ' class="best"' : ''}>${td(m.method)}${td(ci(m.early), 'n')}${td(m.vsBest ? signed(m.vsBest) : '(best baseline)', 'n')}${td(ci(m.overall), 'n')}${td(ci(m.final), 'n')}${td(meanCi(m.length).mean.toFixed(2), 'n')}${td(meanCi(m.rewardPerStep).mean.toFixed(3), 'n')}</tr>`);
  return `<table><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>${rows.join('')}</table>`;
}

type Meta = Record<string, unknown> & {
  config?: ExperimentConfig; seconds?: number; phaseSeconds?: Record<string, number>; version?: string; backend?: string;
  machine?: Record<string, unknown>; computed?: { seconds: number; phaseSeconds: Record<string, number>; at: string };
};

/** The experiment's settings as they ran: each given value, else the default, said so. */
export function settingsRows(config: ExperimentConfig): [string, string, string][] {
  const rows: [string, string, string][] = [];
  const add = (name: string, given: unknown, dflt: unknown) =>
    rows.push([name, given === undefined ? (typeof dflt === 'string' ? dflt : JSON.stringify(dflt)) : typeof given === 'string' ? given : JSON.stringify(given), given === undefined ? 'default' : 'given']);
  add('environments', config.envs, DEFAULTS.envs);
  add('preference sources', config.llm, DEFAULTS.llm);
  add('seeds', config.seeds, DEFAULTS.seeds);
  const d = DEFAULTS.distill;
  add('distillation', config.distill, `oracle: ${d.oracle.requests} requests of ${d.oracle.candidates} candidates over up to ${d.oracle.users} training users; an LLM: ${d.llm.users} users x ${d.llm.statesPerUser} state x ${d.llm.candidates} candidates`);
  for (const [k, v] of Object.entries(DEFAULTS.pretrain)) add(`pretrain.${k}`, config.pretrain?.[k as keyof typeof DEFAULTS.pretrain], v);
  if (config.pretrain?.worldEntropyCoef !== undefined) add('pretrain.worldEntropyCoef', config.pretrain.worldEntropyCoef, null);
  add('online.episodes', config.online?.episodes, DEFAULTS.online.episodes);
  add('online.batchSize', config.online?.batchSize, DEFAULTS.online.batchSize);
  add('earlyEpisodes', config.earlyEpisodes, DEFAULTS.earlyEpisodes);
  add('deploy (frozen policies)', config.deploy, DEFAULTS.deploy);
  for (const [k, v] of Object.entries(DEFAULTS.adaptive)) add(`adaptive.${k}`, (config.adaptive as Record<string, unknown> | undefined)?.[k], v);
  add('compute', config.compute, 'ndarray');
  if (config.sweep) for (const [k, v] of Object.entries(config.sweep)) rows.push([`sweep: ${k}`, JSON.stringify(v), 'given']);
  return rows;
}

function settingsTable(meta: Meta): string {
  const rows = settingsRows(meta.config ?? {});
  return `<table><tr><th>setting</th><th>value</th><th></th></tr>${rows.map(([k, v, n]) => `<tr>${td(k)}${td(v)}<td class="muted">${n}</td></tr>`).join('')}</table>`;
}

const secs = (x: number | undefined) => (x === undefined ? 'n/a' : x >= 60 ? `${Math.floor(x / 60)} min ${(x % 60).toFixed(0)} s` : `${x.toFixed(1)} s`);

/** One line on top: what ran, and how long the computation took. */
function summaryLine(results: EnvResult[], meta: Meta): string {
  const envs = [...new Set(results.map((r) => r.env))].join(', ');
  const models = [...new Set(results.map((r) => r.llm.model))].join(', ');
  const seeds = results[0]?.methods[0]?.early.length ?? 0;
  const c = meta.computed;
  return `<p>${esc(envs)}; preference source ${esc(models)}; ${seeds} seeds. Computed in ${secs(c?.seconds ?? meta.seconds)}${c && meta.seconds !== undefined && c.seconds !== meta.seconds ? ` (${esc(c.at)}; this report assembled from the phase cache in ${secs(meta.seconds)})` : ''} on ${esc(String(meta.machine?.cpu ?? 'this machine'))}.</p>`;
}

function runTable(meta: Meta): string {
  const m = meta.machine ?? {};
  const c = meta.computed;
  const rows: [string, string][] = [
    ['ialp (core)', String(meta.version ?? 'n/a')],
    ['backend', String(meta.backend ?? 'n/a')],
    ['machine', `${m.cpu ?? 'n/a'}, ${m.cores ?? '?'} cores, ${m.memoryGiB ?? '?'} GiB, ${m.platform ?? ''}`],
    ['Node.js', String(m.node ?? 'n/a')],
    // the last run that computed phases here: a resumed run or an added cell records its own part
    ['computed (the last run that computed phases here)', c ? `${secs(c.seconds)} wall, ${c.at} (${Object.entries(c.phaseSeconds).map(([k, v]) => `${k} ${secs(v)}`).join(', ')})` : 'n/a'],
    ['this run', `${secs(meta.seconds)} wall (${Object.entries(meta.phaseSeconds ?? {}).map(([k, v]) => `${k} ${secs(v)}`).join(', ')})`],
  ];
  if (meta.shard) rows.push(['shard', JSON.stringify(meta.shard)]);
  return `<table>${rows.map(([k, v]) => `<tr>${td(k)}${td(v)}</tr>`).join('')}</table><details><summary>the run's metadata as JSON</summary><pre>${esc(JSON.stringify(meta, null, 2))}</pre></details>`;
}

/** Writes results.json, results.csv and report.html into `dir`; returns their paths. */
export async function writeReport(dir: string, results: EnvResult[], meta: Meta, early: number): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const json = join(dir, 'results.json');
  await writeFileAtomic(json, new TextEncoder().encode(JSON.stringify({ meta, results }, null, 2)));
  // a sweep's cell is one more column (its fields in words), absent without one
  const swept = results.some((r) => r.cell);
  const rows = [`env,source,${swept ? 'cell,' : ''}method,seed,early_return,overall_return,final_return,mean_length,reward_per_step`];
  for (const r of results) for (const m of r.methods) m.early.forEach((_, s) => rows.push([r.env, JSON.stringify(r.source), ...(swept ? [JSON.stringify(cellLabel(r.cell ?? {}))] : []), m.method, r.seeds[s]! - 1000, m.early[s], m.overall[s], m.final[s], m.length[s], m.rewardPerStep[s]].join(',')));
  const csv = join(dir, 'results.csv');
  await writeFileAtomic(csv, new TextEncoder().encode(rows.join('\n') + '\n'));
  // the agreement sweep, one picture per environment with several sources
  const sweeps: string[] = [];
  const files: string[] = [];
  for (const env of [...new Set(results.map((r) => r.env))]) {
    // the sources of one cell of a sweep (the agreement axis); sweeps of other fields have their table
    const cells = results.filter((r) => r.env === env && (!r.cell || cellLabel(r.cell) === cellLabel(results[0]!.cell ?? {})));
    if (new Set(cells.map((c) => c.source)).size < 2) continue;
    const svg = agreementSvg(cells, early);
    const f = join(dir, `agreement-${env}.svg`);
    await writeFileAtomic(f, new TextEncoder().encode(svg + '\n'));
    files.push(f);
    sweeps.push(`<h2>${esc(env)}: early return against the preference source's agreement</h2>${svg}`);
  }
  const legend = `<h2>Methods</h2><table>${cellsInfo(results)}</table>`;
  const sweepHtml = swept
    ? `<h2>Sweep: early return per cell</h2><p>Mean return of the first ${early} episodes ± 95% CI; in brackets, paired by seed, minus the first cell.</p>${sweepTables(results).map((t) => `<h3>${esc(t.title)}</h3><pre>${esc(t.table)}</pre>`).join('')}`
    : '';
  const sections = results.map((r) => `<h2>${esc(r.env)}${r.cell ? ` {${esc(cellLabel(r.cell))}}` : ''}, preference source ${esc(r.source)}</h2>
<p>Preference source <b>${esc(r.llm.model)}</b>: agreement with ground truth on the training users' prompts: AUC ${f3(r.llm.auc)}, hit rate ${f3(r.llm.hitRate)} (random ${f3(r.llm.randomHitRate)}, popularity ${f3(r.llm.popularityHitRate)}); ${r.llm.failures} of ${r.llm.requests} prompts failed.
r_phi on ${r.rewardModel.requests} held-out users' requests: AUC <b>${esc(aucOverSeeds(r.rewardModel))}</b>, hit rate ${f3(r.rewardModel.hitRate)} (${r.rewardModel.examples} training examples; one fit per seed); the logs' reward model: AUC ${esc(aucOverSeeds(r.logsRewardModel))}.</p>
${htmlTable(r, r.earlyEpisodes)}
<h3>Early return against the best baseline (${esc(r.bestBaseline)}), paired by seed</h3>${pairedSvg(r)}
<h3>Online learning curves (mean over seeds; 95% band for the learnt methods and the best baseline; hover a point for its value)</h3>${curvesSvg(r.methods, r.earlyEpisodes, r.bestBaseline)}
<h3>A-iALP_ap: adaptation over time</h3>${weightsSvg(r.methods.find((m) => m.method === 'a-ialp-ap'))}`).join('\n');
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>ialp experiment</title>
<style>body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}pre{background:#f6f6f6;padding:.6em;overflow:auto}
table{border-collapse:collapse;font-size:13px;margin:.4em 0}td,th{border-bottom:1px solid #e4e4e4;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f6f6f6}td.n{text-align:right;font-variant-numeric:tabular-nums}tr.best td{font-weight:600}.muted{color:#777}</style></head>
<body><h1>ialp experiment</h1>${summaryLine(results, meta)}<h2>Settings</h2>${settingsTable(meta)}${legend}${sweepHtml}${sweeps.join('\n')}${sections}<h2>Run</h2>${runTable(meta)}</body></html>
`;
  const page = join(dir, 'report.html');
  await writeFileAtomic(page, new TextEncoder().encode(html));
  return [page, json, csv, ...files];
}
