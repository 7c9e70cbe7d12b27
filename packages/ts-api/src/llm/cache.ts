// LLM answers kept in SQLite, keyed by model and prompt, so that a rerun (or a second
// process on the same file) never asks the same question twice.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { IalpError } from '../options.js';
import { cacheDir } from './default-model.js';
import type { ParsedAnswer } from './prompt.js';

export interface CachedPreference {
  status: 'ok' | 'failed';
  /** The parsed answer (in candidate positions); null when the model never gave a valid one. */
  answer: ParsedAnswer | null;
  /** The model's last raw answer. */
  raw: string;
  attempts: number;
  /** Why it failed (a parse failure reason), when it did. */
  reason?: string;
  /** ms since the epoch. */
  createdAt: number;
}

export interface CacheStats {
  rows: number;
  ok: number;
  failed: number;
  /** Distinct model ids. */
  models: number;
}

export interface PreferenceCacheOptions {
  /** How long a writer waits for another process's lock, ms. Default 10,000. */
  busyTimeoutMs?: number;
}

interface Row {
  status: 'ok' | 'failed';
  answer: string | null;
  raw: string;
  attempts: number;
  reason: string | null;
  created_at: number;
}

/** `<cache dir>/preferences.sqlite`. */
export function defaultPreferenceCachePath(): string {
  return join(cacheDir(), 'preferences.sqlite');
}

export class PreferenceCache {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly selectOne: Database.Statement<[string, string], Row>;
  private readonly upsert: Database.Statement<unknown[]>;

  constructor(path: string = defaultPreferenceCachePath(), opts: PreferenceCacheOptions = {}) {
    this.path = path;
    let db: Database.Database | undefined;
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      db = new Database(path, { timeout: opts.busyTimeoutMs ?? 10_000 });
      // WAL: readers never block the writer, and a crash loses at most the open transaction.
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.exec(`CREATE TABLE IF NOT EXISTS preferences (
        model TEXT NOT NULL,
        key TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
        answer TEXT,
        raw TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        reason TEXT,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (model, key)
      ) WITHOUT ROWID`);
      this.selectOne = db.prepare<[string, string], Row>(
        'SELECT status, answer, raw, attempts, reason, created_at FROM preferences WHERE model = ? AND key = ?',
      );
      // The first answer stays, except that a valid answer replaces a recorded failure.
      this.upsert = db.prepare(`INSERT INTO preferences (model, key, status, answer, raw, attempts, reason, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (model, key) DO UPDATE SET
          status = excluded.status, answer = excluded.answer, raw = excluded.raw,
          attempts = excluded.attempts, reason = excluded.reason, created_at = excluded.created_at
        WHERE preferences.status = 'failed' AND excluded.status = 'ok'`);
      this.db = db;
    } catch (e) {
      db?.close();
      throw new IalpError(`preference cache ${path}: ${(e as Error).message}`);
    }
  }

  get(model: string, key: string): CachedPreference | undefined {
    const row = this.selectOne.get(model, key);
    if (!row) return undefined;
    return {
      status: row.status,
      answer: row.answer === null ? null : (JSON.parse(row.answer) as ParsedAnswer),
      raw: row.raw,
      attempts: row.attempts,
      ...(row.reason === null ? {} : { reason: row.reason }),
      createdAt: row.created_at,
    };
  }

  /** Stores one answer; returns whether the row was written (false: a row was already there). */
  put(model: string, key: string, value: Omit<CachedPreference, 'createdAt'> & { createdAt?: number }): boolean {
    return this.putMany(model, [[key, value]]) === 1;
  }

  /** Stores several answers in one transaction; returns how many rows were written. */
  putMany(model: string, entries: readonly (readonly [string, Omit<CachedPreference, 'createdAt'> & { createdAt?: number }])[]): number {
    const write = this.db.transaction(() => {
      let n = 0;
      for (const [key, v] of entries) {
        n += this.upsert.run(
          model,
          key,
          v.status,
          v.answer === null ? null : JSON.stringify(v.answer),
          v.raw,
          v.attempts,
          v.reason ?? null,
          v.createdAt ?? Date.now(),
        ).changes;
      }
      return n;
    });
    // IMMEDIATE takes the write lock up front, so two writers queue on the busy timeout
    // instead of failing when a read lock cannot be upgraded.
    return write.immediate();
  }

  stats(model?: string): CacheStats {
    const where = model === undefined ? '' : ' WHERE model = ?';
    const args = model === undefined ? [] : [model];
    const r = this.db
      .prepare<unknown[], { rows: number; ok: number | null; models: number }>(
        `SELECT COUNT(*) AS rows, SUM(status = 'ok') AS ok, COUNT(DISTINCT model) AS models FROM preferences${where}`,
      )
      .get(...args)!;
    const ok = r.ok ?? 0;
    return { rows: r.rows, ok, failed: r.rows - ok, models: r.models };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
