// LLM answers kept in SQLite, keyed by model and prompt, so that a rerun (or a second
// process on the same file) never asks the same question twice.
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { IalpError } from '../options.js';
import { missingPackage, requireOptional } from '../optional.js';
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
  /**
   * The SQLite driver: `'better-sqlite3'` (the optional package), `'node:sqlite'` (built
   * into Node 22.5 and later) or `'auto'` (default; also `$IALP_SQLITE`): better-sqlite3
   * where it is installed, else node:sqlite where the running Node has it.
   */
  driver?: SqliteDriver | 'auto';
}

export type SqliteDriver = 'better-sqlite3' | 'node:sqlite';

/** What the cache needs of a SQLite binding; better-sqlite3 and node:sqlite both have it. */
interface SqlStatement {
  get(...args: unknown[]): unknown;
  run(...args: unknown[]): { changes: number | bigint };
}
interface SqlDatabase {
  exec(sql: string): void;
  prepare(sql: string): SqlStatement;
  close(): void;
}

interface NodeSqlite {
  DatabaseSync: new (path: string) => SqlDatabase;
}

/** node:sqlite where this Node has it (22.5+), without a static import Node 20 would reject. */
function nodeSqlite(): NodeSqlite | undefined {
  const builtin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  if (typeof builtin !== 'function') return undefined;
  try {
    return (builtin('node:sqlite') as NodeSqlite | undefined) ?? undefined;
  } catch {
    return undefined;
  }
}

/** Opens `path` with the driver asked for, or says what to install. */
function openSqlite(path: string, want: SqliteDriver | 'auto'): { db: SqlDatabase; driver: SqliteDriver } {
  if (want !== 'auto' && want !== 'better-sqlite3' && want !== 'node:sqlite') {
    throw new IalpError(`preference cache driver: expected "better-sqlite3", "node:sqlite" or "auto", got ${JSON.stringify(want)}`);
  }
  if (want !== 'node:sqlite') {
    const Better = requireOptional<typeof BetterSqlite3>('better-sqlite3');
    if (Better) return { db: new Better(path) as unknown as SqlDatabase, driver: 'better-sqlite3' };
    if (want === 'better-sqlite3') throw missingPackage('better-sqlite3', `the preference cache ${path} (driver better-sqlite3)`);
  }
  const builtin = nodeSqlite();
  if (builtin) return { db: new builtin.DatabaseSync(path), driver: 'node:sqlite' };
  if (want === 'node:sqlite') throw new IalpError(`preference cache ${path}: driver node:sqlite: this Node (${process.version}) has no node:sqlite module (Node 22.5 and later have it)`);
  throw missingPackage(
    'better-sqlite3',
    `the LLM preference cache (${path})`,
    `(or run Node 22.5 or later, which has node:sqlite built in; this is ${process.version})`,
  );
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
  /** The SQLite binding in use. */
  readonly driver: SqliteDriver;
  private readonly db: SqlDatabase;
  private readonly selectOne: SqlStatement;
  private readonly upsert: SqlStatement;
  private open = true;

  constructor(path: string = defaultPreferenceCachePath(), opts: PreferenceCacheOptions = {}) {
    this.path = path;
    const busy = opts.busyTimeoutMs ?? 10_000;
    if (!Number.isInteger(busy) || busy < 0) throw new IalpError(`preference cache ${path}: busyTimeoutMs: expected an integer >= 0, got ${busy}`);
    const want = opts.driver ?? ((process.env.IALP_SQLITE || 'auto') as SqliteDriver | 'auto');
    let db: SqlDatabase | undefined;
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      let opened = openSqlite(path, want);
      try {
        opened.db.exec(`PRAGMA busy_timeout = ${busy}`);
        opened.db.exec('PRAGMA schema_version');
      } catch (e) {
        // not a database at all (a truncated or overwritten file): it is kept beside,
        // named in a warning, and the cache starts again; a locked one is still an error
        if (path === ':memory:' || !/not a database|malformed|SQLITE_NOTADB|SQLITE_CORRUPT/i.test((e as Error).message)) throw e;
        opened.db.close();
        const aside = `${path}.damaged-${Date.now()}`;
        renameSync(path, aside);
        for (const side of ['-wal', '-shm']) if (existsSync(path + side)) renameSync(path + side, aside + side);
        process.emitWarning(`preference cache ${path} is not a SQLite database (${(e as Error).message}); it was moved to ${aside} and the cache starts empty`, { code: 'IALP_CACHE_DAMAGED' });
        opened = openSqlite(path, want);
      }
      db = opened.db;
      this.driver = opened.driver;
      db.exec(`PRAGMA busy_timeout = ${busy}`);
      // WAL: readers never block the writer, and a crash loses at most the open transaction.
      db.exec('PRAGMA journal_mode = WAL');
      db.exec('PRAGMA synchronous = NORMAL');
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
      this.selectOne = db.prepare(
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
      if (e instanceof IalpError) throw e;
      throw new IalpError(`preference cache ${path}: ${(e as Error).message}`);
    }
  }

  get(model: string, key: string): CachedPreference | undefined {
    const row = this.selectOne.get(model, key) as Row | undefined;
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
    // IMMEDIATE takes the write lock up front, so two writers queue on the busy timeout
    // instead of failing when a read lock cannot be upgraded.
    this.db.exec('BEGIN IMMEDIATE');
    try {
      let n = 0;
      for (const [key, v] of entries) {
        n += Number(this.upsert.run(
          model,
          key,
          v.status,
          v.answer === null ? null : JSON.stringify(v.answer),
          v.raw,
          v.attempts,
          v.reason ?? null,
          v.createdAt ?? Date.now(),
        ).changes);
      }
      this.db.exec('COMMIT');
      return n;
    } catch (e) {
      try {
        this.db.exec('ROLLBACK');
      } catch {
        // SQLite already rolled back (e.g. on a full disk); the first error is the one to report
      }
      throw e;
    }
  }

  stats(model?: string): CacheStats {
    const where = model === undefined ? '' : ' WHERE model = ?';
    const args = model === undefined ? [] : [model];
    const r = this.db
      .prepare(`SELECT COUNT(*) AS rows, SUM(status = 'ok') AS ok, COUNT(DISTINCT model) AS models FROM preferences${where}`)
      .get(...args) as { rows: number; ok: number | null; models: number };
    const ok = Number(r.ok ?? 0);
    return { rows: Number(r.rows), ok, failed: Number(r.rows) - ok, models: Number(r.models) };
  }

  close(): void {
    if (this.open) {
      this.open = false;
      this.db.close();
    }
  }
}
