// Group `serve`: load test of examples/serve (node:http) with autocannon on
// loopback: requests/s and p50/p99 latency of POST /recommend, on the native and
// the WebAssembly build, with recommendations on the HTTP thread and in 2 worker
// threads (--workers 2), for a 500-item policy and a MovieLens-sized one (10,000 items). The service runs in its own process (as in production),
// autocannon in this one; on a 2-core machine they share the cores, so the
// numbers are a floor for a dedicated serving core.

import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { train } from '../packages/ts-api/src/index.js';
import type { Group, GroupContext, GroupResult } from './lib/group.js';
import { spread, type Measurement } from './lib/measure.js';

const CONNECTIONS = 16;
const HISTORY = 10;
const K = 10;

function startService(root: string, policy: string, backend: string, workers: number): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(root, 'examples', 'serve', 'server.mjs'), '--policy', policy, '--port', '0', '--backend', backend, '--workers', String(workers)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      err += d;
      // its JSON log line {"msg":"listening","url":...} (older versions: "listening on URL")
      const m = /"msg":"listening","url":"(http:\/\/[^"]+)"|listening on (http:\/\/\S+)/.exec(err);
      if (m) resolve({ url: (m[1] ?? m[2])!, child });
    });
    child.once('exit', (code) => reject(new Error(`examples/serve exited with ${code} before listening: ${err.trim()}`)));
  });
}

async function load(url: string, body: string, seconds: number): Promise<autocannon.Result> {
  return autocannon({
    url: `${url}/recommend`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections: CONNECTIONS,
    duration: seconds,
  });
}

async function run(ctx: GroupContext): Promise<GroupResult> {
  const reps = ctx.quick ? 1 : 3;
  const seconds = ctx.quick ? 2 : 4;
  const dir = mkdtempSync(join(tmpdir(), 'ialp-bench-serve-'));
  const result: GroupResult = {
    measurements: [],
    notes: [
      `POST /recommend, synthetic policies (500 and 10,000 items, hidden 64), history ${HISTORY}, k ${K}; autocannon ${CONNECTIONS} connections, ` +
        `${reps} run(s) of ${seconds} s after a 1 s warm-up, service and load generator on the same machine (loopback).`,
    ],
    checks: [],
  };
  try {
    const sizes = [500, 10_000];
    const policies: string[] = [];
    for (const nItems of sizes) {
      ctx.log(`serve: training a ${nItems}-item policy to serve`);
      const file = join(dir, `policy-${nItems}.ialp`);
      await (await train({ env: { name: 'synthetic', synthetic: { nItems } }, episodes: 50, seed: 1 })).policy.save(file);
      policies.push(file);
    }
    const history = Array.from({ length: HISTORY }, (_, i) => ({ item: (i * 37) % 500, reward: i % 3 === 0 ? 1 : 0 }));
    const body = JSON.stringify({ history, k: K });
    const setups = sizes.flatMap((nItems, p) => [
      { nItems, policy: policies[p]!, backend: 'native', workers: 0 },
      { nItems, policy: policies[p]!, backend: 'native', workers: 2 },
      { nItems, policy: policies[p]!, backend: 'wasm', workers: 0 },
    ]);
    const label = (x: (typeof setups)[number]) => `${x.backend}, ${x.workers ? `${x.workers} workers` : 'HTTP thread'}, ${x.nItems} items`;
    // All services run side by side and their load runs alternate, so a slow
    // spell on a shared machine hits every setup alike.
    const services = await Promise.all(setups.map((x) => startService(ctx.root, x.policy, x.backend, x.workers)));
    try {
      const runs: autocannon.Result[][] = setups.map(() => []);
      for (const [i, x] of setups.entries()) {
        ctx.log(`serve: ${label(x)}, warm-up`);
        await load(services[i]!.url, body, 1);
      }
      for (let r = 0; r < reps; r++) {
        for (const [i, x] of setups.entries()) {
          ctx.log(`serve: ${label(x)}, run ${r + 1}/${reps}, ${CONNECTIONS} connections`);
          runs[i]!.push(await load(services[i]!.url, body, seconds));
        }
      }
      const p99s: number[] = [];
      for (const [i, x] of setups.entries()) {
        const rs = runs[i]!;
        const rps = rs.map((y) => (y.requests.total - y.non2xx) / y.duration);
        const p50 = spread(rs.map((y) => y.latency.p50)).median;
        const p99 = spread(rs.map((y) => y.latency.p99)).median;
        p99s.push(p99);
        const throughput = spread(rps);
        const m: Measurement = {
          group: 'serve',
          name: `recommend (${label(x)})`,
          params: { connections: CONNECTIONS, k: K, history: HISTORY, items: x.nItems, workers: x.workers, p50_ms: p50, p99_ms: p99 },
          unit: 'requests',
          perRep: Math.round(throughput.median * seconds),
          cores: 1,
          seconds: rs.map((y) => y.duration),
          throughput,
          perCore: throughput.median,
        };
        result.measurements.push(m);
        const failed = rs.reduce((a, y) => a + y.non2xx + y.errors + y.timeouts, 0);
        result.checks.push({ name: `every request answered 200 (${label(x)})`, ok: failed === 0, detail: `${rs.reduce((a, y) => a + y.requests.total, 0)} requests, ${failed} not 200 / errors / timeouts` });
        result.notes.push(`${label(x)}: ${Math.round(throughput.median)} requests/s, latency p50 ${p50} ms, p99 ${p99} ms`);
      }
      for (const [p, nItems] of sizes.entries()) {
        const [main, pooled] = [p99s[3 * p]!, p99s[3 * p + 1]!];
        result.notes.push(`${nItems} items: p99 with 2 worker threads / on the HTTP thread = ${(pooled / main).toFixed(2)} (${pooled} ms / ${main} ms; below 1 the workers help)`);
      }
    } finally {
      for (const sv of services) sv.child.kill();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return result;
}

export const serveGroup: Group = {
  name: 'serve',
  title: 'Serving: examples/serve under autocannon (requests/s, p50/p99 latency)',
  unavailable: null,
  run,
};
