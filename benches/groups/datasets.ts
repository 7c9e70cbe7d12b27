// Group `datasets`: stepping the dataset environments (MovieLens latest-small
// and Coat, shipped with ialp) through the native and wasm builds, side by side.
// Rewards come from the fitted user model (a dot product of 16 factors) plus
// noise, so a step costs about what a `synthetic` step does.

import { Environment, World } from '../../packages/ts-api/src/index.js';
import type { Group, GroupContext, GroupResult } from '../lib/group.js';
import { measurement, timeInterleaved, type Case } from '../lib/measure.js';
import { actionRows } from './env.js';

const ROWS = 64; // env.ts cycles the same number of rows

function stepCase(name: string, env: Environment, rows: Uint32Array[]): Case {
  let t = 0;
  return {
    name,
    unitsPerCall: env.batchSize,
    run(calls) {
      for (let i = 0; i < calls; i++) env.step(rows[t++ % ROWS]!);
      env.drainEpisodes();
    },
  };
}

async function run(ctx: GroupContext): Promise<GroupResult> {
  const sizes = ctx.sizes ?? (ctx.quick ? [256] : [256, 4096]);
  const result: GroupResult = {
    measurements: [],
    notes: ['movielens (610 x 9,742, MF dim 16) and coat (290 x 300); quit model and auto-reset on; ' + `${ROWS} fixed rows of random actions cycled.`],
    checks: [],
  };
  for (const name of ['movielens', 'coat']) {
    const worlds = { native: await World.load({ name }, 'native'), wasm: await World.load({ name }, 'wasm') };
    for (const b of sizes) {
      ctx.log(`datasets: ${name}, B = ${b}`);
      const envs = {
        native: await Environment.create({ name, world: worlds.native, batchSize: b, seed: 1 }),
        wasm: await Environment.create({ name, world: worlds.wasm, batchSize: b, seed: 1 }),
      };
      const rows = actionRows(b, envs.native.nItems, 0x2468ace);
      const a = Array.from(envs.native.step(rows[0]!).rewards);
      const w = Array.from(envs.wasm.step(rows[0]!).rewards);
      result.checks.push({ name: `${name} B=${b}: native and wasm agree`, ok: a.every((x, i) => Object.is(x, w[i])), detail: 'rewards of the first step' });
      const cases = [stepCase(`${name}-native`, envs.native, rows), stepCase(`${name}-wasm`, envs.wasm, rows)];
      timeInterleaved(cases, ctx.plan);
      for (const c of cases) {
        result.measurements.push(measurement({
          group: 'datasets',
          name: c.name,
          params: { env: name, B: b },
          unit: 'user-steps',
          perRep: c.unitsPerCall * c.calls!,
          cores: 1,
          seconds: c.seconds!,
          cpuSeconds: c.cpuSeconds!,
        }));
      }
    }
  }
  return result;
}

export const datasetsGroup: Group = {
  name: 'datasets',
  title: 'Environment stepping (movielens, coat)',
  unavailable: null,
  run,
};
