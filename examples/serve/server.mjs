// A recommendation service on Node's own HTTP stack: loads a policy artefact at
// start and answers
//   POST /recommend     {"history": [{"item": 12, "reward": 1}, ...], "k": 10}
//                       -> {"items": [{"item": 7, "score": 0.031}, ...], "policy": {...}}
//   GET  /health        -> {"status": "ok", "backend": "native", "policy": {...}}
//   GET  /metrics       -> Prometheus text format: requests by route and status, a
//                          latency histogram, the policy's generation and description
//   GET  /openapi.json  -> the OpenAPI 3.1 description (examples/serve/openapi.json)
//   POST /admin/policy  body: the bytes of a new artefact (needs --admin-token; the
//                       token is compared in constant time, as SHA-256 digests)
// and reloads the artefact file on SIGHUP. A swap loads and checks the new policy
// first and then replaces one reference: requests already running finish on the
// old policy (a recommendation is one synchronous call), later ones use the new
// one, none is dropped, and a bad artefact leaves the old policy serving.
//
// With --workers N, N worker threads (recommend-worker.mjs) each hold a copy of the
// policy and compute the recommendations; the HTTP thread parses, dispatches to the
// least busy worker and answers. A swap is loaded and checked here, then posted to
// every worker, and takes effect once all have it; a worker that dies is replaced
// and the requests it held are asked of another worker once. Without it (the
// default) the HTTP thread computes.
//
// Logs are JSON lines on stderr ({"time", "level", "msg", ...}); --access-log adds one
// per request (route, status, milliseconds).
//
// Run: node examples/serve/server.mjs --policy policy.ialp [--port 8080] [--host 127.0.0.1]
//        [--k 10] [--backend auto|native|wasm] [--workers N] [--admin-token TOKEN] [--access-log]
// (IALP_ADMIN_TOKEN may hold the token instead of the command line.)
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { IalpError, Policy } from 'ialp';

const MAX_BODY = 1 << 20; // 1 MiB of JSON is ~50k history entries; artefacts may be larger
const MAX_POLICY = 256 << 20;
/** Worker threads a service may start (--workers). */
export const MAX_WORKERS = 64;

/** The OpenAPI document of this service (served at GET /openapi.json). */
export const OPENAPI = JSON.parse(readFileSync(fileURLToPath(new URL('./openapi.json', import.meta.url)), 'utf8'));
const OPENAPI_TEXT = JSON.stringify(OPENAPI);

const ROUTES = ['/recommend', '/health', '/metrics', '/openapi.json', '/admin/policy'];
/** Upper bounds of the latency histogram, seconds. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

const sha256 = (s) => createHash('sha256').update(s, 'utf8').digest();

/** Whether an Authorization header carries the admin token: both sides hashed to
 * 32-byte digests first, so timingSafeEqual compares equal lengths and the time
 * taken says nothing about the token (not even its length). */
export function tokenMatches(header, token) {
  return timingSafeEqual(sha256(typeof header === 'string' ? header : ''), sha256(`Bearer ${token}`));
}

/** Request counts, a latency histogram per route, and the policy gauges, in Prometheus' text format. */
class Metrics {
  constructor() {
    this.requests = new Map(); // "route status" -> count
    this.latency = new Map(); // route -> { buckets: number[], sum, count }
    this.swaps = 0;
    this.swapFailures = 0;
  }

  observe(route, status, seconds) {
    const key = `${route}\u0000${status}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    let h = this.latency.get(route);
    if (!h) this.latency.set(route, (h = { buckets: LATENCY_BUCKETS.map(() => 0), sum: 0, count: 0 }));
    const i = LATENCY_BUCKETS.findIndex((b) => seconds <= b);
    if (i >= 0) h.buckets[i] += 1;
    h.sum += seconds;
    h.count += 1;
  }

  render(info, backend) {
    const esc = (v) => String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
    const out = [
      '# HELP ialp_http_requests_total HTTP requests answered, by route and status code.',
      '# TYPE ialp_http_requests_total counter',
    ];
    for (const [key, n] of [...this.requests].sort()) {
      const [route, status] = key.split('\u0000');
      out.push(`ialp_http_requests_total{route="${esc(route)}",status="${status}"} ${n}`);
    }
    out.push('# HELP ialp_http_request_duration_seconds Time from a request\'s arrival to its answer, by route.', '# TYPE ialp_http_request_duration_seconds histogram');
    for (const [route, h] of [...this.latency].sort()) {
      let acc = 0;
      LATENCY_BUCKETS.forEach((b, i) => {
        acc += h.buckets[i];
        out.push(`ialp_http_request_duration_seconds_bucket{route="${esc(route)}",le="${b}"} ${acc}`);
      });
      out.push(`ialp_http_request_duration_seconds_bucket{route="${esc(route)}",le="+Inf"} ${h.count}`);
      out.push(`ialp_http_request_duration_seconds_sum{route="${esc(route)}"} ${h.sum}`);
      out.push(`ialp_http_request_duration_seconds_count{route="${esc(route)}"} ${h.count}`);
    }
    out.push(
      '# HELP ialp_policy_generation Generation of the policy serving: 1 at start, +1 per swap.',
      '# TYPE ialp_policy_generation gauge',
      `ialp_policy_generation ${info.generation}`,
      '# HELP ialp_policy_info The policy serving (value 1).',
      '# TYPE ialp_policy_info gauge',
      `ialp_policy_info{generation="${info.generation}",env="${esc(info.env ?? '')}",items="${info.nItems}",history="${info.history}",source="${esc(info.source)}",backend="${esc(backend)}",loaded_at="${esc(info.loadedAt)}"} 1`,
      '# HELP ialp_policy_swaps_total Policy swaps done (SIGHUP, POST /admin/policy, swap()).',
      '# TYPE ialp_policy_swaps_total counter',
      `ialp_policy_swaps_total ${this.swaps}`,
      '# HELP ialp_policy_swap_failures_total Policy swaps refused (a bad artefact or another environment); the old policy kept serving.',
      '# TYPE ialp_policy_swap_failures_total counter',
      `ialp_policy_swap_failures_total ${this.swapFailures}`,
    );
    return `${out.join('\n')}\n`;
  }
}

class WorkerDied extends Error {}

/** Worker threads that compute recommendations, each with its own copy of the
 * policy (see recommend-worker.mjs); requests go to the one with the fewest in flight. */
class WorkerPool {
  constructor(n, backend, log) {
    this.backend = backend;
    this.log = log;
    this.bytes = null;
    this.generation = 0;
    this.nextId = 1;
    this.slots = Array.from({ length: n }, () => null);
    this.closed = false;
  }

  /** Starts the workers with a policy's bytes; resolves once every one has loaded it. */
  async start(bytes, generation) {
    this.bytes = bytes;
    this.generation = generation;
    await Promise.all(this.slots.map((_, i) => this.spawn(i)));
  }

  spawn(i) {
    const w = new Worker(new URL('./recommend-worker.mjs', import.meta.url), { workerData: { backend: this.backend } });
    // ready once it holds the policy: a replacement gets no request before that
    const slot = { worker: w, pending: new Map(), loads: new Map(), ready: false };
    this.slots[i] = slot;
    w.on('message', (m) => {
      if (m.type === 'loaded' || m.type === 'failed') {
        const waiter = slot.loads.get(m.generation);
        slot.loads.delete(m.generation);
        if (m.type === 'loaded') waiter?.resolve(); else waiter?.reject(new Error(m.error));
        return;
      }
      const p = slot.pending.get(m.id);
      if (!p) return;
      slot.pending.delete(m.id);
      if (m.type === 'done') p.resolve({ items: m.items, generation: m.generation });
      else p.reject(m.userError ? new IalpError(m.error) : new Error(m.error));
    });
    const died = (why) => {
      if (this.slots[i] !== slot) return;
      this.slots[i] = null;
      for (const p of slot.pending.values()) p.reject(new WorkerDied(`recommendation worker ${i} ${why}`));
      for (const l of slot.loads.values()) l.reject(new WorkerDied(`recommendation worker ${i} ${why}`));
      if (!this.closed) {
        this.log({ level: 'error', msg: 'recommendation worker died; starting another', worker: i, reason: why });
        this.spawn(i).catch((e) => this.log({ level: 'error', msg: 'recommendation worker failed to start', worker: i, error: e.message }));
      }
    };
    w.on('error', (e) => died(`failed: ${e.message}`));
    w.on('exit', (code) => died(`exited with code ${code}`));
    return this.post(slot, this.bytes, this.generation).then(() => { slot.ready = true; });
  }

  post(slot, bytes, generation) {
    return new Promise((resolve, reject) => {
      slot.loads.set(generation, { resolve, reject });
      slot.worker.postMessage({ type: 'policy', generation, bytes });
    });
  }

  /** Gives every worker a new policy; resolves once all have it. */
  async load(bytes, generation) {
    const old = { bytes: this.bytes, generation: this.generation };
    this.bytes = bytes;
    this.generation = generation;
    try {
      await Promise.all(this.slots.filter(Boolean).map((s) => this.post(s, bytes, generation)));
    } catch (e) {
      // back to the old policy everywhere, so that no worker serves one the service refused
      this.bytes = old.bytes;
      this.generation = old.generation;
      await Promise.allSettled(this.slots.filter(Boolean).map((s) => this.post(s, old.bytes, old.generation)));
      throw e;
    }
  }

  /** A recommendation from the least busy worker; one whose worker dies on it is
   * asked of another once (a recommendation changes nothing, so it can be repeated). */
  async recommend(history, k, excludeSeen) {
    try {
      return await this.ask(history, k, excludeSeen);
    } catch (e) {
      if (!(e instanceof WorkerDied)) throw e;
      return this.ask(history, k, excludeSeen);
    }
  }

  ask(history, k, excludeSeen) {
    const live = this.slots.filter((x) => x?.ready);
    if (live.length === 0) return Promise.reject(new Error('no recommendation worker is ready'));
    const slot = live.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ type: 'recommend', id, history, k, excludeSeen });
    });
  }

  async close() {
    this.closed = true;
    await Promise.all(this.slots.filter(Boolean).map((s) => s.worker.terminate()));
  }
}

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Reads a body of at most `limit` bytes. A larger one is answered 413 at once
 * (without buffering it): the rest is read and dropped, so that the client gets
 * the answer instead of a reset connection, up to 64 MiB more, then the
 * connection is closed. */
function readBody(req, limit) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    if (Number(req.headers['content-length']) > limit) {
      req.on('data', (c) => { size += c.length; if (size > limit + (64 << 20)) req.destroy(); });
      reject(new HttpError(413, `body: ${req.headers['content-length']} bytes is larger than the limit of ${limit} bytes`));
      return;
    }
    req.on('data', (c) => {
      size += c.length;
      if (size > limit + (64 << 20)) req.destroy();
      if (size > limit) {
        chunks.length = 0;
        reject(new HttpError(413, `body: larger than the limit of ${limit} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  // after a 413 the rest of the body is dropped: close rather than reuse the connection
  const close = status === 413 ? { connection: 'close' } : {};
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...close });
  res.end(text);
}

/** Rewards a request may carry: finite and at most 1e6 in size (they are
 * usually in [0, 1]; larger ones overflow the core's 32-bit floats). */
export const MAX_REWARD = 1e6;

/** Checks a /recommend body; throws HttpError(400) naming the field. */
export function parseRecommendRequest(body, nItems, defaultK) {
  let req;
  try {
    req = JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw new HttpError(400, `body: not valid JSON (${e.message})`);
  }
  if (req === null || typeof req !== 'object' || Array.isArray(req)) throw new HttpError(400, 'body: expected a JSON object {"history": [...], "k": N}');
  if (!Array.isArray(req.history)) throw new HttpError(400, `history: expected an array of {"item": integer, "reward": number}, got ${req.history === undefined ? 'nothing' : JSON.stringify(req.history).slice(0, 40)}`);
  const history = req.history.map((h, i) => {
    if (h === null || typeof h !== 'object') throw new HttpError(400, `history[${i}]: expected {"item": integer, "reward": number}, got ${JSON.stringify(h)}`);
    if (!Number.isInteger(h.item) || h.item < 0 || h.item >= nItems) throw new HttpError(400, `history[${i}].item: expected an integer in [0, ${nItems - 1}], got ${JSON.stringify(h.item)}`);
    if (typeof h.reward !== 'number' || !Number.isFinite(h.reward) || Math.abs(h.reward) > MAX_REWARD) throw new HttpError(400, `history[${i}].reward: expected a finite number in [-${MAX_REWARD}, ${MAX_REWARD}], got ${JSON.stringify(h.reward)}`);
    return { item: h.item, reward: h.reward };
  });
  const k = req.k ?? defaultK;
  if (!Number.isInteger(k) || k < 1 || k > nItems) throw new HttpError(400, `k: expected an integer in [1, ${nItems}], got ${JSON.stringify(k)}`);
  if (req.excludeSeen !== undefined && typeof req.excludeSeen !== 'boolean') throw new HttpError(400, `excludeSeen: expected true or false, got ${JSON.stringify(req.excludeSeen)}`);
  return { history, k, excludeSeen: req.excludeSeen ?? true };
}

/** How `next` differs from `current` in what its item ids mean (environment,
 * data fingerprint, number of items), or null when it does not. */
export function environmentMismatch(current, next) {
  const d = (p) => `environment "${p.meta.env ?? '?'}"${p.meta.source && p.meta.source !== p.meta.env ? ` (${p.meta.source})` : ''} with ${p.nItems} items${p.meta.fingerprint ? `, data fingerprint ${p.meta.fingerprint}` : ''}`;
  const same = (current.meta.env ?? null) === (next.meta.env ?? null) && current.nItems === next.nItems &&
    (current.meta.fingerprint ?? '') === (next.meta.fingerprint ?? '');
  return same ? null : `the new policy was trained on ${d(next)}, the service serves ${d(current)}`;
}

/**
 * Starts the service. `policy` is the artefact's path; port 0 picks a free one.
 * Resolves once it listens, with its URL and the means to swap the policy and stop.
 */
export async function startServer({ policy: policyFile, port = 8080, host = '127.0.0.1', k = 10, backend = 'auto', workers = 0, adminToken, log = () => {}, accessLog = false }) {
  if (typeof policyFile !== 'string' || policyFile === '') throw new IalpError('policy: expected the path of a policy artefact (ialp train --save FILE)');
  if (!Number.isInteger(workers) || workers < 0 || workers > MAX_WORKERS) throw new IalpError(`workers: expected an integer in [0, ${MAX_WORKERS}], got ${JSON.stringify(workers)}`);
  if (adminToken !== undefined && (typeof adminToken !== 'string' || adminToken === '')) throw new IalpError('adminToken: expected a non-empty string');
  const metrics = new Metrics();
  const describe = (p, source, generation) => ({ source, generation, loadedAt: new Date().toISOString(), nItems: p.nItems, history: p.history, env: p.meta.env ?? null });
  let generation = 1;
  let policy = await Policy.load(policyFile, backend);
  let info = describe(policy, policyFile, generation);
  let served = 0;
  const pool = workers > 0 ? new WorkerPool(workers, policy.backend.kind, log) : null;
  if (pool) {
    try {
      await pool.start(policy.toBytes(), generation);
    } catch (e) {
      await pool.close();
      throw e;
    }
  }

  // Loads and checks first, then swaps one reference (see the note at the top).
  // A policy of another environment or data (its item ids mean other items) is
  // refused unless `replaceEnvironment` says that is intended.
  // Swaps run one at a time: two at once (a SIGHUP during a POST) would each
  // check the new policy against the same old one, and the later to finish
  // would land unchecked against the other's.
  let swapping = Promise.resolve();
  function swap(next, source, options) {
    const run = swapping.then(() => swapNow(next, source, options));
    swapping = run.catch(() => {});
    return run;
  }

  async function swapNow(next, source, { replaceEnvironment = false } = {}) {
    try {
      const p = next instanceof Uint8Array ? await Policy.fromBytes(next, policy.backend.kind) : await Policy.load(next, policy.backend.kind);
      const mismatch = environmentMismatch(policy, p);
      if (mismatch && !replaceEnvironment) {
        throw new HttpError(409, `policy artefact: ${mismatch}; item ids would change meaning, so the policy serving stays (POST /admin/policy?replaceEnvironment=true to swap anyway)`);
      }
      if (pool) await pool.load(p.toBytes(), generation + 1);
      generation += 1;
      policy = p;
      info = describe(p, source, generation);
      metrics.swaps += 1;
      log({ level: 'info', msg: 'policy loaded', generation, source, items: p.nItems, env: info.env });
      return info;
    } catch (e) {
      metrics.swapFailures += 1;
      log({ level: 'warn', msg: 'policy swap refused', source, error: e.message });
      throw e;
    }
  }

  async function handle(req, res, path) {
    if (path === '/health') {
      if (req.method !== 'GET') throw new HttpError(405, `${req.method} ${path}: expected GET`);
      return send(res, 200, { status: 'ok', backend: policy.backend.kind, workers, served, policy: info });
    }
    if (path === '/metrics') {
      if (req.method !== 'GET') throw new HttpError(405, `${req.method} ${path}: expected GET`);
      const text = metrics.render(info, policy.backend.kind);
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text) });
      return res.end(text);
    }
    if (path === '/openapi.json') {
      if (req.method !== 'GET') throw new HttpError(405, `${req.method} ${path}: expected GET`);
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(OPENAPI_TEXT) });
      return res.end(OPENAPI_TEXT);
    }
    if (path === '/recommend') {
      if (req.method !== 'POST') throw new HttpError(405, `${req.method} ${path}: expected POST`);
      const body = await readBody(req, MAX_BODY);
      const p = policy; // this request's policy, whatever a swap does meanwhile
      const { history, k: n, excludeSeen } = parseRecommendRequest(body, p.nItems, Math.min(k, p.nItems));
      if (pool) {
        const r = await pool.recommend(history, n, excludeSeen);
        served += 1;
        return send(res, 200, { items: r.items, policy: { generation: r.generation } });
      }
      const items = p.recommend(history, { k: n, excludeSeen });
      served += 1;
      return send(res, 200, { items, policy: { generation: info.generation } });
    }
    if (path === '/admin/policy') {
      if (req.method !== 'POST') throw new HttpError(405, `${req.method} ${path}: expected POST`);
      if (!adminToken) throw new HttpError(404, `${path}: disabled; start the server with --admin-token (or IALP_ADMIN_TOKEN) to enable it`);
      if (!tokenMatches(req.headers.authorization, adminToken)) throw new HttpError(401, 'authorization: expected "Bearer <admin token>"');
      const bytes = await readBody(req, MAX_POLICY);
      if (bytes.length === 0) throw new HttpError(400, 'body: expected the bytes of a policy artefact, got nothing');
      const replaceEnvironment = new URL(req.url ?? '/', 'http://x').searchParams.get('replaceEnvironment') === 'true';
      try {
        return send(res, 200, { status: 'swapped', policy: await swap(new Uint8Array(bytes), 'POST /admin/policy', { replaceEnvironment }) });
      } catch (e) {
        if (e instanceof HttpError) throw e;
        throw new HttpError(400, `policy artefact: ${e.message}`);
      }
    }
    throw new HttpError(404, `${path}: not found; expected POST /recommend, GET /health, GET /metrics, GET /openapi.json or POST /admin/policy`);
  }

  const server = createServer((req, res) => {
    const t0 = process.hrtime.bigint();
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    // a fixed set of route labels, whatever paths clients send
    const route = ROUTES.includes(path) ? path : 'other';
    // on 'close', not 'finish': an answer cut short (a body over the limit, a
    // client gone, an error after the headers) is counted too, as "aborted"
    res.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const status = res.writableFinished ? res.statusCode : 'aborted';
      metrics.observe(route, status, seconds);
      if (accessLog) log({ level: 'info', msg: 'request', method: req.method, route, status, ms: Math.round(seconds * 1e6) / 1e3 });
    });
    handle(req, res, path).catch((e) => {
      const status = e instanceof HttpError ? e.status : e instanceof IalpError ? 400 : 500;
      if (status === 500) log({ level: 'error', msg: 'internal error', route, error: String(e.stack ?? e) });
      if (!res.headersSent) send(res, status, { error: status === 500 ? 'internal error' : e.message });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const addr = server.address();
  const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  return {
    url,
    get policy() { return policy; },
    /** The recommendation worker threads running now (empty without --workers). */
    get workerThreads() { return pool ? pool.slots.filter(Boolean).map((x) => x.worker) : []; },
    /** Reloads the artefact file given at start (what SIGHUP does), or loads another file or bytes;
     * a policy of another environment needs `{replaceEnvironment: true}`. */
    swap: (next = policyFile, options = {}) => swap(next, next instanceof Uint8Array ? 'bytes' : next, options),
    /** Stops accepting connections, lets running requests finish (up to 5 s), then closes. */
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve(pool?.close()));
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 5000).unref();
      }),
  };
}

/** A logger writing one JSON object a line: {"time", "level", "msg", ...fields}. */
export function jsonLog(stream) {
  return (event) => stream.write(`${JSON.stringify({ time: new Date().toISOString(), ...(typeof event === 'string' ? { level: 'info', msg: event } : event) })}\n`);
}

async function main() {
  const { values } = parseArgs({
    options: {
      policy: { type: 'string' },
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      k: { type: 'string', default: '10' },
      backend: { type: 'string', default: 'auto' },
      workers: { type: 'string', default: '0' },
      'admin-token': { type: 'string' },
      'access-log': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const usage = 'usage: node examples/serve/server.mjs --policy FILE [--port 8080] [--host 127.0.0.1] [--k 10] [--backend auto|native|wasm] [--workers N] [--admin-token TOKEN] [--access-log]';
  if (values.help) return console.log(usage);
  if (!values.policy) throw new IalpError(`--policy: expected the path of a policy artefact (train one with: ialp train --save policy.ialp)\n${usage}`);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new IalpError(`--port: expected an integer in [0, 65535], got "${values.port}"`);
  const k = Number(values.k);
  if (!Number.isInteger(k) || k < 1) throw new IalpError(`--k: expected an integer >= 1, got "${values.k}"`);
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 0 || workers > MAX_WORKERS) throw new IalpError(`--workers: expected an integer in [0, ${MAX_WORKERS}], got "${values.workers}"`);
  const log = jsonLog(process.stderr);
  const s = await startServer({ policy: values.policy, port, host: values.host, k, backend: values.backend, workers, adminToken: values['admin-token'] ?? process.env.IALP_ADMIN_TOKEN, log, accessLog: values['access-log'] });
  log({ level: 'info', msg: 'listening', url: s.url, policy: values.policy, items: s.policy.nItems, backend: s.policy.backend.kind, workers });
  process.on('SIGHUP', () => {
    s.swap().catch((e) => log({ level: 'warn', msg: 'reload failed, still serving the previous policy', error: e.message }));
  });
  for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => s.close().then(() => process.exit(0)));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e) => {
    jsonLog(process.stderr)({ level: 'error', msg: `serve: ${e.message}` });
    process.exit(1);
  });
}
