// The targets of issue #8, judged from the measurements of one invocation.
//
// A ratio of two cases is taken repetition by repetition (the cases ran
// interleaved, so repetition i of each saw the same machine), and reported as
// the median of those paired ratios with their min and max.

import type { Measurement, Spread } from './measure.js';
import { spread } from './measure.js';

export type Status = 'MET' | 'NOT MET' | 'n/a' | 'not measured';

export interface TargetResult {
  target: string;
  status: Status;
  /** The measured value or ratio (median), null when not measured. */
  value: number | null;
  required: number | null;
  measured: string;
}

/** The batch size the single-B targets are judged at, when it was measured. */
export const HEADLINE_B = 16384;

function env(ms: Measurement[], name: string, b: number): Measurement | undefined {
  return ms.find((m) => m.group === 'env' && m.name.startsWith(name) && m.params.B === b);
}

/** Paired ratios a / b over interleaved repetitions. */
export function pairedRatio(a: Measurement, b: Measurement): Spread {
  const n = Math.min(a.seconds.length, b.seconds.length);
  const r = [];
  for (let i = 0; i < n; i++) r.push(a.perRep / a.seconds[i] / (b.perRep / b.seconds[i]));
  return spread(r);
}

const M = (x: number) => `${(x / 1e6).toFixed(2)}M`;
const X = (s: Spread) => `${s.median.toFixed(2)}x (paired reps ${s.min.toFixed(2)}-${s.max.toFixed(2)}x)`;

function judge(target: string, value: number, required: number, measured: string): TargetResult {
  return { target, status: value >= required ? 'MET' : 'NOT MET', value, required, measured };
}

function missing(target: string, why: string): TargetResult {
  return { target, status: 'not measured', value: null, required: null, measured: why };
}

export function judgeTargets(ms: Measurement[]): TargetResult[] {
  const out: TargetResult[] = [];
  const sizes = [...new Set(ms.filter((m) => m.group === 'env' && m.name === 'native').map((m) => Number(m.params.B)))].sort((a, b) => a - b);
  const hb = sizes.includes(HEADLINE_B) ? HEADLINE_B : sizes[sizes.length - 1];
  const native = hb === undefined ? undefined : env(ms, 'native', hb);
  const noEnv = 'env group not run';

  const t1 = 'native batched synthetic >= 10M user-steps/s per core (d = 32)';
  if (native) {
    const t = native.throughput;
    const cpu = native.perCpuSecond === undefined ? '' : `; ${M(native.perCpuSecond)} per CPU-second`;
    out.push(
      judge(
        t1,
        native.perCore,
        10e6,
        `${M(native.perCore)} user-steps/s/core at B = ${hb} (reps ${M(t.min)}-${M(t.max)})${cpu}; ${(native.perCore / 10e6).toFixed(2)}x the target`,
      ),
    );
  } else out.push(missing(t1, noEnv));

  const t2 = 'native batched >= 8x the pure-TypeScript reference';
  const ts = hb === undefined ? undefined : env(ms, 'ts-reference', hb);
  if (native && ts) {
    const r = pairedRatio(native, ts);
    out.push(judge(t2, r.median, 8, `${X(r)} at B = ${hb} (reference ${M(ts.throughput.median)}/s)`));
  } else out.push(missing(t2, noEnv));

  const t3 = '2 threads >= 1.7x 1 thread at B >= 16384';
  const pairs = sizes
    .filter((b) => b >= 16384)
    .map((b) => [b, env(ms, 'native-2t', b), env(ms, 'native', b)] as const)
    .filter(([, a, b]) => a && b);
  if (pairs.length) {
    const rs = pairs.map(([b, a, one]) => {
      // CPU-seconds per user-step, 2 threads vs 1: what threading costs in work
      const eff = a!.perCpuSecond && one!.perCpuSecond ? `, CPU time per step 2t/1t = ${(one!.perCpuSecond / a!.perCpuSecond).toFixed(2)}` : '';
      return [b, pairedRatio(a!, one!), eff] as const;
    });
    const worst = Math.min(...rs.map(([, r]) => r.median));
    out.push(judge(t3, worst, 1.7, rs.map(([b, r, eff]) => `B = ${b}: ${X(r)}${eff}`).join('; ')));
  } else out.push(missing(t3, sizes.length ? 'no B >= 16384 measured' : noEnv));

  const t4 = 'batched native >= 50x per-user N-API calls';
  const pu = ms.filter((m) => m.group === 'env' && m.name === 'per-user').sort((a, b) => Number(b.params.B) - Number(a.params.B))[0];
  const nb = pu && env(ms, 'native', Number(pu.params.B));
  if (pu && nb) {
    const r = pairedRatio(nb, pu);
    // what one crossing adds to a user-step: per-user time minus batched time
    const crossing = (1 / pu.throughput.median - 1 / nb.throughput.median) * 1e6;
    out.push(
      judge(
        t4,
        r.median,
        50,
        `${X(r)} at B = ${pu.params.B} (per-user ${M(pu.throughput.median)}/s: ${crossing.toFixed(2)} us per call on top of the step itself)`,
      ),
    );
  } else out.push(missing(t4, sizes.length ? 'per-user case not run (needs a B in 2..1024)' : noEnv));

  const t5 = 'wasm >= 0.5x native single-thread';
  const wasm = hb === undefined ? undefined : env(ms, 'wasm', hb);
  if (native && wasm) {
    const r = pairedRatio(wasm, native);
    out.push(judge(t5, r.median, 0.5, `${X(r)} at B = ${hb} (${wasm.name})`));
  } else out.push(missing(t5, noEnv));

  const t6 = 'ndarray updates >= 0.7x libtorch CPU at the same shapes';
  const torch = ms.filter((m) => m.group === 'ac' && m.name === 'vs-torch:libtorch-cpu');
  const shapes = torch
    .map((t) => [t, ms.find((m) => m.group === 'ac' && m.name === 'vs-torch:ndarray' && m.params.batch === t.params.batch && m.params.hidden === t.params.hidden)] as const)
    .filter(([, nd]) => nd);
  if (shapes.length) {
    const rs = shapes.map(([t, nd]) => [t.params, pairedRatio(nd!, t)] as const);
    const worst = Math.min(...rs.map(([, r]) => r.median));
    out.push(
      judge(
        t6,
        worst,
        0.7,
        `worst shape ${worst.toFixed(2)}x; ` + rs.map(([p, r]) => `hidden ${p.hidden} batch ${p.batch}: ${X(r)}`).join('; ') + ' (one thread each)',
      ),
    );
  } else {
    out.push(missing(t6, 'no torch build here (IALP_TORCH=1 bash scripts/setup.sh adds it), or the ac group was not run'));
  }
  const t7 = 'batched LLM prompts >= 2x sequential';
  const seq = ms.find((m) => m.group === 'llm' && m.name === 'sequential');
  const bat = ms.find((m) => m.group === 'llm' && m.name === 'batched-4');
  if (seq && bat) {
    const r = bat.throughput.median / seq.throughput.median;
    out.push(judge(t7, r, 2, `${r.toFixed(2)}x (${bat.throughput.median.toFixed(2)} vs ${seq.throughput.median.toFixed(2)} prompts/s, 4 sequences vs 1)`));
  } else out.push(missing(t7, 'llm group not run'));
  return out;
}
