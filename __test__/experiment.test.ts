// The experiment runner: every method on held-out users for several seeds, a
// report, and a rerun that resumes from the cached phases to the same numbers.
import test from 'ava';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cli, root, runCli } from './helpers.js';
import { evaluate, Policy, summarize, World } from '../packages/ts-api/src/index.js';

/** Starts the CLI and kills it (SIGKILL, no chance to clean up) when its
 * progress on stderr first matches `at`; resolves with what it printed. */
function runUntil(args: string[], at: RegExp): Promise<{ killed: boolean; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import=tsx', cli, ...args], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let killed = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!killed && at.test(stderr)) { killed = true; child.kill('SIGKILL'); }
    });
    child.on('error', reject);
    child.on('close', () => resolve({ killed, stderr }));
  });
}

test('ialp run (the experiment): a report with every method, resumable to identical numbers', async (t) => {
  t.timeout(15 * 60_000);
  const out = await mkdtemp(join(tmpdir(), 'ialp-exp-'));
  const args = ['run', '--env', 'coat', '--quick', '--seeds', '2', '--out', out, '--json'];
  const first = await runCli(args);
  t.is(first.code, 0, first.stderr);
  const a = JSON.parse(first.stdout) as { results: { env: string; methods: { method: string; early: number[] }[] }[]; files: string[] };
  t.deepEqual(a.results[0]!.methods.map((m) => m.method), ['random', 'popularity', 'greedy-logs', 'greedy-llm', 'a2c', 'offline-logs+ft', 'logs-world', 'ialp', 'a-ialp-ft', 'a-ialp-ap']);
  t.true(a.results[0]!.methods.every((m) => m.early.length === 2 && m.early.every(Number.isFinite)));
  const html = await readFile(join(out, 'report.html'), 'utf8');
  const firstMetrics = await readFile(join(out, 'metrics.jsonl'), 'utf8');
  t.regex(html, /<svg/);
  t.regex(html, /a-ialp-ap/);
  t.regex(await readFile(join(out, 'results.csv'), 'utf8'), /^env,source,method,seed,/);
  // the pre-trained policies are artefacts a user can load and query
  t.deepEqual((await readdir(join(out, 'policies'))).sort(), ['coat-ialp-seed1000.ialp', 'coat-ialp-seed1001.ialp', 'coat-logs-seed1000.ialp', 'coat-logs-seed1001.ialp', 'coat-logs-world-seed1000.ialp', 'coat-logs-world-seed1001.ialp']);
  // the iALP row is pi_0 itself, frozen and serving its top item: replaying the saved policy gives its episodes exactly
  const world = await World.load({ name: 'coat' }, 'native');
  for (const [s, seed] of [[0, 1000], [1, 1001]] as const) {
    const pi0 = await Policy.load(join(out, 'policies', `coat-ialp-seed${seed}.ialp`), 'native');
    const eps = await evaluate({ world, env: { name: 'coat', batchSize: 16 }, policy: pi0, episodes: 120, seed, users: 'heldOut', mode: 'greedy' });
    const early = summarize(eps.slice(0, 30)).meanReturn;
    t.is(a.results[0]!.methods.find((m) => m.method === 'ialp')!.early[s], early, `seed ${seed}`);
  }
  // every learnt method has its paired difference against the best baseline
  type Quality = { auc: number; perSeed: { auc: number[] } };
  const r0 = a.results[0]! as unknown as { bestBaseline: string; rewardModel: Quality; logsRewardModel: Quality; methods: { method: string; vsBest?: { baseline: string; mean: number } }[] };
  t.true(r0.rewardModel.auc > 0 && r0.rewardModel.auc <= 1);
  // each seed fits its own reward models (the same labels and logs, its own draw): the rows carry that draw too
  for (const q of [r0.rewardModel, r0.logsRewardModel]) {
    t.is(q.perSeed.auc.length, 2);
    t.true(Math.abs(q.auc - (q.perSeed.auc[0]! + q.perSeed.auc[1]!) / 2) < 1e-12);
  }
  const fits = (await readdir(join(out, 'cache', 'coat'))).filter((f) => /^reward-model-(llm\.json|logs)-[0-9a-f]+$/.test(f));
  t.is(fits.length, 4, fits.join(', '));
  const bytes = await Promise.all(fits.map((f) => readFile(join(out, 'cache', 'coat', f))));
  t.is(new Set(bytes.map((b) => b.toString('base64'))).size, 4, 'no two seeds share a reward model');
  for (const m of r0.methods) if (m.method !== r0.bestBaseline) t.is(m.vsBest?.baseline, r0.bestBaseline, m.method);
  const rec = await runCli(['recommend', '--policy', join(out, 'policies', 'coat-ialp-seed1000.ialp'), '--user', '3', '--k', '3', '--json']);
  t.is(rec.code, 0, rec.stderr);
  t.is((JSON.parse(rec.stdout) as { recommendations: unknown[] }).recommendations.length, 3);
  t.is(rec.stderr, '', 'same data, so no fingerprint warning');
  // as if killed during the online phase: some phases are missing; the rerun redoes them
  const cached = await readdir(join(out, 'cache', 'coat'));
  for (const f of cached.filter((f) => f.startsWith('online-a-ialp') || f.startsWith('pi0-ialp'))) await rm(join(out, 'cache', 'coat', f));
  const second = await runCli(args);
  t.is(second.code, 0, second.stderr);
  const b = JSON.parse(second.stdout) as typeof a;
  t.deepEqual(b.results, a.results);
  t.regex(second.stderr, /coat: online \(seed 1\/2, a-ialp-ap\)/, 'progress per phase on stderr');
  // the training logs: one record per update of every trained method and seed, the same after the resumed rerun
  const metrics = await readFile(join(out, 'metrics.jsonl'), 'utf8');
  t.true(b.files.includes(join(out, 'metrics.jsonl')));
  const recs = metrics.trim().split('\n').map((l) => JSON.parse(l) as { method: string; seed: number; update: number; entropy: number });
  t.deepEqual([...new Set(recs.map((r) => `${r.method}/${r.seed}`))].sort(),
    ['a-ialp-ap', 'a-ialp-ft', 'a2c', 'offline-logs+ft'].flatMap((m) => [`${m}/1000`, `${m}/1001`]));
  t.true(recs.every((r) => r.update >= 1 && Number.isFinite(r.entropy)));
  t.is(metrics, firstMetrics, 'the same records, from the cache where the rerun did not train');

  // a rerun that computes nothing keeps the wall time of the run that computed, and the report says both
  type Meta = { meta: { seconds: number; computed?: { seconds: number; at: string }; machine: { cores: number; node: string } } };
  const third = await runCli(args);
  t.is(third.code, 0, third.stderr);
  const m2 = (JSON.parse(second.stdout) as Meta).meta, m3 = (JSON.parse(third.stdout) as Meta).meta;
  t.truthy(m2.computed);
  t.deepEqual(m3.computed, m2.computed);
  t.true(m3.computed!.seconds > m3.seconds, `computed in ${m3.computed!.seconds} s, assembled in ${m3.seconds} s`);
  t.is(m3.machine.cores, cpus().length);
  t.is(m3.machine.node, process.version);
  const report = await readFile(join(out, 'report.html'), 'utf8');
  t.regex(report, /<h2>Settings<\/h2>/);
  t.regex(report, /<td>seeds<\/td><td>2<\/td><td class="muted">given<\/td>/);
  t.regex(report, /<td>online\.batchSize<\/td><td>16<\/td><td class="muted">default<\/td>/);
  t.regex(report, /Computed in [\d.]+ s \(\d{4}-\d\d-\d\dT[^;]*; this report assembled from the phase cache in [\d.]+ s\)/);
  // the curves: an episode axis, the early window marked, a value on hover; the paired plot
  t.regex(report, /<title>a-ialp-ap, episodes 1-15: [\d.]+ ± [\d.]+<\/title>/);
  t.regex(report, />first 30<\/text>/);
  t.regex(report, /early return minus [a-z-]+'s, paired by seed/);
  t.notRegex(report, /<h1>ialp experiment<\/h1><pre>/, 'no JSON dump on top');

  // really killed, in the pre-training of the second seed and then in its
  // online phase: each rerun resumes, and the numbers are the uninterrupted run's
  const out2 = await mkdtemp(join(tmpdir(), 'ialp-exp-kill-'));
  const args2 = ['run', '--env', 'coat', '--quick', '--seeds', '2', '--out', out2, '--json'];
  for (const at of [/pretrain \(seed 1\/2 done/, /online \(seed 2\/2, a2c\)/]) {
    const killed = await runUntil(args2, at);
    t.true(killed.killed, `the run was killed at ${at} (stderr: ${killed.stderr.slice(-400)})`);
    t.false((await readdir(out2)).includes('report.html'), 'a killed run leaves no report');
  }
  const resumed = await runCli(args2);
  t.is(resumed.code, 0, resumed.stderr);
  t.deepEqual((JSON.parse(resumed.stdout) as typeof a).results, a.results);
});

test('a broken experiment config names the field', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ialp-cfg-'));
  await writeFile(join(dir, 'bad.json'), JSON.stringify({ online: { episodez: 5 } }));
  const r = await runCli(['experiment', '--config', join(dir, 'bad.json'), '--out', dir]);
  t.is(r.code, 1);
  t.regex(r.stderr, /bad\.json: unknown field "online\.episodez"/);
  await writeFile(join(dir, 'broken.json'), '{ "seeds": ');
  const r2 = await runCli(['experiment', '--config', join(dir, 'broken.json'), '--out', dir]);
  t.is(r2.code, 1);
  t.regex(r2.stderr, /broken\.json/);
  t.false((await readdir(dir)).includes('report.html'), 'no report is written for a failed run');
});

/** An OpenAI-compatible server on loopback answering with `content(prompt)`. */
async function llmServer(t: { teardown: (fn: () => Promise<void>) => void }, content: (prompt: string) => string): Promise<string> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const prompt = (JSON.parse(body) as { messages: { content: string }[] }).messages.map((m) => m.content).join('\n');
      res.writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ choices: [{ message: { role: 'assistant', content: content(prompt) } }] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1#stub`;
}

test('an LLM that answers garbage: counted failures in the report, or a clear error when nothing is usable', async (t) => {
  t.timeout(5 * 60_000);
  const cache = await mkdtemp(join(tmpdir(), 'ialp-exp-llm-cache-'));
  // some prompts always get garbage (their retries too, since the answer
  // depends on the prompt alone): the run completes and counts them
  const hash = (text: string) => [...text].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7);
  const half = await llmServer(t, (prompt) => (hash(prompt) % 2 === 0 ? '{"choices": ["A"]}' : 'no idea, sorry'));
  const out = await mkdtemp(join(tmpdir(), 'ialp-exp-llm-'));
  const r = await runCli(['run', '--env', 'coat', '--quick', '--seeds', '1', '--llm', half, '--out', out, '--json'], { IALP_CACHE_DIR: cache });
  t.is(r.code, 0, r.stderr);
  const llm = (JSON.parse(r.stdout) as { results: { llm: { failures: number; requests: number } }[] }).results[0]!.llm;
  t.is(llm.requests, 8);
  t.true(llm.failures > 0 && llm.failures < 8, `failures ${llm.failures}`);
  t.regex(await readFile(join(out, 'report.html'), 'utf8'), new RegExp(`${llm.failures} of 8 prompts failed`));

  const garbage = await llmServer(t, () => '{"choices": ["Q"]}');
  const out2 = await mkdtemp(join(tmpdir(), 'ialp-exp-llm-'));
  const g = await runCli(['run', '--env', 'coat', '--quick', '--seeds', '1', '--llm', garbage, '--out', out2], { IALP_CACHE_DIR: cache });
  t.is(g.code, 1);
  t.regex(g.stderr, /coat: the LLM gave no valid answer/);
  t.false((await readdir(out2)).includes('report.html'));

  // nothing listens on the port of a closed server
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const u = await runCli(['run', '--env', 'coat', '--quick', '--seeds', '1', '--llm', `http://127.0.0.1:${port}/v1#stub`, '--out', out2], { IALP_CACHE_DIR: cache });
  t.is(u.code, 1);
  t.regex(u.stderr, /LLM/);
  t.notRegex(u.stderr, /at .*\.ts:\d+/);
  t.false((await readdir(out2)).includes('report.html'));
});

test('a missing data folder is named', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'ialp-exp-data-'));
  const r = await runCli(['run', '--env', 'movielens', '--data', join(out, 'no-such-folder'), '--out', out]);
  t.is(r.code, 1);
  t.regex(r.stderr, /no-such-folder/);
  t.false((await readdir(out)).includes('report.html'));
});

test('a changed setting recomputes the phases it feeds, and only those', async (t) => {
  t.timeout(5 * 60_000);
  const out = await mkdtemp(join(tmpdir(), 'ialp-exp-cfg-'));
  type Out = { results: { methods: { method: string; overall: number[] }[] }[] };
  const run = async (cfg: object) => {
    await writeFile(join(out, 'cfg.json'), JSON.stringify(cfg));
    const r = await runCli(['run', '--env', 'coat', '--quick', '--seeds', '1', '--config', join(out, 'cfg.json'), '--out', out, '--json']);
    t.is(r.code, 0, r.stderr);
    return new Map((JSON.parse(r.stdout) as Out).results[0]!.methods.map((m) => [m.method, m.overall[0]]));
  };
  const a = await run({});
  const b = await run({ pretrain: { entropyCoef: 0.3 } });
  for (const m of ['random', 'popularity', 'greedy-logs', 'greedy-llm', 'a2c', 'logs-world', 'ialp', 'a-ialp-ft', 'a-ialp-ap']) t.is(b.get(m), a.get(m), m);
  t.not(b.get('offline-logs+ft'), a.get('offline-logs+ft'));
  const c = await run({ pretrain: { entropyCoef: 0.3, users: 32 }, adaptive: { exploration: 2 } });
  for (const m of ['random', 'popularity', 'greedy-logs', 'greedy-llm', 'a2c', 'offline-logs+ft']) t.is(c.get(m), b.get(m), m);
  for (const m of ['logs-world', 'ialp', 'a-ialp-ft', 'a-ialp-ap']) t.not(c.get(m), b.get(m), m);
  // the frozen policies sampled instead of serving their top item; pi_0's proposals in A-iALP_ap likewise
  const d = await run({ pretrain: { entropyCoef: 0.3, users: 32 }, adaptive: { exploration: 2, pretrainedTemperature: 1 }, deploy: 'sample' });
  for (const m of ['random', 'popularity', 'greedy-logs', 'greedy-llm', 'a2c', 'offline-logs+ft', 'a-ialp-ft']) t.is(d.get(m), c.get(m), m);
  for (const m of ['logs-world', 'ialp', 'a-ialp-ap']) t.not(d.get(m), c.get(m), m);
});
