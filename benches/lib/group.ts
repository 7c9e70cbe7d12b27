// What every bench group receives and returns.

import type { Measurement, Plan } from './measure.js';

export interface GroupContext {
  /** Repository root. */
  root: string;
  quick: boolean;
  /** --sizes: batch sizes for the env group; null = the group's defaults. */
  sizes: number[] | null;
  plan: Plan;
  log: (line: string) => void;
}

export interface GroupResult {
  measurements: Measurement[];
  /** Facts a reader needs next to the numbers (what ran, what was skipped). */
  notes: string[];
  /** Correctness checks made on the way (e.g. native and reference agree). */
  checks: { name: string; ok: boolean; detail: string }[];
}

export interface Group {
  name: string;
  title: string;
  /** null when the group can run; otherwise why it cannot yet. */
  unavailable: string | null;
  run: (ctx: GroupContext) => Promise<GroupResult>;
}
