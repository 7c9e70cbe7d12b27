// Types of server.mjs, for the tests and benches written in TypeScript.
import type { Worker } from 'node:worker_threads';
import type { BackendKind, HistoryEntry, Policy } from 'ialp';

export interface ServerOptions {
  /** Path of the policy artefact loaded at start (and on SIGHUP / swap()). */
  policy: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Items per recommendation when a request names no k. Default 10. */
  k?: number;
  backend?: BackendKind | 'auto';
  /** Worker threads computing recommendations, each with a copy of the policy;
   * 0 (the default) computes on the HTTP thread. At most MAX_WORKERS. */
  workers?: number;
  /** Enables POST /admin/policy with `Authorization: Bearer <token>`. */
  adminToken?: string;
  /** Receives the service's log events (the command line writes them as JSON lines). */
  log?: (event: LogEvent) => void;
  /** A log event per request (route, status, ms). Default false. */
  accessLog?: boolean;
}

export interface LogEvent {
  level: 'info' | 'warn' | 'error';
  msg: string;
  [field: string]: unknown;
}

export interface PolicyInfo {
  source: string;
  generation: number;
  loadedAt: string;
  nItems: number;
  history: number;
  env: string | null;
}

export interface RunningServer {
  url: string;
  readonly policy: Policy;
  /** The recommendation worker threads running now (empty without `workers`). */
  readonly workerThreads: Worker[];
  /** Rejects (the old policy keeps serving) on a bad artefact, or on a policy of
   * another environment, data or item count unless `replaceEnvironment`. */
  swap(next?: string | Uint8Array, options?: { replaceEnvironment?: boolean }): Promise<PolicyInfo>;
  close(): Promise<void>;
}

export function startServer(options: ServerOptions): Promise<RunningServer>;
/** How `next` differs from `current` in what its item ids mean, or null. */
export function environmentMismatch(current: Policy, next: Policy): string | null;
export const MAX_REWARD: number;
/** The most worker threads a service starts. */
export const MAX_WORKERS: number;
export function parseRecommendRequest(body: Uint8Array, nItems: number, defaultK: number): { history: HistoryEntry[]; k: number; excludeSeen: boolean };
/** Whether an Authorization header carries the admin token (constant time, as SHA-256 digests). */
export function tokenMatches(header: unknown, token: string): boolean;
/** A logger writing one JSON object a line ({"time", "level", "msg", ...}) to `stream`. */
export function jsonLog(stream: { write(s: string): unknown }): (event: LogEvent | string) => void;
/** The OpenAPI document served at GET /openapi.json (examples/serve/openapi.json). */
export const OPENAPI: Record<string, unknown> & { openapi: string; paths: Record<string, unknown>; components: Record<string, unknown> };
/** The latency histogram's bucket bounds, seconds. */
export const LATENCY_BUCKETS: number[];
