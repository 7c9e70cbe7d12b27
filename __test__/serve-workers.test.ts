// examples/serve with --workers: recommendations computed in worker threads.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { train } from 'ialp';
import { MAX_WORKERS, startServer, type RunningServer } from '../examples/serve/server.mjs';

const dir = mkdtempSync(join(tmpdir(), 'ialp-serve-workers-'));
const env = { name: 'synthetic', synthetic: { nUsers: 100, nItems: 40 } };
const fileA = join(dir, 'a.ialp');
const fileB = join(dir, 'b.ialp');
const servers: RunningServer[] = [];
const history = [{ item: 1, reward: 1 }, { item: 2, reward: 0.5 }];
type Answer = { items: { item: number; score: number }[]; policy: { generation: number } };

test.before(async () => {
  const [a, b] = await Promise.all([train({ env, episodes: 30, seed: 1 }), train({ env, episodes: 30, seed: 2 })]);
  await a.policy.save(fileA);
  await b.policy.save(fileB);
});

test.after.always(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function start(workers: number): Promise<RunningServer> {
  const s = await startServer({ policy: fileA, port: 0, k: 5, workers });
  servers.push(s);
  return s;
}

const recommend = async (s: RunningServer, body: unknown = { history, k: 6 }) => {
  const r = await fetch(`${s.url}/recommend`, { method: 'POST', body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Answer & { error?: string } };
};

test.serial('worker threads answer exactly what the HTTP thread answers, and check requests the same', async (t) => {
  const [main, pooled] = await Promise.all([start(0), start(2)]);
  t.is(pooled.workerThreads.length, 2);
  t.is(main.workerThreads.length, 0);
  for (const body of [{ history, k: 6 }, { history: [] }, { history, k: 40, excludeSeen: false }]) {
    const [a, b] = await Promise.all([recommend(main, body), recommend(pooled, body)]);
    t.is(b.status, 200);
    t.deepEqual(b.body.items, a.body.items);
  }
  const bad = await recommend(pooled, { history: [{ item: 99, reward: 1 }] });
  t.is(bad.status, 400);
  t.regex(bad.body.error ?? '', /history\[0\]\.item/);
  const health = (await (await fetch(`${pooled.url}/health`)).json()) as { workers: number };
  t.is(health.workers, 2);
});

test.serial('a swap under load reaches every worker: each answer is the policy of the generation it names, none dropped', async (t) => {
  const s = await start(2);
  // what each policy answers, from a main-thread service of each
  const expected = new Map<string, Answer['items']>();
  for (const f of [fileA, fileB]) {
    const one = await startServer({ policy: f, port: 0 });
    expected.set(f, (await recommend(one)).body.items);
    await one.close();
  }
  t.notDeepEqual(expected.get(fileA), expected.get(fileB));
  let stop = false;
  const answers: { status: number; body: Answer }[] = [];
  const client = async () => { while (!stop) answers.push(await recommend(s)); };
  const clients = Array.from({ length: 8 }, client);
  for (let i = 0; i < 6; i++) {
    await new Promise((r) => setTimeout(r, 15));
    await s.swap(i % 2 === 0 ? fileB : fileA);
  }
  await new Promise((r) => setTimeout(r, 15));
  stop = true;
  await Promise.all(clients);
  t.deepEqual([...new Set(answers.map((a) => a.status))], [200]);
  const generations = new Set(answers.map((a) => a.body.policy.generation));
  t.true(generations.size >= 3, `answers saw ${generations.size} generations`);
  // generation 1 is a, then b, a, b, ...: odd generations serve a
  for (const a of answers) t.deepEqual(a.body.items, expected.get(a.body.policy.generation % 2 === 1 ? fileA : fileB));
});

test.serial('a worker that dies is replaced, and the service keeps answering', async (t) => {
  const s = await start(2);
  const [first] = s.workerThreads;
  await first!.terminate();
  const after = await recommend(s);
  t.is(after.status, 200, JSON.stringify(after.body));
  for (let i = 0; i < 100 && s.workerThreads.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
  t.is(s.workerThreads.length, 2);
  t.false(s.workerThreads.includes(first!));
  const again = await Promise.all(Array.from({ length: 8 }, () => recommend(s)));
  t.deepEqual(again.map((a) => a.status), new Array(8).fill(200));
});

test('a worker count outside [0, MAX_WORKERS] is an error naming it', async (t) => {
  for (const workers of [-1, 1.5, MAX_WORKERS + 1]) {
    await t.throwsAsync(startServer({ policy: fileA, port: 0, workers }), { message: /workers: expected an integer in \[0, 64\]/ });
  }
});
