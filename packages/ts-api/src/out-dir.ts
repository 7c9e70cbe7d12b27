// The output folder of a run, checked before any work starts: a folder that
// cannot be written is reported as what it is (read-only, permission denied,
// a file in the way), not as whatever a later write happens to fail with.

import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { IalpError } from './options.js';

const REASONS: Record<string, string> = {
  EACCES: 'permission denied (the folder is not writable by this user)',
  EPERM: 'operation not permitted (the folder is not writable by this user)',
  EROFS: 'on a read-only file system',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EEXIST: 'a file of that name is in the way',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'over the disk quota',
  ENAMETOOLONG: 'the name is too long',
};

/** `what` (e.g. `--out runs/x`) could not be written because of `e`, said in words. */
export function describeWriteError(what: string, e: unknown): IalpError {
  const err = e as NodeJS.ErrnoException;
  const why = (err.code && REASONS[err.code]) ?? err.message;
  return new IalpError(`${what}: cannot write there: ${why}${err.code ? ` (${err.code}${err.path ? ` on ${err.path}` : ''})` : ''}`);
}

/** Creates `dir` if needed and proves it writable with a temporary file. */
export async function ensureWritableDir(dir: string, what = `output folder ${dir}`): Promise<void> {
  const probe = join(dir, `.ialp-write-test-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(probe, '');
  } catch (e) {
    throw describeWriteError(what, e);
  } finally {
    await rm(probe, { force: true }).catch(() => {});
  }
}
