// Group `env`: stepping `synthetic` (d = 32) at several batch sizes B, through
// every way a JavaScript program can step it, side by side:
//   native        one N-API call steps B users (@ialp/native), 1 thread
//   native-2t     the same with {"batch": {"threads": 2}} (B >= 16384)
//   wasm          one call into the WebAssembly build (@ialp/wasm)
//   ts-reference  the pure-TypeScript port in benches/reference/synthetic.ts
//   per-user      B Envs of batchSize 1, one N-API call per user
// Every case at a given B is checked to step the same numbers first (except
// per-user, whose users differ), then timed interleaved.

import { Env } from '@ialp/native';
import initWasm, { Env as WasmEnv, loadedVariant } from '@ialp/wasm';
import type { Group, GroupContext, GroupResult } from '../lib/group.js';
import { measurement, timeInterleaved, type Case, type Measurement } from '../lib/measure.js';
import { ReferenceEnv, type EnvSpec } from '../reference/synthetic.js';

export const DIM = 32;
export const SIZES = [1, 16, 256, 4096, 16384, 65536];
export const QUICK_SIZES = [1, 256, 4096, 16384];
/** Batches from this size on are also stepped with 2 threads. */
export const THREADS_FROM = 16384;
/** crates/sim/src/batch.rs MIN_SLOTS_PER_THREAD: a thread per this many slots at most. */
const MIN_SLOTS_PER_THREAD = 4096;
/** Most single-user Envs built for the per-user case (each holds its own world). */
const PER_USER_MAX = 1024;
const PER_USER_MAX_QUICK = 256;
/** Distinct action rows, cycled. */
const ROWS = 64;

interface Stepper {
  step(actions: Uint32Array, rewards: Float32Array, dones: Uint8Array): void;
  drainEpisodes(): unknown;
}

function spec(batchSize: number, threads: number, seed = 1): EnvSpec & { name: string } {
  return { name: 'synthetic', batch: { batchSize, seed, ...(threads > 1 ? { threads } : {}) }, synthetic: { dim: DIM } } as EnvSpec & {
    name: string;
  };
}

/** Seeded action rows, the same for every case. */
export function actionRows(b: number, nItems: number, seed = 0x12345678): Uint32Array[] {
  let x = seed;
  return Array.from({ length: ROWS }, () => {
    const row = new Uint32Array(b);
    for (let i = 0; i < b; i++) {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      row[i] = x % nItems;
    }
    return row;
  });
}

/** Steps `env` `calls` times over the action rows, then drains its episodes. */
function batchedCase(name: string, b: number, env: Stepper, rows: Uint32Array[]): Case {
  const rewards = new Float32Array(b);
  const dones = new Uint8Array(b);
  let t = 0;
  return {
    name,
    unitsPerCall: b,
    run(calls) {
      for (let i = 0; i < calls; i++) env.step(rows[t++ % ROWS], rewards, dones);
      env.drainEpisodes();
    },
  };
}

/** B single-user Envs, each stepped by its own call. */
function perUserCase(b: number, rows: Uint32Array[]): Case {
  const envs = Array.from({ length: b }, (_, j) => new Env(spec(1, 1, j + 1)));
  const rewards = new Float32Array(b);
  const dones = new Uint8Array(b);
  const views = rows.map((row) => Array.from({ length: b }, (_, j) => row.subarray(j, j + 1)));
  const rv = Array.from({ length: b }, (_, j) => rewards.subarray(j, j + 1));
  const dv = Array.from({ length: b }, (_, j) => dones.subarray(j, j + 1));
  let t = 0;
  return {
    name: 'per-user',
    unitsPerCall: b,
    run(calls) {
      for (let i = 0; i < calls; i++) {
        const row = views[t++ % ROWS];
        for (let j = 0; j < b; j++) envs[j].step(row[j], rv[j], dv[j]);
      }
      for (let j = 0; j < b; j++) envs[j].drainEpisodes();
    },
  };
}

/** Whether the steppers return identical rewards and dones for the same actions. */
function agree(b: number, steppers: [string, Stepper][], rows: Uint32Array[]): { ok: boolean; detail: string } {
  const out = steppers.map(() => ({ r: new Float32Array(b), d: new Uint8Array(b) }));
  const steps = 3;
  for (let t = 0; t < steps; t++) {
    steppers.forEach(([, s], k) => s.step(rows[t % ROWS], out[k].r, out[k].d));
    for (let k = 1; k < steppers.length; k++) {
      for (let i = 0; i < b; i++) {
        if (!Object.is(out[k].r[i], out[0].r[i]) || out[k].d[i] !== out[0].d[i]) {
          return {
            ok: false,
            detail: `step ${t}, slot ${i}: ${steppers[0][0]} gives ${out[0].r[i]}/${out[0].d[i]}, ${steppers[k][0]} gives ${out[k].r[i]}/${out[k].d[i]}`,
          };
        }
      }
    }
  }
  return { ok: true, detail: `${steppers.map(([n]) => n).join(', ')}: identical rewards and dones over ${steps} steps` };
}

async function run(ctx: GroupContext): Promise<GroupResult> {
  const sizes = ctx.sizes ?? (ctx.quick ? QUICK_SIZES : SIZES);
  const perUserMax = ctx.quick ? PER_USER_MAX_QUICK : PER_USER_MAX;
  await initWasm();
  const wasmName = `wasm-${loadedVariant()}`;
  const result: GroupResult = {
    measurements: [],
    notes: [
      `synthetic with d = ${DIM}, defaults otherwise (500 items, 10 categories, H = 10, warm start 3, auto-reset); ` +
        `${ROWS} fixed rows of random actions cycled; finished episodes drained after every repetition.`,
      `wasm: the ${loadedVariant()} build of @ialp/wasm (arrays are copied into and out of wasm memory on each call).`,
      `per-user: B Envs of batchSize 1, one N-API call per user per step, for 1 < B <= ${perUserMax} ` +
        '(each Env holds its own world, so larger B would cost memory, not information).',
      `native-2t: {"batch":{"threads":2}} for B >= ${THREADS_FROM}; per-core figures divide by the threads used.`,
    ],
    checks: [],
  };
  for (const b of sizes) {
    ctx.log(`env: B = ${b}`);
    const native = new Env(spec(b, 1));
    const rows = actionRows(b, native.nItems);
    const wasm = new WasmEnv(spec(b, 1));
    const reference = new ReferenceEnv(spec(b, 1));
    const steppers: [string, Stepper][] = [
      ['native', native],
      [wasmName, wasm],
      ['ts-reference', reference],
    ];
    const threads = b >= THREADS_FROM ? 2 : 1;
    if (threads > 1) steppers.push(['native-2t', new Env(spec(b, threads))]);
    const check = agree(b, steppers, rows);
    result.checks.push({ name: `env B=${b}: same results`, ...check });
    const cases = steppers.map(([name, s]) => batchedCase(name, b, s, rows));
    if (b > 1 && b <= perUserMax) cases.push(perUserCase(b, rows));
    timeInterleaved(cases, ctx.plan);
    for (const c of cases) {
      const cores = c.name === 'native-2t' ? Math.min(threads, Math.max(1, Math.floor(b / MIN_SLOTS_PER_THREAD))) : 1;
      const m: Measurement = measurement({
        group: 'env',
        name: c.name,
        params: { B: c.unitsPerCall, d: DIM, threads: cores },
        unit: 'user-steps',
        perRep: c.unitsPerCall * c.calls!,
        cores,
        seconds: c.seconds!,
        cpuSeconds: c.cpuSeconds!,
      });
      result.measurements.push(m);
    }
    wasm.free();
  }
  return result;
}

export const envGroup: Group = {
  name: 'env',
  title: 'Environment stepping (synthetic, d = 32)',
  unavailable: null,
  run,
};
