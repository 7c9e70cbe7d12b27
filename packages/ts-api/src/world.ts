import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { loadBackend, type Backend, type BackendKind, type RawWorld } from './backend.js';
import type { EnvSpec, Inspection, PreferenceRequest, Request, RequestConfig, WorldInfo } from './core-types.js';
import { checkFinite, checkInt, envSpec, IalpError, MAX_HISTORY, type EnvOptions } from './options.js';
import { checkNesting } from './boundary.js';
import { cacheDir, shippedDataDir, writeFileAtomic } from './paths.js';
import { readFileBounded } from './read.js';

/** Environments whose world is built from dataset files, and the copy shipped for each (if any). */
export const DATASET_ENVS: Record<string, { shipped?: string; needs: string }> = {
  movielens: { shipped: 'ml-latest-small', needs: 'ratings.csv + movies.csv (ml-latest), u.data + u.item (ml-100k) or ratings.dat + movies.dat (ml-1m)' },
  coat: { shipped: 'coat', needs: 'train.ascii, test.ascii and user_item_features/' },
  kuairec: { needs: 'small_matrix.csv or big_matrix.csv, item_categories.csv' },
  kuairand: { needs: 'log_standard_*_pure.csv, video_features_basic_pure.csv' },
};

/** The dataset environment called `name`, if any: own keys only, so that a name
 * like "constructor" or "__proto__" is an unknown environment, not Object's member. */
export function datasetEnv(name: string): { shipped?: string; needs: string } | undefined {
  return Object.hasOwn(DATASET_ENVS, name) ? DATASET_ENVS[name] : undefined;
}


/** What the core says about a world (sizes, density, quit defaults, ...). */
export type { WorldInfo, Validation } from './core-types.js';

/** Which preference requests to draw (defaults: `CORE_DEFAULTS.preferenceRequests`). */
export type PreferenceRequestConfig = Request<RequestConfig>;

/** A user state, K candidates and the simulator's ground truth, for the LLM. */
export type EnvPreferenceRequest = PreferenceRequest;

export interface WorldOptions extends EnvOptions {
  /** Dataset folder; defaults to the copy shipped with ialp where there is one. */
  data?: string;
  /** Cache fitted user models here (default: the ialp cache dir); false disables. */
  cache?: string | false;
}

const MAX_FILE = 2 ** 31 - 1;
/** What a data folder may hold of the files a loader reads, checked before any is read. */
const MAX_DATA_FILES = 1000;
const MAX_DATA_BYTES = 8 * 2 ** 30;
/** The files the dataset loaders read (MovieLens, Coat, KuaiRec, KuaiRand): tables and their
 * maps; anything else in the folder (licences, notes, archives) is left unread. */
const DATA_FILE = /\.(csv|tsv|txt|dat|data|item|user|genre|ascii)$/i;

async function readTree(dir: string): Promise<Map<string, Uint8Array>> {
  const found: string[] = [];
  let bytes = 0;
  const walk = async (d: string, depth: number): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory() && depth < 2) await walk(p, depth + 1);
      else if (e.isFile() && !e.name.startsWith('.') && DATA_FILE.test(e.name)) {
        const size = (await stat(p)).size;
        if (size > MAX_FILE) throw new IalpError(`${p}: files over 2 GiB are not supported`);
        bytes += size;
        found.push(p);
        if (found.length > MAX_DATA_FILES || bytes > MAX_DATA_BYTES) {
          throw new IalpError(`data folder ${dir}: more than ${MAX_DATA_FILES} data files or ${MAX_DATA_BYTES / 2 ** 30} GiB of them within two folder levels; expected a dataset's folder (e.g. ml-latest-small with ratings.csv and movies.csv, or coat with train.ascii)`);
        }
      }
    }
  };
  const out = new Map<string, Uint8Array>();
  try {
    await walk(dir, 0);
    for (const p of found) out.set(relative(dir, p).split('\\').join('/'), await readFile(p));
  } catch (e) {
    if (e instanceof IalpError) throw e;
    throw new IalpError(`data folder ${dir}: ${(e as Error).message}`);
  }
  return out;
}

function deepFreeze<T>(x: T): T {
  if (x && typeof x === 'object' && !Object.isFrozen(x)) {
    Object.freeze(x);
    for (const v of Object.values(x)) deepFreeze(v);
  }
  return x;
}

/** A built world: a dataset parsed with its user model fitted (or `synthetic`),
 * shared by environments, training and evaluation. */
export class World {
  private constructor(
    readonly backend: Backend,
    readonly raw: RawWorld,
    readonly spec: Request<EnvSpec>,
    readonly dataDir: string | null,
  ) {}

  static async load(options: WorldOptions = {}, backend: BackendKind | 'auto' = 'auto'): Promise<World> {
    const b = await loadBackend(backend);
    const spec = envSpec(options);
    const name = options.name ?? 'synthetic';
    const known = datasetEnv(name);
    if (!known) {
      // a data folder for a world that reads none would be silently ignored
      if (options.data !== undefined) throw new IalpError(`data ${options.data}: environment "${name}" reads no data files (a data folder is for ${Object.keys(DATASET_ENVS).join(', ')})`);
      return new World(b, await b.buildWorld(spec, new Map()), spec, null);
    }
    const dir = options.data ?? (known.shipped ? join(shippedDataDir(), known.shipped) : undefined);
    if (!dir) throw new IalpError(`environment "${name}" needs its data files (${known.needs}): pass the folder with --data DIR`);
    const files = await readTree(dir);
    if (files.size === 0) throw new IalpError(`data folder ${dir} has no files (expected ${known.needs})`);
    // The user model is cached by the data and its configuration.
    const hash = createHash('sha256').update(JSON.stringify(spec.dataset ?? null));
    for (const [k, v] of [...files.entries()].sort(([a], [c]) => a.localeCompare(c))) hash.update(k).update(v);
    const cacheRoot = options.cache === false ? null : join(options.cache ?? cacheDir(), 'user-models');
    const cacheFile = cacheRoot ? join(cacheRoot, `${name}-${hash.digest('hex').slice(0, 24)}.ialpmf`) : null;
    const cached = cacheFile ? await readFileBounded(cacheFile, 'cached user model').catch(() => undefined) : undefined;
    let raw: RawWorld;
    try {
      raw = await b.buildWorld(spec, files, cached);
    } catch (e) {
      throw new IalpError(`${dir}: ${(e as Error).message}`);
    }
    const model = raw.userModel();
    // (re)write the cache when it was missing, damaged or stale (the core refitted)
    if (cacheFile && cacheRoot && model && !(cached && Buffer.compare(Buffer.from(model), cached) === 0)) {
      await mkdir(cacheRoot, { recursive: true });
      await writeFileAtomic(cacheFile, model);
    }
    const dups = raw.info.duplicateRows;
    if (dups > 0) {
      process.emitWarning(`${dir}: ${dups} duplicated rows (the same user, item, value and time as an earlier row) were dropped, the first of each kept`, { code: 'IALP_DUPLICATE_ROWS' });
    }
    const repeats = raw.info.repeatedPairs;
    if (repeats > 0) {
      process.emitWarning(`${dir}: ${repeats} rows give a (user, item) pair that an earlier row gives at another time or with another value (a re-rating or a re-watch); all are kept, and the user model fits each`, { code: 'IALP_REPEATED_PAIRS' });
    }
    return new World(b, raw, spec, dir);
  }

  /** Computed by the core once (it counts the logs and hashes the data), frozen. */
  get info(): WorldInfo { return (this.infoOnce ??= deepFreeze(this.raw.info)); }
  private infoOnce?: WorldInfo;

  /** Info and the user model's validation on held-out data (fits a second model). */
  inspect(validate = true): Inspection {
    if (typeof validate !== 'boolean') throw new IalpError(`validate: expected a boolean, got ${validate === null ? 'null' : typeof validate}`);
    return this.raw.inspect(validate);
  }

  itemText(item: number): string { return this.raw.itemText(checkInt('item', item, 0, this.info.items - 1)); }

  /** A user's latest interactions from the logs (oldest first, rewards 0-1). */
  latestHistory(user: number, history = 10): { item: number; reward: number }[] {
    checkInt('user', user, 0, this.info.users - 1);
    checkInt('history', history, 0, MAX_HISTORY);
    const h = this.raw.latestHistory(user, history);
    return Array.from(h.items, (item, i) => ({ item, reward: h.rewards[i]! }));
  }

  /** Questions for the LLM: user states with K candidates and the simulator's ground truth. */
  preferenceRequests(config: PreferenceRequestConfig = {}): EnvPreferenceRequest[] {
    return this.raw.preferenceRequests(checkFinite('request config', checkNesting('config', config)));
  }
  categoryNames(): string[] { return this.raw.categoryNames(); }
  popularity(): Float32Array { return this.raw.popularity(); }
  userSplit(): { train: Uint32Array; heldOut: Uint32Array } { return this.raw.userSplit(); }
}
