// Just enough of the zip format to take one file out of a wheel: the central directory,
// stored or deflated members, no zip64 (a wheel over 4 GiB is refused with a clear error).
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createInflateRaw } from 'node:zlib';
import { IalpError } from '../options.js';

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflated. */
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD_SIG = 0x06054b50;
const CDH_SIG = 0x02014b50;
const LFH_SIG = 0x04034b50;

/** The entries of the zip file at `path`, from its central directory. */
export async function listZip(path: string): Promise<ZipEntry[]> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    // End of central directory: 22 bytes plus a comment of at most 65535.
    const tailLen = Math.min(size, 22 + 0xffff);
    const tail = Buffer.alloc(tailLen);
    await fh.read(tail, 0, tailLen, size - tailLen);
    let eocd = -1;
    for (let i = tailLen - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD_SIG) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw new IalpError(`${path}: not a zip file (no end of central directory)`);
    const count = tail.readUInt16LE(eocd + 10);
    const cdSize = tail.readUInt32LE(eocd + 12);
    const cdOffset = tail.readUInt32LE(eocd + 16);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      throw new IalpError(`${path}: zip64 archives are not supported; extract the file by hand`);
    }
    if (cdOffset + cdSize > size) throw new IalpError(`${path}: truncated zip file (central directory past the end)`);
    const cd = Buffer.alloc(cdSize);
    await fh.read(cd, 0, cdSize, cdOffset);
    const entries: ZipEntry[] = [];
    let p = 0;
    for (let n = 0; n < count; n++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== CDH_SIG) {
        throw new IalpError(`${path}: corrupt central directory at entry ${n} (offset ${cdOffset + p})`);
      }
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      entries.push({
        method: cd.readUInt16LE(p + 10),
        compressedSize: cd.readUInt32LE(p + 20),
        size: cd.readUInt32LE(p + 24),
        localHeaderOffset: cd.readUInt32LE(p + 42),
        name: cd.toString('utf8', p + 46, p + 46 + nameLen),
      });
      p += 46 + nameLen + extraLen + commentLen;
    }
    return entries;
  } finally {
    await fh.close();
  }
}

/**
 * Writes one entry of the zip at `path` to a new file `dest` (synced to disk) and returns the
 * SHA-256 of what it wrote.
 * Throws if the entry is missing, compressed with an unknown method, or of the wrong size.
 */
export async function extractZipEntry(path: string, name: string, dest: string, signal?: AbortSignal): Promise<{ size: number; sha256: string }> {
  const entry = (await listZip(path)).find((e) => e.name === name);
  if (!entry) throw new IalpError(`${path}: no member named ${name}`);
  if (entry.method !== 0 && entry.method !== 8) throw new IalpError(`${path}: ${name} uses zip compression method ${entry.method}; only stored (0) and deflate (8) are supported`);
  const header = Buffer.alloc(30);
  const fh = await open(path, 'r');
  try {
    await fh.read(header, 0, 30, entry.localHeaderOffset);
  } finally {
    await fh.close();
  }
  if (header.readUInt32LE(0) !== LFH_SIG) throw new IalpError(`${path}: corrupt local header of ${name}`);
  const start = entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  const hash = createHash('sha256');
  let written = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      written += chunk.length;
      cb(null, chunk);
    },
  });
  const source = createReadStream(path, { start, end: start + entry.compressedSize - 1 });
  const sink = createWriteStream(dest, { flags: 'wx', flush: true });
  if (entry.method === 8) await pipeline(source, createInflateRaw(), tap, sink, { signal });
  else await pipeline(source, tap, sink, { signal });
  if (written !== entry.size) throw new IalpError(`${path}: ${name} inflated to ${written} bytes, the directory says ${entry.size}`);
  return { size: written, sha256: hash.digest('hex') };
}
