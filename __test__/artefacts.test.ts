// The artefact formats from JavaScript (docs/artefacts.md): files from a newer
// or unknown format version, of another kind, truncated or corrupted, are clear
// errors on both builds; a damaged user-model cache is refitted, not trusted.
import test from 'ava';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBackend, Policy, train, World } from '../packages/ts-api/src/index.js';
import { joinSafetensors, splitSafetensors } from './forge.js';
import { backends, root } from './helpers.js';

const env = { name: 'synthetic', synthetic: { nUsers: 50, nItems: 30 } };
let good: Uint8Array;

test.before(async () => {
  good = (await train({ env, episodes: 20, seed: 1, backend: 'native' })).policy.toBytes();
});

/** A version-2 policy with `__metadata__` edited (the checksum made valid again). */
const withMetadata = (bytes: Uint8Array, md: Record<string, string>) => {
  const { header, data } = splitSafetensors(bytes);
  Object.assign(header.__metadata__!, md);
  return joinSafetensors(header, data);
};
/** A format-version-1 policy (IALPPOL) written by the version-1 code, and what it recommended. */
const v1File = join(root, '__test__', 'fixtures', 'artefacts', 'policy-v1.ialp');
const v1Recs = [[7, 0.12528655], [6, 0.12520456], [5, 0.12512265], [4, 0.12504078], [3, 0.124958955], [0, 0.12471383]];

const withVersion = (bytes: Uint8Array, version: number, magic?: string) => {
  const out = Uint8Array.from(bytes);
  new DataView(out.buffer).setUint32(8, version, true);
  if (magic) out.set(new TextEncoder().encode(magic), 0);
  return out;
};

for (const backend of backends) {
  test(`${backend}: a policy of a newer or unknown format version says so`, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'ialp-artefacts-'));
    try {
      await writeFile(join(dir, 'newer.ialp'), withMetadata(good, { version: '3' }));
      await t.throwsAsync(Policy.load(join(dir, 'newer.ialp'), backend), {
        message: /newer\.ialp: policy file: format version 3 is not supported \(this build reads versions 1 and 2\); upgrade ialp$/,
      });
      await t.throwsAsync(Policy.fromBytes(withMetadata(good, { version: 'x' }), backend), {
        message: 'policy file: format version x is not supported (this build reads versions 1 and 2)',
      });
      await t.throwsAsync(Policy.fromBytes(withMetadata(good, { format: 'other' }), backend), {
        message: 'policy file: a safetensors file, but not an ialp policy (its __metadata__ has format "other", expected "ialp-policy")',
      });
      const v1 = await readFile(v1File);
      await t.throwsAsync(Policy.fromBytes(withVersion(v1, 0), backend), {
        message: 'policy file: format version 0 is not supported (this build reads version 1)',
      });
      // the good bytes still load: the checks read, never change, their input
      t.is((await Policy.fromBytes(good, backend)).nItems, 30);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test(`${backend}: every truncation of a policy is an error, never a crash`, async (t) => {
    const step = Math.max(1, Math.floor(good.length / 97));
    for (let len = 0; len < good.length; len += len < 40 ? 1 : step) {
      await t.throwsAsync(
        Policy.fromBytes(good.subarray(0, len), backend),
        { message: /^policy file: (\d+ bytes is too short|safetensors header length \d+ runs past the end of the file|tensor "[\w.]+": shape \[[\d, ]+\] \(\d+ F32 values\) does not fit|the tensors cover \d+ of the \d+ data bytes)/ },
        `${len} bytes`,
      );
    }
  });

  test(`${backend}: a policy is a safetensors file; the old format (version 1) is still read`, async (t) => {
    const { header, data } = splitSafetensors(good);
    const md = header.__metadata__ as Record<string, string>;
    t.is(md.format, 'ialp-policy');
    t.is(md.version, '2');
    t.is((JSON.parse(md.meta!) as { nItems: number }).nItems, 30);
    t.deepEqual(header.item_features, { dtype: 'F32', shape: [30, (header.item_features!.shape as number[])[1]], data_offsets: [0, 4 * 30 * (header.item_features!.shape as number[])[1]!] });
    t.is(Math.max(...Object.values(header).flatMap((e) => (e.data_offsets as number[] | undefined) ?? [])), data.length, 'the tensors cover the data');
    const p = await Policy.fromBytes(good, backend);
    t.deepEqual(p.toBytes(), good, 'loading and writing again gives the same bytes');

    const old = await readFile(v1File);
    t.is(old.subarray(0, 8).toString('latin1'), 'IALPPOL\0');
    const p1 = await Policy.fromBytes(old, backend);
    const recs = p1.recommend([{ item: 1, reward: 1 }, { item: 2, reward: 0 }], { k: 6 });
    t.deepEqual(recs.map((r) => r.item), v1Recs.map(([i]) => i));
    for (const [j, r] of recs.entries()) t.true(Math.abs(r.score - v1Recs[j]![1]!) < 1e-7, `${r.score} vs ${v1Recs[j]![1]}`);
    // saved again, it is a version-2 file with the same recommendations
    const again = p1.toBytes();
    t.not(Buffer.from(again.subarray(0, 8)).toString('latin1'), 'IALPPOL\0');
    t.deepEqual((await Policy.fromBytes(again, backend)).recommend([{ item: 1, reward: 1 }, { item: 2, reward: 0 }], { k: 6 }), recs);
  });

  test(`${backend}: reward model artefacts are checked the same way`, async (t) => {
    const b = await loadBackend(backend);
    t.throws(() => b.loadRewardModel(good), { message: /^reward model: not an ialp reward model \(bad magic bytes/ });
    t.throws(() => b.loadRewardModel(withVersion(good, 3, 'IALPRWD\0')), { message: 'reward model: format version 3 is not supported (this build reads version 1); upgrade ialp' });
    t.throws(() => b.loadRewardModel(withVersion(good, 1, 'IALPRWD\0')), { message: 'reward model: checksum mismatch: the file is truncated or corrupted' });
    t.throws(() => b.loadRewardModel(new Uint8Array(5)), { message: 'reward model: 5 bytes is too short to be a reward model' });
  });
}

test('native and wasm write identical policy bytes', async (t) => {
  const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
  // a version-1 file is written again as version 2 by each build's own writer
  const old = await readFile(v1File);
  const [n1, w1] = await Promise.all(backends.map((backend) => Policy.fromBytes(old, backend)));
  t.true(same(w1!.toBytes(), n1!.toBytes()), 'the version-1 fixture, rewritten');
  t.false(same(n1!.toBytes(), old));
  // trained on each build from the same seed: the same file
  const wasmTrained = (await train({ env, episodes: 20, seed: 1, backend: 'wasm' })).policy.toBytes();
  t.true(same(wasmTrained, good), 'trained with the same seed');
});

test('a damaged user-model cache is refitted and rewritten, and a user model is no policy', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ialp-artefacts-'));
  try {
    await World.load({ name: 'coat', cache: dir }, 'native');
    const cacheDir = join(dir, 'user-models');
    const [file] = await readdir(cacheDir);
    const path = join(cacheDir, file!);
    const fitted = await readFile(path);
    t.is(fitted.subarray(0, 8).toString('latin1'), 'IALPUMF\0');
    await t.throwsAsync(Policy.fromBytes(fitted, 'native'), { message: /^policy file: not an ialp policy file \(bad magic bytes/ });
    await writeFile(path, fitted.subarray(0, fitted.length - 100));
    const world = await World.load({ name: 'coat', cache: dir }, 'native');
    t.is(world.info.items, 300);
    t.deepEqual(await readFile(path), fitted, 'the refit (same data, same seed) rewrote the same model');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
