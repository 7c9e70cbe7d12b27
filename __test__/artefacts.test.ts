// The artefact formats from JavaScript (docs/artefacts.md): files from a newer
// or unknown format version, of another kind, truncated or corrupted, are clear
// errors on both builds; a damaged user-model cache is refitted, not trusted.
import test from 'ava';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBackend, Policy, train, World } from '../packages/ts-api/src/index.js';
import { backends } from './helpers.js';

const env = { name: 'synthetic', synthetic: { nUsers: 50, nItems: 30 } };
let good: Uint8Array;

test.before(async () => {
  good = (await train({ env, episodes: 20, seed: 1, backend: 'native' })).policy.toBytes();
});

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
      await writeFile(join(dir, 'newer.ialp'), withVersion(good, 2));
      await t.throwsAsync(Policy.load(join(dir, 'newer.ialp'), backend), {
        message: /newer\.ialp: policy file: format version 2 is not supported \(this build reads version 1\); upgrade ialp$/,
      });
      await t.throwsAsync(Policy.fromBytes(withVersion(good, 0), backend), {
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
      await t.throwsAsync(Policy.fromBytes(good.subarray(0, len), backend), { message: /^policy file: (\d+ bytes is too short|checksum mismatch: the file is truncated or corrupted)/ }, `${len} bytes`);
    }
  });

  test(`${backend}: reward model artefacts are checked the same way`, async (t) => {
    const b = await loadBackend(backend);
    t.throws(() => b.loadRewardModel(good), { message: /^reward model: not an ialp reward model \(bad magic bytes/ });
    t.throws(() => b.loadRewardModel(withVersion(good, 3, 'IALPRWD\0')), { message: 'reward model: format version 3 is not supported (this build reads version 1); upgrade ialp' });
    t.throws(() => b.loadRewardModel(withVersion(good, 1, 'IALPRWD\0')), { message: 'reward model: checksum mismatch: the file is truncated or corrupted' });
    t.throws(() => b.loadRewardModel(new Uint8Array(5)), { message: 'reward model: 5 bytes is too short to be a reward model' });
  });
}

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
