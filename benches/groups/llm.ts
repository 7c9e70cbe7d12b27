// Group `llm`: prompts/s of the default model (SmolLM2-135M-Instruct on the
// CPU) answering the same Coat preference prompts sequentially (1 sequence) and
// batched (4 sequences in flight), then the cache-hit path (a rerun served
// from SQLite). Each pass uses a fresh cache so every prompt reaches the model.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { distillPreferences, llm, World } from '../../packages/ts-api/src/index.js';
import type { Group, GroupContext, GroupResult } from '../lib/group.js';
import { measurement } from '../lib/measure.js';

async function run(ctx: GroupContext): Promise<GroupResult> {
  const prompts = ctx.quick ? 4 : 8;
  const world = await World.load({ name: 'coat' }, 'native');
  const dir = await mkdtemp(join(tmpdir(), 'ialp-bench-llm-'));
  const result: GroupResult = {
    measurements: [],
    notes: [
      `${prompts} Coat prompts (K = 4 candidates, H = 10), the default model on the CPU with node-llama-cpp's default threads; ` +
        'one timed pass per case (model loading excluded), so the spread is that of a single run.',
    ],
    checks: [],
  };
  const passes: [string, number][] = [['sequential', 1], ['batched-4', 4]];
  const answers: string[] = [];
  try {
    for (const [name, concurrency] of passes) {
      ctx.log(`llm: ${name}`);
      const backend = await llm.resolveLlm('default', { concurrency });
      const cachePath = join(dir, `${name}.sqlite`);
      const opts = { world, llm: backend, users: prompts, candidates: 4, concurrency, cachePath, rewardModel: false as const, seed: 11 };
      const t0 = performance.now();
      const out = await distillPreferences(opts);
      const s = (performance.now() - t0) / 1000;
      answers.push(JSON.stringify(out.labels.map((l) => l.rewards)));
      result.measurements.push(measurement({ group: 'llm', name, params: { prompts, concurrency }, unit: 'prompts', perRep: out.report.requests, cores: 1, seconds: [s] }));
      if (name === 'batched-4') {
        const t1 = performance.now();
        const again = await distillPreferences(opts);
        const s2 = (performance.now() - t1) / 1000;
        result.checks.push({ name: 'llm: the rerun makes no model call', ok: again.report.llmCalls === 0, detail: `${again.report.llmCalls} calls, ${again.report.cacheHits} cache hits` });
        result.measurements.push(measurement({ group: 'llm', name: 'cache-hit', params: { prompts }, unit: 'prompts', perRep: again.report.requests, cores: 1, seconds: [s2] }));
      }
      await backend.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  result.checks.push({ name: 'llm: batched answers equal sequential ones', ok: answers[0] === answers[1], detail: 'greedy decoding, sequence cleared before each prompt' });
  return result;
}

export const llmGroup: Group = { name: 'llm', title: 'LLM distillation (default model)', unavailable: null, run };
