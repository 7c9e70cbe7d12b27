// Shards of an experiment as Ray jobs, through Ray's Job Submission REST API
// (the dashboard's /api/jobs/, what `ray job submit` uses). Ray schedules;
// ialp only submits, watches, retries a failed shard once and merges.

import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { IalpError } from './options.js';

export type RayJobStatus = 'PENDING' | 'RUNNING' | 'STOPPED' | 'SUCCEEDED' | 'FAILED';

export interface RayShardsOptions {
  /** The dashboard's address, e.g. http://127.0.0.1:8265. */
  address: string;
  shards: number;
  /** The shell command of shard i (Ray runs it on a node of the cluster). */
  entrypoint: (shard: number) => string;
  /** Prefix of the jobs' submission ids (each gets -shard-I-try-K). */
  name: string;
  /** Seconds between status polls. Default 1. */
  pollSeconds?: number;
  /** Tries per shard (a failed shard is resubmitted). Default 2. */
  tries?: number;
  onStatus?: (shard: number, status: RayJobStatus, attempt: number, lastLine: string) => void;
  signal?: AbortSignal;
}

/** One request to the dashboard. Not `fetch`: it sends the Sec-Fetch-Mode
 * header of browsers, and Ray's dashboard refuses writes from browsers. */
function call(address: string, path: string, init?: { method?: string; body?: string }): Promise<unknown> {
  const url = new URL(`${address.replace(/\/+$/, '')}${path}`);
  const method = init?.method ?? 'GET';
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
      method,
      headers: { 'content-type': 'application/json', 'user-agent': 'ialp', ...(init?.body ? { 'content-length': Buffer.byteLength(init.body) } : {}) },
      timeout: 30_000,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if ((res.statusCode ?? 0) >= 300) return reject(new IalpError(`ray: ${method} ${url.href}: HTTP ${res.statusCode}: ${text.slice(0, 300)}`));
        try {
          resolve(JSON.parse(text));
        } catch {
          reject(new IalpError(`ray: ${url.href} answered with something that is not JSON: ${text.slice(0, 120)}`));
        }
      });
      res.on('error', (e) => reject(new IalpError(`ray: ${method} ${url.href}: ${e.message}`)));
    });
    req.on('timeout', () => req.destroy(new Error('no answer in 30 s')));
    req.on('error', (e: NodeJS.ErrnoException) => reject(new IalpError(`ray: cannot reach the Ray dashboard at ${address} (${e.code ?? e.message}): is a cluster running (ray start --head) and is this its dashboard address?`)));
    req.end(init?.body);
  });
}

const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve, reject) => {
  const t = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => { clearTimeout(t); reject(new IalpError('ray: aborted')); }, { once: true });
});

/** Submits every shard as a Ray job, waits for all, resubmitting a failed one
 * up to `tries` times; rejects naming the shard and its log's last lines if a
 * shard fails on its last try. */
export async function runShardsOnRay(o: RayShardsOptions): Promise<void> {
  let parsed: URL | undefined;
  try {
    parsed = new URL(o.address);
  } catch {
    // falls through to the error below
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new IalpError(`--ray ${JSON.stringify(o.address)}: expected the http(s):// address of a Ray dashboard (e.g. http://head:8265)`);
  }
  const tries = o.tries ?? 2;
  const poll = (o.pollSeconds ?? 1) * 1000;
  const submit = async (shard: number, attempt: number): Promise<string> => {
    const id = `${o.name}-shard-${shard}-try-${attempt}`;
    await call(o.address, '/api/jobs/', {
      method: 'POST',
      body: JSON.stringify({ entrypoint: o.entrypoint(shard), submission_id: id, metadata: { ialp: 'experiment shard', shard: `${shard}/${o.shards}` } }),
    });
    return id;
  };
  const logLines = async (id: string) => {
    const r = await call(o.address, `/api/jobs/${id}/logs`).catch(() => ({ logs: '' }));
    return String((r as { logs?: unknown }).logs ?? '').trim().split('\n');
  };
  const jobs = await Promise.all(Array.from({ length: o.shards }, async (_, i) => ({ shard: i, attempt: 1, id: await submit(i, 1), status: 'PENDING' as RayJobStatus })));
  for (;;) {
    let running = 0;
    for (const j of jobs) {
      if (j.status === 'SUCCEEDED') continue;
      const info = (await call(o.address, `/api/jobs/${j.id}`)) as { status?: string; message?: string };
      const status = String(info.status ?? 'PENDING') as RayJobStatus;
      const lines = status === j.status && status !== 'RUNNING' ? [] : await logLines(j.id);
      if (status !== j.status || status === 'RUNNING') o.onStatus?.(j.shard, status, j.attempt, lines.at(-1) ?? '');
      j.status = status;
      if (status === 'FAILED' || status === 'STOPPED') {
        if (j.attempt >= tries) {
          throw new IalpError(`ray: shard ${j.shard}/${o.shards} (job ${j.id}) ${status.toLowerCase()} on try ${j.attempt} of ${tries}: ${info.message ?? ''}\n${lines.slice(-8).join('\n')}`);
        }
        j.attempt++;
        j.id = await submit(j.shard, j.attempt);
        j.status = 'PENDING';
      }
      if (j.status !== 'SUCCEEDED') running++;
    }
    if (running === 0) return;
    await sleep(poll, o.signal);
  }
}
