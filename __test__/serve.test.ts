// examples/serve: the recommendation service, on an ephemeral loopback port.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { train } from 'ialp';
import { jsonLog, LATENCY_BUCKETS, OPENAPI, startServer, tokenMatches, type LogEvent, type RunningServer } from '../examples/serve/server.mjs';
import { forge } from './forge.js';

const dir = mkdtempSync(join(tmpdir(), 'ialp-serve-'));
const env = { name: 'synthetic', synthetic: { nUsers: 100, nItems: 40 } };
const fileA = join(dir, 'a.ialp');
const fileB = join(dir, 'b.ialp');
let server: RunningServer;
let bytesB: Uint8Array;
const logged: LogEvent[] = [];

test.before(async () => {
  const [a, b] = await Promise.all([train({ env, episodes: 30, seed: 1 }), train({ env, episodes: 30, seed: 2 })]);
  await a.policy.save(fileA);
  await b.policy.save(fileB);
  bytesB = b.policy.toBytes();
  server = await startServer({ policy: fileA, port: 0, k: 5, adminToken: 'secret', log: (e) => logged.push(e) });
});

test.after.always(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(server.url + path, { method: 'POST', body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body), headers });

test.serial('GET /health describes the loaded policy', async (t) => {
  const r = await fetch(`${server.url}/health`);
  t.is(r.status, 200);
  const body = (await r.json()) as { status: string; backend: string; policy: { nItems: number; generation: number; env: string } };
  t.is(body.status, 'ok');
  t.is(body.policy.nItems, 40);
  t.is(body.policy.env, 'synthetic');
  t.true(['native', 'wasm'].includes(body.backend));
});

test.serial('POST /recommend returns k items with scores, unseen ones by default', async (t) => {
  const history = [{ item: 3, reward: 1 }, { item: 7, reward: 0 }];
  const r = await post('/recommend', { history, k: 4 });
  t.is(r.status, 200);
  const body = (await r.json()) as { items: { item: number; score: number }[] };
  t.is(body.items.length, 4);
  for (const { item, score } of body.items) {
    t.true(Number.isInteger(item) && item >= 0 && item < 40);
    t.true(score > 0 && score <= 1);
    t.false([3, 7].includes(item));
  }
  const scores = body.items.map((i) => i.score);
  t.deepEqual(scores, [...scores].sort((a, b) => b - a));
  // no k: the server's default (5); an empty history is a new user
  const d = (await (await post('/recommend', { history: [] })).json()) as { items: unknown[] };
  t.is(d.items.length, 5);
});

test.serial('invalid requests get 400 with a message naming the field', async (t) => {
  const cases: [unknown, RegExp][] = [
    ['{not json', /^body: not valid JSON/],
    [[1, 2], /^body: expected a JSON object/],
    [{ k: 3 }, /^history: expected an array/],
    [{ history: 'abc' }, /^history: expected an array/],
    [{ history: [5] }, /^history\[0\]: expected \{"item"/],
    [{ history: [{ item: 1, reward: 1 }, { item: 40, reward: 1 }] }, /^history\[1\]\.item: expected an integer in \[0, 39\], got 40/],
    [{ history: [{ item: 1.5, reward: 1 }] }, /^history\[0\]\.item: expected an integer/],
    [{ history: [{ item: 1, reward: 'good' }] }, /^history\[0\]\.reward: expected a finite number in \[-1000000, 1000000\], got "good"/],
    [{ history: [], k: 0 }, /^k: expected an integer in \[1, 40\], got 0/],
    [{ history: [], k: 41 }, /^k: expected an integer in \[1, 40\], got 41/],
    [{ history: [], excludeSeen: 'yes' }, /^excludeSeen: expected true or false/],
  ];
  for (const [body, message] of cases) {
    const r = await post('/recommend', typeof body === 'string' ? body : JSON.stringify(body));
    t.is(r.status, 400, JSON.stringify(body));
    t.regex(((await r.json()) as { error: string }).error, message);
  }
  t.is((await fetch(`${server.url}/recommend`)).status, 405);
  t.is((await fetch(`${server.url}/nope`)).status, 404);
});

test.serial('POST /admin/policy needs the token and rejects a bad artefact, keeping the old policy', async (t) => {
  const before = server.policy;
  t.is((await post('/admin/policy', bytesB)).status, 401);
  const bad = await post('/admin/policy', new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]), { authorization: 'Bearer secret' });
  t.is(bad.status, 400);
  t.regex(((await bad.json()) as { error: string }).error, /^policy artefact: /);
  t.is(server.policy, before);
  // a truncated file on disk: SIGHUP's reload fails and the old policy keeps serving
  const truncated = join(dir, 'truncated.ialp');
  writeFileSync(truncated, bytesB.subarray(0, bytesB.length - 9));
  await t.throwsAsync(server.swap(truncated), { message: /truncated\.ialp/ });
  t.is(server.policy, before);
});

test.serial('swapping the policy under load drops no request', async (t) => {
  const history = [{ item: 1, reward: 1 }, { item: 2, reward: 0.5 }];
  let stop = false;
  const statuses = new Map<number, number>();
  const generations = new Set<number>();
  const worker = async () => {
    while (!stop) {
      const r = await post('/recommend', { history, k: 3 });
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      const body = (await r.json()) as { items: unknown[]; policy: { generation: number } };
      if (r.status === 200 && body.items.length === 3) generations.add(body.policy.generation);
    }
  };
  const workers = Array.from({ length: 16 }, worker);
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 20));
    const swap = i % 2 === 0
      ? await post('/admin/policy', bytesB, { authorization: 'Bearer secret' }).then((r) => r.status)
      : await server.swap(fileA).then(() => 200);
    t.is(swap, 200);
  }
  await new Promise((r) => setTimeout(r, 20));
  stop = true;
  await Promise.all(workers);
  const total = [...statuses.values()].reduce((a, b) => a + b, 0);
  t.deepEqual([...statuses.keys()], [200], `statuses: ${JSON.stringify([...statuses])}`);
  t.true(total > 50, `${total} requests`);
  t.true(generations.size >= 3, `requests saw ${generations.size} policy generations`);
});

test.serial('hostile artefacts never stop the service: forged sizes, /dev/zero, another environment', async (t) => {
  const before = server.policy;
  const auth = { authorization: 'Bearer secret' };
  // a valid checksum over a header whose network would need terabytes
  const forged = forge(bytesB, (h) => (h.meta.net.hidden = 2 ** 40));
  const r = await post('/admin/policy', forged, auth);
  t.is(r.status, 400);
  t.regex(((await r.json()) as { error: string }).error, /^policy artefact: policy file: net\.hidden: expected an integer/);
  const forgedFile = join(dir, 'forged.ialp');
  writeFileSync(forgedFile, forge(bytesB, (h) => Object.assign(h.meta.net, { hidden: 16384, depth: 64 })));
  await t.throwsAsync(server.swap(forgedFile), { message: /parameters, but the file holds/ });
  await t.throwsAsync(startServer({ policy: forgedFile, port: 0 }), { message: /forged\.ialp: policy file: .*parameters/ });
  // SIGHUP's reload of an unbounded file fails at once
  await t.throwsAsync(server.swap('/dev/zero'), { message: /a character device/ });
  t.is(server.policy, before);
  // a policy of another environment: its item ids mean other items
  const other = await train({ env: { name: 'synthetic', synthetic: { nUsers: 100, nItems: 60 } }, episodes: 10, seed: 3 });
  const clash = await post('/admin/policy', other.policy.toBytes(), auth);
  t.is(clash.status, 409);
  t.regex(((await clash.json()) as { error: string }).error, /trained on environment "synthetic" with 60 items, data fingerprint \S+, the service serves environment "synthetic" with 40 items, data fingerprint \S+; item ids would change meaning/);
  t.is(server.policy, before);
  const ok = await post('/recommend', { history: [{ item: 1, reward: 1 }], k: 2 });
  t.is(ok.status, 200, 'the old policy still serves');
  // said on purpose, it swaps; then back
  const forced = await post('/admin/policy?replaceEnvironment=true', other.policy.toBytes(), auth);
  t.is(forced.status, 200);
  t.is(server.policy.nItems, 60);
  await server.swap(fileA, { replaceEnvironment: true });
  t.is(server.policy.nItems, 40);
});

test.serial('rewards too large for the core are 400, bodies over 1 MiB are 413', async (t) => {
  for (const reward of [1e300, -1e300, 1e7]) {
    const r = await post('/recommend', { history: [{ item: 1, reward }] });
    t.is(r.status, 400, String(reward));
    t.regex(((await r.json()) as { error: string }).error, /^history\[0\]\.reward: expected a finite number in \[-1000000, 1000000\]/);
  }
  const big = JSON.stringify({ history: [], pad: 'x'.repeat(2 << 20) });
  const r = await post('/recommend', big);
  t.is(r.status, 413);
  t.regex(((await r.json()) as { error: string }).error, /larger than the limit of 1048576 bytes/);
  // without a content-length (chunked), the same
  const chunks = new ReadableStream({
    start(c) { for (let i = 0; i < 40; i++) c.enqueue(new TextEncoder().encode('x'.repeat(64 << 10))); c.close(); },
  });
  const s = await fetch(server.url + '/recommend', { method: 'POST', body: chunks, duplex: 'half' } as RequestInit);
  t.is(s.status, 413);
  t.is((await post('/recommend', { history: [] })).status, 200, 'the service still answers');
});

test.serial('swaps at once (a SIGHUP during a POST) run one after the other, each checked against the policy before it', async (t) => {
  const other = await train({ env: { name: 'synthetic', synthetic: { nUsers: 100, nItems: 60 } }, episodes: 10, seed: 4 });
  // both asked before either finishes: the second must be checked against the first's policy
  // (the first reads a file, the second has its bytes: unserialised, the second finished first)
  const otherFile = join(dir, 'other.ialp');
  writeFileSync(otherFile, other.policy.toBytes());
  const forced = server.swap(otherFile, { replaceEnvironment: true });
  const same = server.swap(bytesB);
  await forced;
  await t.throwsAsync(same, { message: /trained on environment "synthetic" with 40 items.*the service serves environment "synthetic" with 60 items/ });
  t.is(server.policy.nItems, 60, 'the checked swap stands');
  // a failed swap does not block the ones after it
  await t.throwsAsync(server.swap('/dev/zero'), { message: /a character device/ });
  await server.swap(fileA, { replaceEnvironment: true });
  t.is(server.policy.nItems, 40);
});

/** The samples of a Prometheus text exposition: "name{labels}" -> value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    out.set(m[1]!, Number(m[2]));
  }
  return out;
}

test.serial('GET /metrics: request counts by route and status, a latency histogram, the policy generation', async (t) => {
  const before = samples(await (await fetch(`${server.url}/metrics`)).text());
  const ok = '{route="/recommend",status="200"}';
  const bad = '{route="/recommend",status="400"}';
  for (let i = 0; i < 5; i++) t.is((await post('/recommend', { history: [{ item: 1, reward: 1 }] })).status, 200);
  t.is((await post('/recommend', { history: 'x' })).status, 400);
  t.is((await fetch(`${server.url}/no/such/path/${Math.random()}`)).status, 404);
  const r = await fetch(`${server.url}/metrics`);
  t.is(r.status, 200);
  t.regex(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await r.text();
  const m = samples(text);
  t.is(m.get(`ialp_http_requests_total${ok}`)! - (before.get(`ialp_http_requests_total${ok}`) ?? 0), 5);
  t.is(m.get(`ialp_http_requests_total${bad}`)! - (before.get(`ialp_http_requests_total${bad}`) ?? 0), 1);
  t.true(m.get('ialp_http_requests_total{route="other",status="404"}')! >= 1, 'unknown paths share one label');
  t.notRegex(text, /no\/such\/path/);
  // the histogram: cumulative buckets, +Inf = count, a sum of positive seconds
  const route = '/recommend';
  const counts = [...LATENCY_BUCKETS.map(String), '+Inf'].map((le) => m.get(`ialp_http_request_duration_seconds_bucket{route="${route}",le="${le}"}`)!);
  t.true(counts.every((c, i) => Number.isInteger(c) && (i === 0 || c >= counts[i - 1]!)), `cumulative: ${counts}`);
  const count = m.get(`ialp_http_request_duration_seconds_count{route="${route}"}`)!;
  t.is(counts.at(-1), count);
  const allStatuses = [...m].filter(([k]) => k.startsWith(`ialp_http_requests_total{route="${route}",`)).reduce((a, [, v]) => a + v, 0);
  t.is(count, allStatuses, 'one observation per answered request');
  t.true(m.get(`ialp_http_request_duration_seconds_sum{route="${route}"}`)! > 0);
  const health = (await (await fetch(`${server.url}/health`)).json()) as { policy: { generation: number; nItems: number } };
  t.is(m.get('ialp_policy_generation'), health.policy.generation);
  t.regex(text, new RegExp(`^ialp_policy_info\\{generation="${health.policy.generation}",env="synthetic",items="40",.*\\} 1$`, 'm'));
  t.true(m.get('ialp_policy_swaps_total')! >= 1 && m.get('ialp_policy_swap_failures_total')! >= 1, 'the earlier tests swapped and were refused');
  t.is((await post('/metrics', '')).status, 405);
});

test.serial('GET /openapi.json serves the document in the repository, and it describes the routes the service has', async (t) => {
  const file = JSON.parse(readFileSync(new URL('../examples/serve/openapi.json', import.meta.url), 'utf8')) as typeof OPENAPI;
  const r = await fetch(`${server.url}/openapi.json`);
  t.is(r.status, 200);
  t.deepEqual(await r.json(), file);
  t.deepEqual(OPENAPI, file);
  t.is(file.openapi, '3.1.0');
  const paths = file.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>;
  t.deepEqual(Object.keys(paths).sort(), ['/admin/policy', '/health', '/metrics', '/openapi.json', '/recommend']);
  for (const [path, ops] of Object.entries(paths)) {
    for (const method of Object.keys(ops)) {
      const res = await fetch(server.url + path, { method: method.toUpperCase(), body: method === 'post' ? '{}' : undefined });
      t.not(res.status, 404, `${method} ${path} exists`);
      t.true(String(res.status) in ops[method]!.responses, `${method} ${path}: status ${res.status} is documented`);
      const wrong = await fetch(server.url + path, { method: method === 'get' ? 'POST' : 'GET' });
      t.is(wrong.status, 405, `the other method on ${path}`);
    }
  }
  // a 200 answer has the fields its schema requires
  const schemas = (file.components as { schemas: Record<string, { required: string[] }> }).schemas;
  const rec = (await (await post('/recommend', { history: [{ item: 2, reward: 1 }], k: 3 })).json()) as Record<string, unknown>;
  for (const f of schemas.RecommendResponse!.required) t.true(f in rec, `RecommendResponse.${f}`);
  const health = (await (await fetch(`${server.url}/health`)).json()) as Record<string, Record<string, unknown>>;
  for (const f of schemas.Health!.required) t.true(f in health, `Health.${f}`);
  for (const f of schemas.PolicyInfo!.required) t.true(f in health.policy!, `PolicyInfo.${f}`);
});

test('the admin token is compared as SHA-256 digests in constant time', (t) => {
  t.true(tokenMatches('Bearer secret', 'secret'));
  for (const h of ['Bearer secreT', 'Bearer secret ', 'Bearer', '', 'bearer secret', 'Bearer s']) t.false(tokenMatches(h, 'secret'), JSON.stringify(h));
  t.false(tokenMatches(undefined, 'secret'));
  t.false(tokenMatches(['Bearer secret'], 'secret'), 'a repeated header is no match');
  const src = readFileSync(new URL('../examples/serve/server.mjs', import.meta.url), 'utf8');
  t.notRegex(src, /authorization\s*!==/, 'no plain comparison left');
});

test.serial('logs are JSON lines with time, level and message', (t) => {
  t.true(logged.some((e) => e.level === 'info' && e.msg === 'policy loaded' && e.generation === 2), JSON.stringify(logged));
  t.true(logged.some((e) => e.level === 'warn' && e.msg === 'policy swap refused' && typeof e.error === 'string'));
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  const log = jsonLog(stream);
  log({ level: 'warn', msg: 'a "quoted"\nline', n: 3 });
  log('plain');
  const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l) as LogEvent & { time: string });
  t.is(lines.length, 2);
  t.like(lines[0], { level: 'warn', msg: 'a "quoted"\nline', n: 3 });
  t.like(lines[1], { level: 'info', msg: 'plain' });
  t.false(Number.isNaN(Date.parse(lines[0]!.time)));
});
