// The demo page (packages/demo) in real headless Chromium, driven by playwright-core:
// training in a Web Worker matches a Node wasm run bit for bit, the chart updates,
// and the natively trained MovieLens policy recommends the same items in the browser
// as through the native addon. Saves a screenshot to docs/demo.png; the
// experiment's HTML report is opened too (docs/report.png).
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type Page } from 'playwright-core';
import { init, train as wasmTrain, World } from '@ialp/wasm';
import { Policy } from '../packages/ts-api/src/index.js';
import { root, runCli } from './helpers.js';

const CHROMIUM = process.env.IALP_CHROMIUM ?? '/usr/bin/chromium';
// docs/toolchain.md (shared docs), plus --disable-quic: nothing outside is reachable.
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-quic'];
const DIST = join(root, 'packages', 'demo', 'dist');
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json',
  '.wasm': 'application/wasm', '.svg': 'image/svg+xml', '.ialp': 'application/octet-stream',
};

interface Progress { updates: number; episodes: number; loss: { total: number } }
interface DemoState {
  ready: boolean;
  error?: string;
  progress: Progress[];
  lastRun: { episodes: number[]; updates: number; envSteps: number; progressCount: number } | null;
  recommendation: { user: number; k: number; items: number[]; scores: number[] } | null;
}
interface DemoUser { user: number; history: { item: number; reward: number }[] }
const demoState = () => (globalThis as unknown as { ialpDemo: DemoState }).ialpDemo;

let server: Server;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

/** Serves DIST on 127.0.0.1 (port chosen by the system). */
async function serve(): Promise<string> {
  server = createServer(async (req, res) => {
    const path = normalize(join(DIST, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
    const file = path.endsWith(sep) ? join(path, 'index.html') : path;
    if (!file.startsWith(DIST) || !(await stat(file).catch(() => null))?.isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(await readFile(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

test.before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium (bash scripts/setup.sh) or set IALP_CHROMIUM`);
  // Prepares the data (natively trained policy, titles) and builds the page with Vite.
  await promisify(execFile)('npm', ['run', '--silent', 'build:demo'], { cwd: root, maxBuffer: 64 << 20 });
  const url = await serve();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  page = await browser.newPage({ viewport: { width: 900, height: 1000 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
  await page.goto(url);
  await page.waitForFunction(() => {
    const s = (globalThis as unknown as { ialpDemo?: DemoState }).ialpDemo;
    return s?.ready === true || s?.error !== undefined;
  }, undefined, { timeout: 30_000 });
});

test.after.always(async () => {
  await browser?.close();
  server?.close();
});

test.serial('the page loads the wasm module and the policy without errors', async (t) => {
  t.is(await page.evaluate(() => (globalThis as unknown as { ialpDemo: DemoState }).ialpDemo.error), undefined);
  t.regex(await page.textContent('#variant') ?? '', /simd build|scalar build/);
  t.deepEqual(pageErrors, []);
});

test.serial('training in the worker updates the chart and equals the Node wasm run', async (t) => {
  const config = { env: { name: 'synthetic', batch: { batchSize: 32 } }, episodes: 2000, seed: 7 };
  await page.fill('#seed', String(config.seed));
  await page.fill('#batch', String(config.env.batch.batchSize));
  await page.fill('#episodes', String(config.episodes));
  await page.click('#start');
  // the loss curve is drawn from the progress messages, one point per update
  await page.waitForSelector('#chart-loss polyline.loss', { timeout: 30_000 });
  await page.waitForSelector('#train-status[data-state="done"]', { timeout: 30_000 });
  const state = await page.evaluate(demoState);
  const run = state.lastRun!;
  t.truthy(run);

  await init();
  const world = World.build({ name: 'synthetic' }, null);
  let nodeProgress = 0;
  const out = wasmTrain(config, world, () => { nodeProgress++; }, null);
  t.deepEqual(run.episodes, Array.from(out.episodes), 'episodes [slot, user, totalReward, length] differ');
  t.is(run.updates, out.updates);
  t.is(run.envSteps, out.envSteps);
  t.is(run.progressCount, nodeProgress);
  t.true(run.episodes.length / 4 >= config.episodes);
  t.true(nodeProgress > 10, `${nodeProgress} updates`);
  world.free();

  // one point per update, and the return curve once done
  t.is(await page.getAttribute('#chart-loss polyline.loss', 'data-count'), String(nodeProgress));
  t.true(Number(await page.getAttribute('#chart-return polyline.ret', 'data-count')) >= config.episodes);
  // the live learning curve: the mean return of each update's finished episodes
  t.true(Number(await page.getAttribute('#chart-return polyline.live', 'data-count')) > nodeProgress / 2);
  // each panel has its own axis, with round ticks and the axes named
  for (const [chart, names] of [['#chart-return', ['episodes finished', 'return']], ['#chart-loss', ['updates', 'total loss']]] as const) {
    t.true((await page.$$(`${chart} text.tick`)).length >= 6, `${chart}: ticks`);
    t.deepEqual(await page.$$eval(`${chart} text.name`, (ts) => ts.map((x) => x.textContent)), [...names]);
  }
  t.regex(await page.textContent('#train-status') ?? '', /^done in [\d.]+ s: \d+ episodes/);
});

test.serial('the experiment report reads in Chromium: tables, curves with ticks, values on hover (docs/report.png)', async (t) => {
  t.timeout(10 * 60_000);
  const out = await mkdtemp(join(tmpdir(), 'ialp-report-'));
  const run = await runCli(['run', '--env', 'coat', '--quick', '--seeds', '3', '--llm', 'oracle', '--out', out]);
  t.is(run.code, 0, run.stderr);
  const p = await browser.newPage({ viewport: { width: 1000, height: 1200 } });
  const errors: string[] = [];
  p.on('pageerror', (e) => errors.push(e.message));
  await p.goto(pathToFileURL(join(out, 'report.html')).href);
  // settings, methods, machine and the result as tables, not a JSON dump
  const headers = await p.$$eval('h2', (hs) => hs.map((h) => h.textContent));
  t.deepEqual([headers[0], headers[1], headers.at(-1)], ['Settings', 'Methods', 'Run']);
  t.true((await p.$$('table')).length >= 4);
  // the learning curves: tick labels on both axes, and a point's value as its tooltip
  const curve = p.locator('h3:has-text("Online learning curves") + svg');
  t.true(await curve.locator('text').count() >= 12, 'tick labels and legend');
  t.regex(await curve.locator('circle title').first().textContent() ?? '', /^random, episodes 1-15: [\d.]+ ± [\d.]+$/);
  t.is(await p.locator('h3:has-text("paired by seed") + svg circle').count(), 9, 'every method but the best baseline');
  await p.screenshot({ path: join(root, 'docs', 'report.png'), fullPage: true });
  t.deepEqual(errors, []);
  await p.close();
});

test('the .wasm files and the glue stay within the size budget (packages/wasm/README.md)', async (t) => {
  const dist = join(root, 'packages', 'wasm', 'dist');
  for (const file of ['ialp_wasm_bg.wasm', 'ialp_wasm_simd_bg.wasm']) {
    const bytes = await readFile(join(dist, file));
    t.true(bytes.length <= 1 << 20, `${file}: ${bytes.length} bytes > 1 MiB`);
    t.true(gzipSync(bytes, { level: 9 }).length <= 365 << 10, `${file}: over 365 KiB gzipped`);
  }
  const glue = (await stat(join(dist, 'ialp_wasm.js'))).size;
  t.true(glue <= 64 << 10, `ialp_wasm.js: ${glue} bytes > 64 KiB`);
});

test.serial('the natively trained policy recommends the same items in the browser as natively', async (t) => {
  const dataDir = join(DIST, 'data');
  const users = JSON.parse(await readFile(join(dataDir, 'users.json'), 'utf8')) as DemoUser[];
  const native = await Policy.fromBytes(await readFile(join(dataDir, 'movielens-policy.ialp')), 'native');
  t.true(users.length >= 5);
  await page.fill('#k', '10');
  await page.dispatchEvent('#k', 'change');
  for (const [i, u] of users.entries()) {
    await page.selectOption('#user', String(i));
    await page.waitForFunction((id) => (globalThis as unknown as { ialpDemo: DemoState }).ialpDemo.recommendation?.user === id, u.user);
    const rec = (await page.evaluate(demoState)).recommendation!;
    const want = native.recommend(u.history, { k: 10, excludeSeen: true });
    t.deepEqual(rec.items, want.map((r) => r.item), `user ${u.user}`);
    rec.scores.forEach((s, j) => t.true(Math.abs(s - want[j]!.score) <= 1e-5 * Math.max(1, want[j]!.score), `user ${u.user} score ${j}`));
    const shown = await page.$$eval('#recs li', (lis) => lis.map((li) => Number(li.getAttribute('data-item'))));
    t.deepEqual(shown, rec.items);
    // a policy that has learned: its top item far likelier than uniform over the
    // 9,742 movies (an untrained one gave each about 1e-4), shown as a percentage
    t.true(rec.scores[0]! * native.nItems > 20, `user ${u.user}: top p ${rec.scores[0]} is near uniform`);
    for (const text of await page.$$eval('#recs li .rating', (xs) => xs.map((x) => x.textContent ?? ''))) t.regex(text, /^(\d[\d.]*|<0\.001)% \((\d[\d.]*|<0\.01)x uniform\)$/);
  }
  await page.selectOption('#user', '0');
  await mkdir(join(root, 'docs'), { recursive: true });
  await page.screenshot({ path: join(root, 'docs', 'demo.png'), fullPage: true });
  t.deepEqual(pageErrors, []);
});
