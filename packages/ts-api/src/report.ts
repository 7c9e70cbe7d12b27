// The experiment's report: a terminal table, CSV and JSON of every number, and
// one self-contained HTML page with SVG plots (learning curves with 95% bands,
// early-phase bars, A-iALP_ap's weights over time).

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { meanCi, METHOD_INFO, type EnvResult, type MethodResult } from './experiment.js';
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

function cellsInfo(results: EnvResult[]): string {
  const methods = results[0]?.methods.map((m) => m.method) ?? [];
  return methods.map((m) => `<tr><td><b>${esc(m)}</b></td><td>${esc(METHOD_INFO[m])}</td></tr>`).join('');
}

function curvesSvg(methods: MethodResult[]): string {
  const W = 560, H = 260, P = 40;
  const series = methods.map((m) => {
    const len = Math.min(...m.curves.map((c) => c.length));
    return Array.from({ length: len }, (_, i) => meanCi(m.curves.map((c) => c[i]!)));
  });
  const all = series.flat().flatMap((p) => [p.mean - (p.ci95 || 0), p.mean + (p.ci95 || 0)]).filter(Number.isFinite);
  const lo = Math.min(0, ...all), hi = Math.max(...all, 1e-9);
  const n = Math.max(2, ...series.map((s) => s.length));
  const x = (i: number) => P + (i / (n - 1)) * (W - 2 * P);
  const y = (v: number) => H - P - ((v - lo) / (hi - lo)) * (H - 2 * P);
  const parts = series.map((s, k) => {
    if (s.length === 0) return '';
    const band = s.map((p, i) => `${x(i)},${y(p.mean + (p.ci95 || 0))}`).concat(s.map((p, i) => `${x(i)},${y(p.mean - (p.ci95 || 0))}`).reverse()).join(' ');
    const line = s.map((p, i) => `${x(i)},${y(p.mean)}`).join(' ');
    return `<polygon points="${band}" fill="${COLORS[k]}" opacity="0.15"/><polyline points="${line}" fill="none" stroke="${COLORS[k]}" stroke-width="2"/>`;
  });
  const legend = methods.map((m, k) => `<text x="${W - P + 6}" y="${P + 14 * k}" font-size="11" fill="${COLORS[k]}">${esc(m.method)}</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W + 120}" height="${H}" role="img"><line x1="${P}" y1="${H - P}" x2="${W - P}" y2="${H - P}" stroke="#333"/><line x1="${P}" y1="${P / 2}" x2="${P}" y2="${H - P}" stroke="#333"/><text x="${W / 2}" y="${H - 8}" font-size="11" text-anchor="middle">online episodes (windows)</text><text x="12" y="${H / 2}" font-size="11" transform="rotate(-90 12 ${H / 2})" text-anchor="middle">mean return</text><text x="${P - 4}" y="${y(hi)}" font-size="10" text-anchor="end">${hi.toFixed(1)}</text><text x="${P - 4}" y="${y(lo)}" font-size="10" text-anchor="end">${lo.toFixed(1)}</text>${parts.join('')}${legend}</svg>`;
}

function barsSvg(methods: MethodResult[]): string {
  const W = 560, H = 220, P = 40;
  const ms = methods.map((m) => meanCi(m.early));
  const hi = Math.max(1e-9, ...ms.map((m) => m.mean + (m.ci95 || 0)));
  const bw = (W - 2 * P) / ms.length;
  const bars = ms.map((m, k) => {
    const h = (m.mean / hi) * (H - 2 * P), x = P + k * bw + 4, y = H - P - h;
    const e = ((m.ci95 || 0) / hi) * (H - 2 * P);
    return `<rect x="${x}" y="${y}" width="${bw - 8}" height="${h}" fill="${COLORS[k]}"/><line x1="${x + (bw - 8) / 2}" y1="${y - e}" x2="${x + (bw - 8) / 2}" y2="${y + e}" stroke="#222"/><text x="${x + (bw - 8) / 2}" y="${H - P + 12}" font-size="9" text-anchor="middle">${esc(methods[k]!.method)}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" role="img"><line x1="${P}" y1="${H - P}" x2="${W - P}" y2="${H - P}" stroke="#333"/>${bars.join('')}</svg>`;
}

function weightsSvg(m: MethodResult | undefined): string {
  if (!m?.trace?.length) return '<p>No adaptive run.</p>';
  const t = m.trace, W = 560, H = 200, P = 40;
  const x = (i: number) => P + (i / Math.max(1, t.length - 1)) * (W - 2 * P);
  const y = (v: number) => H - P - v * (H - 2 * P);
  const line = (f: (p: (typeof t)[number]) => number, c: string) => `<polyline points="${t.map((p, i) => `${x(i)},${y(f(p))}`).join(' ')}" fill="none" stroke="${c}" stroke-width="2"/>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W + 160}" height="${H}" role="img"><line x1="${P}" y1="${H - P}" x2="${W - P}" y2="${H - P}" stroke="#333"/>${line((p) => p.weightPretrained, '#e15759')}${line((p) => p.weightOnline, '#4e79a7')}${line((p) => p.sharePretrained, '#59a14f')}<text x="${W - P + 6}" y="${P}" font-size="11" fill="#e15759">w pi_0 (realised reward)</text><text x="${W - P + 6}" y="${P + 14}" font-size="11" fill="#4e79a7">w pi_1</text><text x="${W - P + 6}" y="${P + 28}" font-size="11" fill="#59a14f">share of pi_0's proposals</text><text x="${W / 2}" y="${H - 8}" font-size="11" text-anchor="middle">updates (first seed)</text></svg>`;
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

/** Writes results.json, results.csv and report.html into `dir`; returns their paths. */
export async function writeReport(dir: string, results: EnvResult[], meta: Record<string, unknown>, early: number): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const json = join(dir, 'results.json');
  await writeFileAtomic(json, new TextEncoder().encode(JSON.stringify({ meta, results }, null, 2)));
  const rows = ['env,source,method,seed,early_return,overall_return,final_return,mean_length,reward_per_step'];
  for (const r of results) for (const m of r.methods) m.early.forEach((_, s) => rows.push([r.env, JSON.stringify(r.source), m.method, s, m.early[s], m.overall[s], m.final[s], m.length[s], m.rewardPerStep[s]].join(',')));
  const csv = join(dir, 'results.csv');
  await writeFileAtomic(csv, new TextEncoder().encode(rows.join('\n') + '\n'));
  // the agreement sweep, one picture per environment with several sources
  const sweeps: string[] = [];
  const files: string[] = [];
  for (const env of [...new Set(results.map((r) => r.env))]) {
    const cells = results.filter((r) => r.env === env);
    if (cells.length < 2) continue;
    const svg = agreementSvg(cells, early);
    const f = join(dir, `agreement-${env}.svg`);
    await writeFileAtomic(f, new TextEncoder().encode(svg + '\n'));
    files.push(f);
    sweeps.push(`<h2>${esc(env)}: early return against the preference source's agreement</h2>${svg}`);
  }
  const legend = `<h2>Methods</h2><table>${cellsInfo(results)}</table>`;
  const sections = results.map((r) => `<h2>${esc(r.env)}, preference source ${esc(r.source)}</h2>
<p>Preference source ${esc(r.llm.model)}: agreement with ground truth on the training users' prompts: hit rate ${f3(r.llm.hitRate)} (random ${f3(r.llm.randomHitRate)}, popularity ${f3(r.llm.popularityHitRate)}), AUC ${f3(r.llm.auc)}; ${r.llm.failures} of ${r.llm.requests} prompts failed.
r_phi on ${r.rewardModel.requests} held-out users' requests: AUC ${f3(r.rewardModel.auc)}, hit rate ${f3(r.rewardModel.hitRate)} (${r.rewardModel.examples} training examples); the logs' reward model: AUC ${f3(r.logsRewardModel.auc)}. Paired differences are against the best baseline, ${esc(r.bestBaseline)}.</p>
<pre>${esc(resultTable(r, early))}</pre>
<h3>Online learning curves (mean over seeds, 95% band)</h3>${curvesSvg(r.methods)}
<h3>Early phase: mean return of the first ${early} episodes</h3>${barsSvg(r.methods)}
<h3>A-iALP_ap: adaptation over time</h3>${weightsSvg(r.methods.find((m) => m.method === 'a-ialp-ap'))}`).join('\n');
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>ialp experiment</title>
<style>body{font-family:system-ui,sans-serif;max-width:900px;margin:2em auto;padding:0 1em}pre{background:#f6f6f6;padding:.6em;overflow:auto}</style></head>
<body><h1>ialp experiment</h1>${legend}${sweeps.join('\n')}${sections}<h2>Run</h2><pre>${esc(JSON.stringify(meta, null, 2))}</pre></body></html>\n`;
  const page = join(dir, 'report.html');
  await writeFileAtomic(page, new TextEncoder().encode(html));
  return [page, json, csv, ...files];
}
