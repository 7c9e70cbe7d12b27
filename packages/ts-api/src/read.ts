// Bounded reads of files whose size a user controls (policy and reward-model
// artefacts, cached user models): the size is checked against a stated limit
// before anything is allocated, and anything that is not a regular file
// (/dev/zero, a FIFO, a folder) is refused instead of read without end.

import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { IalpError } from './options.js';

/** Largest artefact any reader accepts: 1 GiB (the core's `ialp_sim::limits::MAX_ARTEFACT_BYTES`). */
export const MAX_ARTEFACT_BYTES = 2 ** 30;

function kindOf(s: { isDirectory(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isFIFO(): boolean; isSocket(): boolean }): string {
  if (s.isDirectory()) return 'a folder';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isFIFO()) return 'a pipe (FIFO)';
  if (s.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * The bytes of `file`, which must be a regular file of at most `limit` bytes;
 * errors name `what` and the file (`policy file /dev/zero: a character device,
 * expected a regular file of at most 1073741824 bytes`). A file that grows
 * while it is read is refused after one byte more than its size.
 */
export async function readFileBounded(file: string, what: string, limit = MAX_ARTEFACT_BYTES): Promise<Buffer> {
  let h;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer
    h = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new IalpError(`${what} ${file}: ${(e as Error).message}`);
  }
  try {
    const s = await h.stat();
    if (!s.isFile()) throw new IalpError(`${what} ${file}: ${kindOf(s)}, expected a regular file of at most ${limit} bytes`);
    if (s.size > limit) throw new IalpError(`${what} ${file}: ${s.size} bytes is more than the limit of ${limit} bytes`);
    // one byte more than stat says, to notice a file that grows while it is read
    const buf = Buffer.allocUnsafe(s.size + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await h.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n > s.size) throw new IalpError(`${what} ${file}: grew while it was read (write it to a temporary name and rename it instead)`);
    }
    return buf.subarray(0, n);
  } catch (e) {
    if (e instanceof IalpError) throw e;
    throw new IalpError(`${what} ${file}: ${(e as Error).message}`);
  } finally {
    await h.close();
  }
}
