// Training logs: one record per update of every online training run, written
// as metrics.jsonl (one JSON object per line) and exported to TensorBoard's
// event files (TFRecord framing, Event protos) without TensorBoard itself.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { IalpError } from './options.js';
import { writeFileAtomic } from './paths.js';
import { readFileBounded } from './read.js';
import type { TrainProgress } from './train.js';

/** One update of one training run (a line of metrics.jsonl). */
export interface UpdateRecord {
  /** The method trained: a2c, offline-logs+ft, a-ialp-ft, a-ialp-ap. */
  method: string;
  env: string;
  seed: number;
  /** The preference source of the cell, or null for runs that use none. */
  source: string | null;
  /** The sweep's cell (`adaptive.prior=0.05, pretrain.steps=100000`); absent without a sweep. */
  cell?: string;
  /** Updates done so far (1 for the first). */
  update: number;
  envSteps: number;
  episodes: number;
  policyLoss: number;
  valueLoss: number;
  entropy: number;
  totalLoss: number;
  gradNorm: number;
  /** Mean return of the episodes that finished during this update; null if none did. */
  meanReturn: number | null;
}

const NUMERIC = ['seed', 'update', 'envSteps', 'episodes', 'policyLoss', 'valueLoss', 'entropy', 'totalLoss', 'gradNorm'] as const;

/** The record of a training progress report. */
export function updateRecord(p: TrainProgress, run: { method: string; env: string; seed: number; source?: string | null; cell?: string }): UpdateRecord {
  return {
    method: run.method, env: run.env, seed: run.seed, source: run.source ?? null, ...(run.cell === undefined ? {} : { cell: run.cell }),
    update: p.updates, envSteps: p.envSteps, episodes: p.episodes,
    policyLoss: p.loss.policyLoss, valueLoss: p.loss.valueLoss, entropy: p.loss.entropy, totalLoss: p.loss.total, gradNorm: p.loss.gradNorm,
    meanReturn: p.recentReturn,
  };
}

/** Writes records as JSON lines, replacing `path` atomically. */
export async function writeMetricsJsonl(path: string, records: readonly UpdateRecord[]): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(records.map((r) => JSON.stringify(r)).join('\n') + (records.length ? '\n' : '')));
}

/** Reads metrics.jsonl, naming the file, line and field of anything that is not a record. */
/** Largest metrics.jsonl read back: 256 MiB (about a million update records). */
export const MAX_METRICS_BYTES = 256 * 2 ** 20;

export async function readMetricsJsonl(path: string): Promise<UpdateRecord[]> {
  // bounded: /dev/zero or a FIFO fails at once instead of growing without end
  const text = (await readFileBounded(path, 'metrics file', MAX_METRICS_BYTES)).toString('utf8');
  const out: UpdateRecord[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    const where = `${path}:${i + 1}`;
    let r: unknown;
    try {
      r = JSON.parse(line);
    } catch {
      throw new IalpError(`${where}: not a JSON object: ${line.slice(0, 60)}`);
    }
    if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new IalpError(`${where}: expected a JSON object, got ${line.slice(0, 60)}`);
    const o = r as Record<string, unknown>;
    for (const k of ['method', 'env'] as const) if (typeof o[k] !== 'string') throw new IalpError(`${where}: "${k}" must be a string, got ${JSON.stringify(o[k])}`);
    if (o.source !== null && typeof o.source !== 'string') throw new IalpError(`${where}: "source" must be a string or null, got ${JSON.stringify(o.source)}`);
    if (o.cell !== undefined && typeof o.cell !== 'string') throw new IalpError(`${where}: "cell" must be a string when present, got ${JSON.stringify(o.cell)}`);
    for (const k of NUMERIC) if (typeof o[k] !== 'number') throw new IalpError(`${where}: "${k}" must be a number, got ${JSON.stringify(o[k])}`);
    if (o.meanReturn !== null && typeof o.meanReturn !== 'number') throw new IalpError(`${where}: "meanReturn" must be a number or null, got ${JSON.stringify(o.meanReturn)}`);
    out.push(o as unknown as UpdateRecord);
  });
  return out;
}

// --- TensorBoard event files ---------------------------------------------

const CRC32C = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32C (Castagnoli), as TFRecord frames use. */
export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC32C[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const masked = (crc: number) => ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;

/** A protobuf message built field by field (only the wire types Event needs). */
class Proto {
  private parts: number[] = [];
  private varint(v: number | bigint): void {
    let x = BigInt(v);
    while (x >= 0x80n) {
      this.parts.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.parts.push(Number(x));
  }
  double(field: number, v: number): this {
    this.varint((field << 3) | 1);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.parts.push(...b);
    return this;
  }
  float(field: number, v: number): this {
    this.varint((field << 3) | 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.parts.push(...b);
    return this;
  }
  int64(field: number, v: number): this {
    this.varint(field << 3);
    this.varint(v);
    return this;
  }
  bytes(field: number, v: Uint8Array | string): this {
    const b = typeof v === 'string' ? new TextEncoder().encode(v) : v;
    this.varint((field << 3) | 2);
    this.varint(b.length);
    this.parts.push(...b);
    return this;
  }
  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

function frame(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 + data.length + 4);
  const v = new DataView(out.buffer);
  v.setBigUint64(0, BigInt(data.length), true);
  v.setUint32(8, masked(crc32c(out.subarray(0, 8))), true);
  out.set(data, 12);
  v.setUint32(12 + data.length, masked(crc32c(data)), true);
  return out;
}

/** tensorflow.Event { wall_time = 1, step = 2, file_version = 3, summary = 5 { value = 1 { tag = 1, simple_value = 2 } } } */
function scalarEvent(step: number, wallTime: number, values: [string, number][]): Uint8Array {
  const summary = new Proto();
  for (const [tag, x] of values) summary.bytes(1, new Proto().bytes(1, tag).float(2, x).done());
  return new Proto().double(1, wallTime).int64(2, step).bytes(5, summary.done()).done();
}

/** The folder of a run's event file under the export root: env[/source][/cell]/method/seed-N. */
export function runFolder(r: Pick<UpdateRecord, 'env' | 'source' | 'cell' | 'method' | 'seed'>): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._=-]+/g, '_');
  return [safe(r.env), ...(r.source ? [safe(r.source)] : []), ...(r.cell ? [safe(r.cell)] : []), safe(r.method), `seed-${r.seed}`].join('/');
}

/**
 * Writes one TensorBoard event file per training run (env, source, method,
 * seed) under `dir`, its scalars at step = the update: loss/policy,
 * loss/value, loss/total, entropy, grad_norm, episodes and, where episodes
 * finished, return. Wall times are the update index (the records are
 * deterministic; TensorBoard plots by step). Returns the files written.
 */
export async function exportTensorBoard(dir: string, records: readonly UpdateRecord[]): Promise<string[]> {
  const runs = new Map<string, UpdateRecord[]>();
  for (const r of records) {
    const k = runFolder(r);
    const run = runs.get(k);
    if (run) run.push(r);
    else runs.set(k, [r]);
  }
  const files: string[] = [];
  for (const [folder, rs] of runs) {
    const frames = [frame(new Proto().double(1, 0).bytes(3, 'brain.Event:2').done())];
    for (const r of rs) {
      const values: [string, number][] = [
        ['loss/policy', r.policyLoss], ['loss/value', r.valueLoss], ['loss/total', r.totalLoss],
        ['entropy', r.entropy], ['grad_norm', r.gradNorm], ['episodes', r.episodes],
      ];
      if (r.meanReturn !== null) values.push(['return', r.meanReturn]);
      frames.push(frame(scalarEvent(r.update, r.update, values)));
    }
    const bytes = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    let at = 0;
    for (const f of frames) {
      bytes.set(f, at);
      at += f.length;
    }
    const d = join(dir, folder);
    await mkdir(d, { recursive: true });
    const file = join(d, 'events.out.tfevents.0.ialp');
    await writeFileAtomic(file, bytes);
    files.push(file);
  }
  return files;
}
