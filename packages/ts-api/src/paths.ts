import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where ialp keeps caches (models, user models, preferences):
 * `$IALP_CACHE_DIR`, else `$XDG_CACHE_HOME/ialp`, else `~/.cache/ialp`. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.IALP_CACHE_DIR) return env.IALP_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'ialp');
  return join(homedir(), '.cache', 'ialp');
}

/** The datasets shipped inside the package (`data/` next to `src/` and `dist/`). */
export function shippedDataDir(): string {
  return fileURLToPath(new URL('../data/', import.meta.url));
}

/** Writes `bytes` to `file` atomically: a uniquely named temporary file in the
 * same folder, then a rename, so readers never see half a file and concurrent
 * writers never collide. */
export async function writeFileAtomic(file: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
