// The experiment's phase results, cached in the run folder under a hash of
// their inputs and the core's version, so that an interrupted run resumes.
// A damaged entry (a half-written file from an older ialp, a disk error, a
// hand edit) is named in a warning and recomputed; it never blocks a run.

import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { IalpError } from './options.js';
import { writeFileAtomic } from './paths.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Prints a warning about the run (default: `process.emitWarning`, which the CLI shows on stderr). */
export type Warn = (message: string) => void;
const defaultWarn: Warn = (m) => process.emitWarning(m, { code: 'IALP_CACHE_DAMAGED' });

export class PhaseCache {
  constructor(
    private readonly dir: string,
    private readonly version: string,
    private readonly warn: Warn = defaultWarn,
    /** A phase not in the cache is an error naming it, not computed (ialp merge). */
    private readonly readOnly = false,
    /** Called when an entry is computed rather than read. */
    private readonly onCompute?: (name: string) => void,
  ) {}

  /** The file of an entry. */
  file(name: string, key: unknown): string {
    const hash = sha256(JSON.stringify({ key, version: this.version })).slice(0, 16);
    return join(this.dir, `${name}-${hash}`);
  }

  /**
   * The cached bytes of `name` for `key`, else `make()`'s (then cached).
   * `check` throws on bytes that are not a good entry (e.g. loads the artefact);
   * a cached entry that fails it is named in a warning and recomputed.
   */
  async bytes(name: string, key: unknown, make: () => Promise<Uint8Array>, check?: (bytes: Uint8Array) => unknown): Promise<Uint8Array> {
    const f = this.file(name, key);
    let hit: Uint8Array | undefined;
    try {
      hit = new Uint8Array(await readFile(f));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') this.warn(`phase cache ${f} could not be read (${(e as Error).message}); recomputing it`);
    }
    if (hit) {
      try {
        if (hit.length === 0) throw new Error('the file is empty');
        await check?.(hit);
        return hit;
      } catch (e) {
        this.warn(`phase cache ${f} is damaged (${(e as Error).message}); recomputing it`);
      }
    }
    if (this.readOnly) throw new IalpError(`phase ${name} is in no shard's cache (${f}): were all shards of this experiment run, with the same config and ialp version, to the end?`);
    this.onCompute?.(name);
    const v = await make();
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomic(f, v);
    return v;
  }

  /**
   * As `bytes`, for a JSON value, kept as `{"sha256": H, "value": V}` with H the
   * hash of V's text: an entry that does not parse, or parses to anything but
   * what was written (`null`, `{}`, a hand edit, an older layout), is damaged
   * and recomputed, rather than handed to a phase that would fail on its shape.
   */
  async json<T>(name: string, key: unknown, make: () => Promise<T>): Promise<T> {
    const decode = (b: Uint8Array): T => {
      const entry = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(b)) as { sha256?: unknown; value?: unknown } | null;
      if (typeof entry !== 'object' || entry === null || typeof entry.sha256 !== 'string' || !('value' in entry)) {
        throw new Error('not a phase-cache entry: expected {"sha256", "value"}');
      }
      if (sha256(JSON.stringify(entry.value)) !== entry.sha256) throw new Error('its value does not match its sha256');
      return entry.value as T;
    };
    // a hit is decoded once, by the check that accepts it; a computed value is
    // returned as it reads back (JSON's rules: NaN as null), the same as a rerun's
    let value: { v: T } | undefined;
    await this.bytes(`${name}.json`, key, async () => {
      const text = JSON.stringify(await make());
      value = { v: JSON.parse(text) as T };
      return new TextEncoder().encode(`{"sha256":"${sha256(text)}","value":${text}}`);
    }, (b) => { value = { v: decode(b) }; });
    return value!.v;
  }
}
