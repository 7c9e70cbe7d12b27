// examples/serve: the recommendation service, on an ephemeral loopback port.
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { train } from 'ialp';
import { startServer, type RunningServer } from '../examples/serve/server.mjs';
import { forge } from './forge.js';

const dir = mkdtempSync(join(tmpdir(), 'ialp-serve-'));
const env = { name: 'synthetic', synthetic: { nUsers: 100, nItems: 40 } };
const fileA = join(dir, 'a.ialp');
const fileB = join(dir, 'b.ialp');
let server: RunningServer;
let bytesB: Uint8Array;

test.before(async () => {
  const [a, b] = await Promise.all([train({ env, episodes: 30, seed: 1 }), train({ env, episodes: 30, seed: 2 })]);
  await a.policy.save(fileA);
  await b.policy.save(fileB);
  bytesB = b.policy.toBytes();
  server = await startServer({ policy: fileA, port: 0, k: 5, adminToken: 'secret' });
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
