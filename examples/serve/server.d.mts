// Types of server.mjs, for the tests and benches written in TypeScript.
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
  /** Enables POST /admin/policy with `Authorization: Bearer <token>`. */
  adminToken?: string;
  log?: (line: string) => void;
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
  /** Rejects (the old policy keeps serving) on a bad artefact, or on a policy of
   * another environment, data or item count unless `replaceEnvironment`. */
  swap(next?: string | Uint8Array, options?: { replaceEnvironment?: boolean }): Promise<PolicyInfo>;
  close(): Promise<void>;
}

export function startServer(options: ServerOptions): Promise<RunningServer>;
/** How `next` differs from `current` in what its item ids mean, or null. */
export function environmentMismatch(current: Policy, next: Policy): string | null;
export const MAX_REWARD: number;
export function parseRecommendRequest(body: Uint8Array, nItems: number, defaultK: number): { history: HistoryEntry[]; k: number; excludeSeen: boolean };
