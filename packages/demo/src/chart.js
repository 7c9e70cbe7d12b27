// A small SVG line chart: one panel, one y axis for all its series (same
// units), ticks at round numbers on both axes, the axis names written out.
const NS = 'http://www.w3.org/2000/svg';
const W = 640, H = 200, L = 52, R = 12, T = 10, B = 36;

const el = (name, attrs, text) => {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
};

/** About `n` round tick values covering [lo, hi] (steps of 1, 2 or 5 x 10^k). */
export function ticks(lo, hi, n = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

const fmt = (v) => (Math.abs(v) >= 1000 ? `${(v / 1000).toFixed(v % 1000 === 0 ? 0 : 1)}k` : String(Number(v.toPrecision(3))));

/**
 * Draws `series` ([{ name, label, points: [[x, y], ...] }]) into `svg` with
 * axes named `xLabel` and `yLabel`. Each polyline carries data-count (its
 * points) and a title with its last value.
 */
export function drawChart(svg, { series, xLabel, yLabel }) {
  svg.replaceChildren();
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return;
  const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]).filter(Number.isFinite);
  if (ys.length === 0) return; // nothing finite to draw yet
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(0, ...ys), Math.max(...ys)];
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) y1 = y0 + 1;
  const yt = ticks(y0, y1);
  y1 = Math.max(y1, yt.at(-1));
  const x = (v) => L + ((v - x0) / (x1 - x0)) * (W - L - R);
  const y = (v) => H - B - ((v - y0) / (y1 - y0)) * (H - T - B);
  for (const v of yt) {
    svg.append(el('line', { class: 'grid', x1: L, x2: W - R, y1: y(v), y2: y(v) }));
    svg.append(el('text', { class: 'tick', x: L - 6, y: y(v) + 4, 'text-anchor': 'end' }, fmt(v)));
  }
  for (const v of ticks(x0, x1, 6)) {
    svg.append(el('line', { class: 'axis', x1: x(v), x2: x(v), y1: H - B, y2: H - B + 4 }));
    svg.append(el('text', { class: 'tick', x: x(v), y: H - B + 16, 'text-anchor': 'middle' }, fmt(v)));
  }
  svg.append(el('path', { class: 'axis', d: `M${L},${T}V${H - B}H${W - R}` }));
  svg.append(el('text', { class: 'name', x: (L + W - R) / 2, y: H - 4, 'text-anchor': 'middle' }, xLabel));
  svg.append(el('text', { class: 'name', x: 12, y: (T + H - B) / 2, 'text-anchor': 'middle', transform: `rotate(-90 12 ${(T + H - B) / 2})` }, yLabel));
  for (const { name, label, points } of series) {
    if (points.length === 0) continue;
    const line = el('polyline', { class: name, points: points.map(([a, b]) => `${x(a).toFixed(1)},${y(b).toFixed(1)}`).join(' ') });
    line.dataset.count = String(points.length);
    const [lx, ly] = points.at(-1);
    line.append(el('title', {}, `${label}: ${fmt(ly)} at ${fmt(lx)}`));
    svg.append(line);
  }
}

/** Moving average with a window of `w` (shorter at the start). */
export function movingAverage(values, w) {
  const out = [];
  let sum = 0;
  values.forEach((v, i) => {
    sum += v;
    if (i >= w) sum -= values[i - w];
    out.push(sum / Math.min(i + 1, w));
  });
  return out;
}
