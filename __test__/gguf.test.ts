// A .gguf that is not a model (issue 18): a forged header made node-llama-cpp
// hang; its counts and lengths are now checked against the file first, so any
// damaged or forged header is an error naming the file and the field.
import test from 'ava';
import fc from 'fast-check';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkGgufHeader } from '../packages/ts-api/src/llm/gguf-check.js';
import { IalpError } from '../packages/ts-api/src/options.js';
import { runCli } from './helpers.js';

const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };
const u64 = (n: bigint | number) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; };
const str = (s: string) => Buffer.concat([u64(Buffer.byteLength(s)), Buffer.from(s)]);

/** A small well-formed GGUF v3 header: a string, a u32 and an array of strings, and one tensor. */
function gguf(o: { tensors?: bigint; kvs?: bigint; arrayCount?: bigint; keyLength?: bigint; dims?: number } = {}): Buffer {
  return Buffer.concat([
    Buffer.from('GGUF'), u32(3), u64(o.tensors ?? 1n), u64(o.kvs ?? 3n),
    o.keyLength === undefined ? str('general.architecture') : Buffer.concat([u64(o.keyLength), Buffer.from('general.architecture')]), u32(8), str('llama'),
    str('llama.context_length'), u32(4), u32(2048),
    str('tokenizer.ggml.tokens'), u32(9), u32(8), u64(o.arrayCount ?? 2n), str('a'), str('b'),
    str('token_embd.weight'), u32(o.dims ?? 2), u64(4), u64(2), u32(0), u64(0),
    Buffer.alloc(32),
  ]);
}

let dir: string;
test.before(async () => { dir = await mkdtemp(join(tmpdir(), 'ialp-gguf-')); });
test.after.always(async () => rm(dir, { recursive: true, force: true }));

test('forged counts and lengths in a GGUF header are errors naming the field, at once', async (t) => {
  const file = join(dir, 'm.gguf');
  await writeFile(file, gguf());
  await t.notThrowsAsync(checkGgufHeader(file), 'the well-formed header passes');
  const cases: [Buffer, RegExp][] = [
    [gguf({ tensors: 2n ** 63n - 1n }), /tensor count: 9223372036854775807 declared, but \d+ bytes left hold at most \d+/],
    [gguf({ kvs: 2n ** 40n }), /metadata count: 1099511627776 declared/],
    [gguf({ arrayCount: 2n ** 62n }), /metadata "tokenizer\.ggml\.tokens" element count: 4611686018427387904 declared/],
    [gguf({ keyLength: 2n ** 50n }), /metadata key 0 length: 1125899906842624 declared/],
    [gguf({ dims: 70000 }), /tensor "token_embd\.weight": 70000 dimensions, expected 1 to 8/],
    [gguf().subarray(0, 60), /the file ended|bytes declared at offset|left hold at most/],
    [Buffer.from('GGUF\x07\0\0\0'.padEnd(24, '\0'), 'latin1'), /GGUF version 7 is not supported/],
    [Buffer.from('not a model at all, just text'), /bad magic bytes "not ", expected "GGUF"/],
  ];
  for (const [i, [bytes, message]] of cases.entries()) {
    const f = join(dir, `bad-${i}.gguf`);
    await writeFile(f, bytes);
    const e = await t.throwsAsync(checkGgufHeader(f), { instanceOf: IalpError }, String(message));
    t.regex(e!.message, new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not a valid GGUF model: `));
    t.regex(e!.message, message);
  }
});

test('any damage to a GGUF header is loaded or refused at once, never a hang', async (t) => {
  const good = gguf();
  const f = join(dir, 'fuzz.gguf');
  const runs = Number(process.env.FUZZ_RUNS ?? 200);
  await fc.assert(
    fc.asyncProperty(fc.oneof(
      fc.record({ at: fc.nat({ max: good.length - 1 }), byte: fc.integer({ min: 0, max: 255 }) }).map(({ at, byte }) => { const b = Buffer.from(good); b[at] = byte; return b; }),
      fc.nat({ max: good.length }).map((n) => good.subarray(0, n)),
      fc.record({ at: fc.nat({ max: good.length - 8 }), v: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }).map(({ at, v }) => { const b = Buffer.from(good); b.writeBigUInt64LE(v, at); return b; }),
    ), async (bytes) => {
      await writeFile(f, bytes);
      const t0 = performance.now();
      try {
        await checkGgufHeader(f);
      } catch (e) {
        if (!(e instanceof IalpError)) throw e;
      }
      if (performance.now() - t0 > 2000) throw new Error('took more than 2 s');
    }),
    { seed: 18, numRuns: runs },
  );
  t.pass();
});

test('ialp distill with a forged .gguf fails at once naming it', async (t) => {
  const f = join(dir, 'forged.gguf');
  await writeFile(f, gguf({ tensors: 2n ** 63n - 1n }));
  const t0 = performance.now();
  const r = await runCli(['distill', '--env', 'synthetic', '--llm', f, '--users', '2', '--out', join(dir, 'out')]);
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /forged\.gguf: not a valid GGUF model: tensor count: 9223372036854775807 declared/);
  t.true(performance.now() - t0 < 60_000);
});
