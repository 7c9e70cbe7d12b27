// Group `llm-serve`: distillation through an OpenAI-compatible serving engine
// (vLLM, llama.cpp's server, Ollama), against a local stub server that answers
// every chat completion after a fixed latency. Prompts/s at concurrency 1, 4
// and 16 show whether the client keeps that many requests in flight (target:
// >= 0.8 x concurrency x the single-request rate).

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { distillPreferences, World } from '../../packages/ts-api/src/index.js';
import type { Group, GroupContext, GroupResult } from '../lib/group.js';
import { measurement } from '../lib/measure.js';

const LATENCY_MS = 200;

async function run(ctx: GroupContext): Promise<GroupResult> {
  const prompts = ctx.quick ? 32 : 96;
  let inFlight = 0;
  let maxInFlight = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      setTimeout(() => {
        inFlight--;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ choices: [{ message: { role: 'assistant', content: '{"choices": ["A"]}' } }] }));
      }, LATENCY_MS);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const world = await World.load({ name: 'coat' }, 'native');
  const dir = await mkdtemp(join(tmpdir(), 'ialp-bench-llm-serve-'));
  const result: GroupResult = {
    measurements: [],
    notes: [`${prompts} Coat preference prompts (K = 4) through the OpenAI-compatible client against a stub server on 127.0.0.1 that answers after ${LATENCY_MS} ms; a fresh answer cache per pass, one timed pass per case.`],
    checks: [],
  };
  const rates: Record<number, number> = {};
  try {
    for (const concurrency of [1, 4, 16]) {
      ctx.log(`llm-serve: concurrency ${concurrency}`);
      maxInFlight = 0;
      const n = concurrency === 1 ? Math.min(prompts, 16) : prompts;
      const t0 = performance.now();
      const out = await distillPreferences({
        world, llm: `http://127.0.0.1:${port}/v1#stub`, users: n, candidates: 4, concurrency,
        cachePath: join(dir, `c${concurrency}.sqlite`), rewardModel: false, seed: 5,
      });
      const s = (performance.now() - t0) / 1000;
      rates[concurrency] = out.report.requests / s;
      result.measurements.push(measurement({ group: 'llm-serve', name: `concurrency-${concurrency}`, params: { prompts: out.report.requests, concurrency, latencyMs: LATENCY_MS }, unit: 'prompts', perRep: out.report.requests, cores: 1, seconds: [s] }));
      result.checks.push({ name: `llm-serve: ${concurrency} in flight`, ok: maxInFlight === concurrency && out.report.failures === 0, detail: `at most ${maxInFlight} requests in flight, ${out.report.failures} failures` });
    }
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  }
  for (const c of [4, 16]) {
    const ratio = rates[c]! / (c * rates[1]!);
    result.checks.push({ name: `llm-serve: concurrency ${c} >= 0.8 x ${c} x the single-request rate`, ok: ratio >= 0.8, detail: `${rates[c]!.toFixed(1)} prompts/s = ${ratio.toFixed(2)} x ${c} x ${rates[1]!.toFixed(2)}` });
  }
  return result;
}

export const llmServeGroup: Group = { name: 'llm-serve', title: 'LLM distillation through an OpenAI-compatible server (stub, fixed latency)', unavailable: null, run };
