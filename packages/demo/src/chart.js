// A minimal SVG line chart: each series is scaled to its own range.
const NS = 'http://www.w3.org/2000/svg';
const W = 640, H = 240, PAD = 28;

export function drawChart(svg, series) {
  svg.replaceChildren();
  const axis = document.createElementNS(NS, 'path');
  axis.setAttribute('class', 'axis');
  axis.setAttribute('d', `M${PAD},${PAD / 2}V${H - PAD}H${W - PAD / 2}`);
  svg.append(axis);
  for (const { name, values, label } of series) {
    if (values.length === 0) continue;
    let lo = Math.min(...values), hi = Math.max(...values);
    if (hi === lo) { hi += 1; lo -= 1; }
    const n = Math.max(values.length - 1, 1);
    const pts = values.map((v, i) => {
      const x = PAD + (i / n) * (W - 1.5 * PAD);
      const y = H - PAD - ((v - lo) / (hi - lo)) * (H - 1.5 * PAD);
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    });
    const line = document.createElementNS(NS, 'polyline');
    line.setAttribute('class', name);
    line.setAttribute('points', pts.join(' '));
    line.dataset.count = String(values.length);
    svg.append(line);
    const text = document.createElementNS(NS, 'text');
    text.setAttribute('x', String(W - PAD));
    text.setAttribute('y', name === 'ret' ? '24' : name === 'live' ? '56' : '40');
    text.setAttribute('text-anchor', 'end');
    text.setAttribute('class', name);
    text.textContent = `${label}: ${lo.toFixed(2)} … ${hi.toFixed(2)}`;
    svg.append(text);
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
