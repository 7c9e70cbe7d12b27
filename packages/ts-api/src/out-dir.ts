// The output folder of a run, checked before any work starts: a folder that
// cannot be written is reported as what it is (read-only, permission denied,
// a file in the way), not as whatever a later write happens to fail with.

import { randomBytes } from 'node:crypto';
import { mkdir, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
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
  ENOENT: 'the file system does not let a folder be created there',
  EDANGLING: 'a symbolic link that points to nothing',
};

/** `what` (e.g. `--out runs/x`) could not be written because of `e`, said in words. */
export function describeWriteError(what: string, e: unknown): IalpError {
  const err = e as NodeJS.ErrnoException;
  const why = (err.code && REASONS[err.code]) ?? err.message;
  return new IalpError(`${what}: cannot write there: ${why}${err.code ? ` (${err.code}${err.path ? ` on ${err.path}` : ''})` : ''}`);
}

/**
 * `mkdir -p`, one level at a time from the nearest folder that exists. Not
 * `mkdir(dir, {recursive: true})`: Node's loops for ever where the file system
 * answers ENOENT for a parent that exists (`--out /proc/x/y`).
 */
export async function makeDirs(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    const s = await stat(d).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
    if (s?.isDirectory()) break;
    if (s) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${d}'`), { code: 'ENOTDIR', path: d });
    const link = await readlink(d).catch(() => null);
    if (link !== null) throw Object.assign(new Error(`a symbolic link to ${link}, which does not exist`), { code: 'EDANGLING', path: d });
    missing.push(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing.reverse()) {
    await mkdir(d).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
  }
}

/** Creates `dir` if needed and proves it writable with a temporary file. */
export async function ensureWritableDir(dir: string, what = `output folder ${dir}`): Promise<void> {
  const probe = join(dir, `.ialp-write-test-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await makeDirs(dir);
    await writeFile(probe, '');
  } catch (e) {
    throw describeWriteError(what, e);
  } finally {
    await rm(probe, { force: true }).catch(() => {});
  }
}

/**
 * Checks, before any work, that `file` (an output such as `--save FILE`) can be
 * written: its folder is created and proven writable, and the name is not a
 * folder or something else that is not a regular file. Training for minutes
 * and then failing on the name would lose the work.
 */
export async function ensureWritableFile(file: string, what: string): Promise<void> {
  const s = await stat(file).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw describeWriteError(`${what} ${file}`, e);
  });
  if (s && !s.isFile()) throw new IalpError(`${what} ${file}: cannot write there: ${s.isDirectory() ? 'a folder' : 'not a regular file'} is in the way (expected a file name)`);
  await ensureWritableDir(dirname(file), `${what} ${file}`);
}
