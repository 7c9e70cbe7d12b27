// Timing: warm-up, calibrated repetitions, medians and spread.
//
// A repetition runs a case `k` times in a row and is timed as a whole, with `k`
// chosen during warm-up so one repetition lasts about `repMs`: timing each call on
// its own would add the timer's cost (~0.1 us) to calls that take ~0.3 us (one
// user stepped natively). Cases compared with each other run interleaved,
// repetition by repetition, so a slow spell on a shared machine hits them alike.

import { performance } from 'node:perf_hooks';

export interface Plan {
  /** Untimed repetitions after calibration. */
  warmup: number;
  /** Timed repetitions. */
  reps: number;
  /** Target length of one repetition, ms. */
  repMs: number;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  q1: number;
  q3: number;
}

/** One measured case, throughput in `unit`s per second. */
export interface Measurement {
  group: string;
  name: string;
  params: Record<string, number | string | boolean>;
  unit: string;
  /** Units one repetition processes. */
  perRep: number;
  /** Cores the case keeps busy (threads), for the per-core figure. */
  cores: number;
  /** Wall time of each timed repetition, s. */
  seconds: number[];
  /**
   * CPU time the process used in each repetition (all its threads, user +
   * system), s; absent for cases timed outside this process.
   */
  cpuSeconds?: number[];
  /** Units per second over the repetitions. */
  throughput: Spread;
  /** Units per second per core (median throughput / cores). */
  perCore: number;
  /**
   * Units per CPU-second (median): unlike wall-clock figures this barely moves
   * when other processes compete for the cores.
   */
  perCpuSecond?: number;
  note?: string;
}

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function spread(values: number[]): Spread {
  const s = [...values].sort((a, b) => a - b);
  return { median: quantile(s, 0.5), min: s[0], max: s[s.length - 1], q1: quantile(s, 0.25), q3: quantile(s, 0.75) };
}

/** Builds a measurement from per-repetition wall times. */
export function measurement(m: Omit<Measurement, 'throughput' | 'perCore' | 'perCpuSecond'>): Measurement {
  const throughput = spread(m.seconds.map((s) => m.perRep / s));
  const out: Measurement = { ...m, throughput, perCore: throughput.median / m.cores };
  if (m.cpuSeconds) out.perCpuSecond = spread(m.cpuSeconds.map((s) => m.perRep / s)).median;
  return out;
}

/** A case to time: `run(k)` does k units of work of `unitsPerCall` each. */
export interface Case {
  name: string;
  unitsPerCall: number;
  run: (calls: number) => void;
  /** Filled in by `timeInterleaved`. */
  calls?: number;
  seconds?: number[];
  cpuSeconds?: number[];
}

/** Finds how many calls fill about `ms` milliseconds (also warms the JIT and caches). */
export function calibrate(c: Case, ms: number): number {
  let calls = 1;
  for (;;) {
    const t0 = performance.now();
    c.run(calls);
    const dt = performance.now() - t0;
    if (dt >= ms / 4 || calls >= 1 << 30) {
      return Math.max(1, Math.round((calls * ms) / Math.max(dt, 1e-3)));
    }
    calls *= dt > 0 ? Math.min(16, Math.max(2, Math.ceil(ms / 4 / dt))) : 16;
  }
}

/** Calibrates and warms every case, then times them repetition by repetition, interleaved. */
export function timeInterleaved(cases: Case[], plan: Plan): void {
  for (const c of cases) {
    c.calls = calibrate(c, plan.repMs);
    for (let i = 0; i < plan.warmup; i++) c.run(c.calls);
    c.seconds = [];
    c.cpuSeconds = [];
  }
  for (let r = 0; r < plan.reps; r++) {
    for (const c of cases) {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      c.run(c.calls!);
      const t1 = performance.now();
      const cpu = process.cpuUsage(cpu0);
      c.seconds!.push((t1 - t0) / 1000);
      c.cpuSeconds!.push(Math.max(cpu.user + cpu.system, 1) / 1e6);
    }
  }
}
