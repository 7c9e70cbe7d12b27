// A bounded walk of a GGUF file's header (metadata and tensor table) before
// node-llama-cpp sees it: every count and length is checked against the bytes
// left in the file, so a forged header (2^63 tensors, a string "longer" than
// the file) is an error naming the file and the field, not a hang or an
// allocation of whatever it says.

import { open, type FileHandle } from 'node:fs/promises';
import { IalpError } from '../options.js';

const MAGIC = 'GGUF';
/** Bytes of each fixed-size value type (GGUF types 0-7, 10-12); 8 is a string, 9 an array. */
const FIXED: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
const MAX_DIMS = 8;
const MAX_DEPTH = 4;

class Reader {
  private buf = Buffer.alloc(0);
  private at = 0; // file offset of buf[0]
  pos = 0;
  constructor(private readonly h: FileHandle, readonly size: number) {}

  get left(): number { return this.size - this.pos; }

  private async bytes(n: number, what: string): Promise<Buffer> {
    if (n > this.left) throw new Error(`${what}: ${n} bytes declared at offset ${this.pos}, but only ${this.left} are left in the file`);
    if (this.pos < this.at || this.pos + n > this.at + this.buf.length) {
      const len = Math.min(Math.max(n, 1 << 20), this.left);
      this.buf = Buffer.alloc(len);
      const { bytesRead } = await this.h.read(this.buf, 0, len, this.pos);
      if (bytesRead < n) throw new Error(`${what}: the file ended at offset ${this.pos + bytesRead}`);
      this.at = this.pos;
    }
    const out = this.buf.subarray(this.pos - this.at, this.pos - this.at + n);
    this.pos += n;
    return out;
  }

  async u32(what: string): Promise<number> { return (await this.bytes(4, what)).readUInt32LE(0); }
  async u64(what: string): Promise<bigint> { return (await this.bytes(8, what)).readBigUInt64LE(0); }

  /** A count, checked: `count x minBytes` must fit in what is left. */
  async count(what: string, minBytes: number): Promise<number> {
    const n = await this.u64(what);
    if (n * BigInt(minBytes) > BigInt(this.left)) throw new Error(`${what}: ${n} declared, but ${this.left} bytes left hold at most ${Math.floor(this.left / minBytes)}`);
    return Number(n);
  }

  async string(what: string): Promise<string> {
    const n = await this.count(`${what} length`, 1);
    return (await this.bytes(n, what)).toString('utf8');
  }

  async skip(n: number, what: string): Promise<void> {
    if (n > this.left) throw new Error(`${what}: ${n} bytes declared at offset ${this.pos}, but only ${this.left} are left in the file`);
    this.pos += n;
  }
}

async function skipValue(r: Reader, type: number, what: string, depth: number): Promise<void> {
  if (FIXED[type] !== undefined) return r.skip(FIXED[type]!, what);
  if (type === 8) {
    await r.skip(await r.count(`${what} length`, 1), what);
    return;
  }
  if (type === 9) {
    if (depth >= MAX_DEPTH) throw new Error(`${what}: arrays nested more than ${MAX_DEPTH} deep`);
    const elem = await r.u32(`${what} element type`);
    const min = FIXED[elem] ?? (elem === 8 ? 8 : elem === 9 ? 12 : 0);
    if (min === 0) throw new Error(`${what}: unknown element type ${elem}`);
    const n = await r.count(`${what} element count`, min);
    if (FIXED[elem] !== undefined) return r.skip(n * FIXED[elem]!, what);
    for (let i = 0; i < n; i++) await skipValue(r, elem, `${what}[${i}]`, depth + 1);
    return;
  }
  throw new Error(`${what}: unknown value type ${type}`);
}

/**
 * Checks the header of the GGUF file at `path`: magic, version 2 or 3, and
 * every count and length of its metadata and tensor table within the file.
 * Throws an IalpError naming the file, the field and what was expected.
 */
export async function checkGgufHeader(path: string): Promise<void> {
  const h = await open(path, 'r');
  try {
    const r = new Reader(h, (await h.stat()).size);
    try {
      if (r.size < 24) throw new Error(`${r.size} bytes is too short for a GGUF header (at least 24)`);
      const magic = (await h.read(Buffer.alloc(4), 0, 4, 0)).buffer.toString('latin1');
      if (magic !== MAGIC) throw new Error(`bad magic bytes ${JSON.stringify(magic)}, expected "GGUF"`);
      await r.skip(4, 'magic');
      const version = await r.u32('version');
      if (version !== 2 && version !== 3) throw new Error(`GGUF version ${version} is not supported (expected 2 or 3)`);
      const tensors = await r.count('tensor count', 8 + 1 + 4 + 8 + 4 + 8);
      const kvs = await r.count('metadata count', 8 + 1 + 4 + 1);
      for (let i = 0; i < kvs; i++) {
        const key = await r.string(`metadata key ${i}`);
        await skipValue(r, await r.u32(`metadata "${key}" type`), `metadata "${key}"`, 0);
      }
      for (let i = 0; i < tensors; i++) {
        const name = await r.string(`tensor ${i} name`);
        const dims = await r.u32(`tensor "${name}" dimensions`);
        if (dims < 1 || dims > MAX_DIMS) throw new Error(`tensor "${name}": ${dims} dimensions, expected 1 to ${MAX_DIMS}`);
        await r.skip(dims * 8 + 4 + 8, `tensor "${name}" shape, type and offset`);
      }
    } catch (e) {
      throw new IalpError(`${path}: not a valid GGUF model: ${(e as Error).message}`);
    }
  } finally {
    await h.close();
  }
}
