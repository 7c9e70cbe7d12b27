import { loadBackend, type Backend, type BackendKind, type RawPolicy } from './backend.js';
import type { PolicyMeta } from './core-types.js';
import { checkInt, checkNumber, IalpError } from './options.js';
import { writeFileAtomic } from './paths.js';
import { readFileBounded } from './read.js';

/** The largest reward (in size) a history entry may carry. */
export const MAX_REWARD = 1e6;

export interface Recommendation {
  item: number;
  /** The policy's probability of this item. */
  score: number;
}

export interface HistoryEntry {
  item: number;
  /** The user's feedback, usually in [0, 1]. */
  reward: number;
}

/** A trained policy artefact (versioned, checksummed), usable for recommendations. */
export class Policy {
  private constructor(
    readonly backend: Backend,
    private readonly raw: RawPolicy,
    private readonly bytes: Uint8Array,
  ) {}

  /** A policy file of format version 2 (safetensors) or 1 (`IALPPOL`; written again as version 2). */
  static async fromBytes(bytes: Uint8Array, backend: BackendKind | 'auto' = 'auto'): Promise<Policy> {
    const b = await loadBackend(backend);
    const raw = b.loadPolicy(bytes);
    const v1 = bytes.length >= 8 && Buffer.from(bytes.buffer, bytes.byteOffset, 8).toString('latin1') === 'IALPPOL\0';
    return new Policy(b, raw, v1 ? raw.toBytes() : bytes);
  }

  static async load(file: string, backend: BackendKind | 'auto' = 'auto'): Promise<Policy> {
    // a regular file of at most MAX_ARTEFACT_BYTES (1 GiB), checked before it is read
    const bytes = await readFileBounded(file, 'policy file');
    try {
      return await Policy.fromBytes(bytes, backend);
    } catch (e) {
      throw new IalpError(`${file}: ${(e as Error).message}`);
    }
  }

  /** Writes the artefact atomically (temporary file, then rename). */
  async save(file: string): Promise<void> {
    await writeFileAtomic(file, this.bytes);
  }

  /** The policy file (format version 2: safetensors, docs/artefacts.md). */
  toBytes(): Uint8Array { return this.bytes; }
  get nItems(): number { return this.raw.nItems; }
  get history(): number { return this.raw.history; }
  /** How the policy was trained (environment, data, network, settings). */
  get meta(): PolicyMeta { return this.raw.meta; }

  /** The k most probable items for a user with this history (oldest first). */
  recommend(history: readonly HistoryEntry[], options: { k?: number; excludeSeen?: boolean } = {}): Recommendation[] {
    const k = checkInt('k', options.k ?? 10, 1, this.nItems);
    if (!Array.isArray(history)) throw new IalpError(`history: expected an array of {item, reward}, got ${history === null ? 'null' : typeof history}`);
    const excludeSeen = options.excludeSeen ?? true;
    if (typeof excludeSeen !== 'boolean') throw new IalpError(`excludeSeen: expected true or false, got ${JSON.stringify(excludeSeen)}`);
    const items = new Uint32Array(history.length);
    const rewards = new Float32Array(history.length);
    history.forEach((h, i) => {
      if (typeof h !== 'object' || h === null) throw new IalpError(`history[${i}]: expected {item, reward}, got ${JSON.stringify(h)}`);
      items[i] = checkInt(`history[${i}].item`, h.item, 0, this.nItems - 1);
      // finite and within 1e6: larger rewards overflow the core's 32-bit floats
      rewards[i] = checkNumber(`history[${i}].reward`, h.reward, -MAX_REWARD, MAX_REWARD);
    });
    let r;
    try {
      r = this.raw.recommend(items, rewards, k, excludeSeen);
    } catch (e) {
      throw new IalpError(`recommend: ${(e as Error).message}`);
    }
    return Array.from(r.items, (item, i) => ({ item, score: r.scores[i]! }));
  }
}
