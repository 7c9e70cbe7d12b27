// Group `serve`: load test of examples/serve (node:http) with autocannon on
// loopback: requests/s and p50/p99 latency of POST /recommend, on the native and
// the WebAssembly build. The service runs in its own process (as in production),
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

function startService(root: string, policy: string, backend: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(root, 'examples', 'serve', 'server.mjs'), '--policy', policy, '--port', '0', '--backend', backend], {
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
      `POST /recommend, synthetic policy (500 items, hidden 64), history ${HISTORY}, k ${K}; autocannon ${CONNECTIONS} connections, ` +
        `${reps} run(s) of ${seconds} s after a 1 s warm-up, service and load generator on the same machine (loopback).`,
    ],
    checks: [],
  };
  try {
    const policy = join(dir, 'policy.ialp');
    ctx.log('serve: training a policy to serve');
    await (await train({ env: { name: 'synthetic' }, episodes: 200, seed: 1 })).policy.save(policy);
    const history = Array.from({ length: HISTORY }, (_, i) => ({ item: (i * 37) % 500, reward: i % 3 === 0 ? 1 : 0 }));
    const body = JSON.stringify({ history, k: K });
    // Both services run side by side and their load runs alternate, so a slow
    // spell on a shared machine hits both builds alike.
    const backends = ['native', 'wasm'] as const;
    const services = await Promise.all(backends.map((b) => startService(ctx.root, policy, b)));
    try {
      const runs: autocannon.Result[][] = backends.map(() => []);
      for (const [i, b] of backends.entries()) {
        ctx.log(`serve: ${b}, warm-up`);
        await load(services[i]!.url, body, 1);
      }
      for (let r = 0; r < reps; r++) {
        for (const [i, b] of backends.entries()) {
          ctx.log(`serve: ${b}, run ${r + 1}/${reps}, ${CONNECTIONS} connections`);
          runs[i]!.push(await load(services[i]!.url, body, seconds));
        }
      }
      for (const [i, backend] of backends.entries()) {
        const rs = runs[i]!;
        const rps = rs.map((x) => (x.requests.total - x.non2xx) / x.duration);
        const p50 = spread(rs.map((x) => x.latency.p50)).median;
        const p99 = spread(rs.map((x) => x.latency.p99)).median;
        const throughput = spread(rps);
        const m: Measurement = {
          group: 'serve',
          name: `recommend (${backend})`,
          params: { connections: CONNECTIONS, k: K, history: HISTORY, p50_ms: p50, p99_ms: p99 },
          unit: 'requests',
          perRep: Math.round(throughput.median * seconds),
          cores: 1,
          seconds: rs.map((x) => x.duration),
          throughput,
          perCore: throughput.median,
        };
        result.measurements.push(m);
        const failed = rs.reduce((a, x) => a + x.non2xx + x.errors + x.timeouts, 0);
        result.checks.push({ name: `every request answered 200 (${backend})`, ok: failed === 0, detail: `${rs.reduce((a, x) => a + x.requests.total, 0)} requests, ${failed} not 200 / errors / timeouts` });
        result.notes.push(`${backend}: ${Math.round(throughput.median)} requests/s, latency p50 ${p50} ms, p99 ${p99} ms`);
      }
    } finally {
      for (const s of services) s.child.kill();
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
