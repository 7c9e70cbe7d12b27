// The demo page: training in a worker (train-worker.js) and recommendations from
// the natively trained MovieLens policy on this thread. `window.ialpDemo` exposes
// the last results for the browser tests (__test__/browser.test.ts).
import { init, loadedVariant, Policy, version } from '@ialp/wasm';
import { drawChart, movingAverage } from './chart.js';

const $ = (id) => document.getElementById(id);
const demo = { lastRun: null, progress: [], recommendation: null, ready: false };
window.ialpDemo = demo;

// --- training -----------------------------------------------------------------
let worker = null;
function startWorker() {
  worker = new Worker(new URL('./train-worker.js', import.meta.url), { type: 'module' });
  worker.onmessage = ({ data }) => onWorkerMessage(data);
  worker.onerror = (e) => { $('train-status').textContent = `worker error: ${e.message}`; setRunning(false); };
}

function setRunning(running) {
  $('start').disabled = running;
  $('stop').disabled = !running;
}

// Two panels, each with its own axis: the return (live, per update, and once
// done the moving average per episode) against episodes, the loss against updates.
function drawCharts(finalReturns) {
  const live = demo.progress.filter((p) => p.recentReturn !== null);
  const smoothed = movingAverage(live.map((p) => p.recentReturn), 5);
  drawChart($('chart-return'), {
    xLabel: 'episodes finished', yLabel: 'return',
    series: [
      { name: 'live', label: 'mean return of the episodes each update finished (moving average of 5)', points: live.map((p, i) => [p.episodes, smoothed[i]]) },
      ...(finalReturns ? [{ name: 'ret', label: 'episode return, moving average of 20', points: finalReturns.map((r, i) => [i + 1, r]) }] : []),
    ],
  });
  drawChart($('chart-loss'), {
    xLabel: 'updates', yLabel: 'total loss',
    series: [{ name: 'loss', label: 'total loss', points: demo.progress.map((p) => [p.updates, p.loss.total]) }],
  });
}

function onWorkerMessage(msg) {
  if (msg.type === 'progress') {
    demo.progress.push(msg.progress);
    drawCharts();
    const p = msg.progress;
    $('train-status').textContent = `update ${p.updates}: ${p.episodes} / ${p.targetEpisodes} episodes, ` +
      `${p.envSteps} steps, entropy ${p.loss.entropy.toFixed(3)}`;
  } else if (msg.type === 'done') {
    const episodes = Array.from(msg.episodes);
    const returns = [];
    for (let i = 2; i < episodes.length; i += 4) returns.push(episodes[i]);
    const tenth = Math.max(1, Math.floor(returns.length / 10));
    const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
    demo.lastRun = { episodes, updates: msg.updates, envSteps: msg.envSteps, progressCount: demo.progress.length };
    drawCharts(movingAverage(returns, 20));
    $('train-status').textContent = `done in ${msg.seconds.toFixed(2)} s: ${returns.length} episodes, ` +
      `${msg.updates} updates, ${msg.envSteps} steps; mean return first 10% ${mean(returns.slice(0, tenth)).toFixed(3)}, ` +
      `last 10% ${mean(returns.slice(-tenth)).toFixed(3)}; policy ${(msg.policyBytes / 1024).toFixed(0)} KiB`;
    $('train-status').dataset.state = 'done';
    setRunning(false);
  } else if (msg.type === 'error') {
    $('train-status').textContent = `error: ${msg.message}`;
    $('train-status').dataset.state = 'error';
    setRunning(false);
  }
}

$('train-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const config = {
    env: { name: 'synthetic', batch: { batchSize: Number($('batch').value) } },
    episodes: Number($('episodes').value),
    seed: Number($('seed').value),
  };
  demo.lastRun = null;
  demo.progress = [];
  demo.config = config;
  $('train-status').textContent = 'starting…';
  $('train-status').dataset.state = 'running';
  setRunning(true);
  worker.postMessage({ type: 'train', config });
});

$('stop').addEventListener('click', () => {
  worker.terminate(); // train() is synchronous in the worker; start a fresh one
  startWorker();
  $('train-status').textContent = `stopped after ${demo.progress.length} updates`;
  $('train-status').dataset.state = 'stopped';
  setRunning(false);
});

startWorker();

// --- recommendations ------------------------------------------------------------
const data = (file) => fetch(new URL(`./data/${file}`, document.baseURI));

// 94%, 3.3%, 0.28%, 0.024%: two significant digits, never an exponent
const percent = (p) => {
  const x = 100 * p;
  return x >= 10 ? `${x.toFixed(0)}%` : x >= 0.001 ? `${x.toPrecision(2)}%` : '<0.001%';
};
const times = (r) => (r >= 10 ? r.toFixed(0) : r >= 0.01 ? r.toPrecision(2) : '<0.01');

async function setUpRecommendations() {
  const [titles, users, bytes] = await Promise.all([
    data('titles.json').then((r) => r.json()),
    data('users.json').then((r) => r.json()),
    data('movielens-policy.ialp').then(async (r) => {
      if (!r.ok) throw new Error(`movielens-policy.ialp: HTTP ${r.status} (run npm run build:demo)`);
      return new Uint8Array(await r.arrayBuffer());
    }),
  ]);
  await init();
  $('variant').textContent = `ialp ${version()}, ${loadedVariant()} build`;
  const policy = Policy.fromBytes(bytes);
  for (const [i, u] of users.entries()) {
    $('user').append(new Option(`user ${u.user} (${u.ratings} ratings)`, String(i)));
  }
  const show = () => {
    const u = users[Number($('user').value)];
    const k = Number($('k').value);
    $('history').replaceChildren(...u.history.map((h) => {
      const li = document.createElement('li');
      li.textContent = `${titles[h.item]} `;
      const r = document.createElement('span');
      r.className = 'rating';
      r.textContent = `${h.rating}★`;
      li.append(r);
      return li;
    }));
    const rec = policy.recommend(Uint32Array.from(u.history, (h) => h.item),
      Float32Array.from(u.history, (h) => h.reward), k, true);
    const items = Array.from(rec.items);
    const scores = Array.from(rec.scores);
    demo.recommendation = { user: u.user, k, items, scores };
    $('recs').replaceChildren(...items.map((item, i) => {
      const li = document.createElement('li');
      li.dataset.item = String(item);
      li.textContent = `${titles[item]} `;
      const s = document.createElement('span');
      s.className = 'rating';
      // the policy's probability of proposing the item next, and how it compares
      // with an item drawn uniformly (1 / items): what a person can read
      s.textContent = `${percent(scores[i])} (${times(scores[i] * policy.nItems)}x uniform)`;
      const bar = document.createElement('span');
      bar.className = 'bar';
      bar.style.width = `${Math.max(1, (scores[i] / scores[0]) * 5).toFixed(2)}em`;
      li.append(s, bar);
      return li;
    }));
    $('rec-status').textContent = `policy: ${policy.nItems} items, history ${policy.history}; ` +
      `${(bytes.length / 1048576).toFixed(2)} MiB artefact`;
  };
  $('user').addEventListener('change', show);
  $('k').addEventListener('change', show);
  show();
}

setUpRecommendations()
  .then(() => { demo.ready = true; })
  .catch((e) => {
    $('rec-status').textContent = `error: ${e.message}`;
    demo.error = e.message;
  });
