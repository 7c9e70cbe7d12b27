// Dataset hygiene on both builds (issue 18): duplicated rows are counted,
// dropped and warned about; a file of mixed encodings is an error naming its lines.
import test from 'ava';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { World } from '../packages/ts-api/src/index.js';
import { backends, root } from './helpers.js';

const fixture = join(root, 'crates/sim/tests/fixtures/movielens');

for (const backend of backends) {
  test.serial(`${backend}: every row twice loads as once, the duplicates counted and warned about`, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'ialp-dups-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    await cp(join(fixture, 'latest'), dir, { recursive: true });
    const once = await World.load({ name: 'movielens', data: dir, cache: false }, backend);
    t.is(once.info.duplicateRows, 0);
    const [header, ...rows] = (await readFile(join(dir, 'ratings.csv'), 'utf8')).trim().split('\n');
    await writeFile(join(dir, 'ratings.csv'), [header, ...rows, ...rows].join('\n') + '\n');
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    const twice = await World.load({ name: 'movielens', data: dir, cache: false }, backend);
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarning);
    t.is(twice.info.duplicateRows, rows.length);
    t.is(twice.info.interactions, once.info.interactions);
    t.is(twice.info.fingerprint, once.info.fingerprint, 'the same data once duplicates are dropped');
    t.true(warnings.some((w) => w === `${dir}: ${rows.length} duplicated rows (the same user, item, value and time as an earlier row) were dropped, the first of each kept`), warnings.join('\n'));
  });

  test.serial(`${backend}: a (user, item) pair given again at another time or value is kept, counted and warned about`, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'ialp-pairs-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    await cp(join(fixture, 'latest'), dir, { recursive: true });
    const ratings = (await readFile(join(dir, 'ratings.csv'), 'utf8')).trimEnd();
    const once = await World.load({ name: 'movielens', data: dir, cache: false }, backend);
    t.is(once.info.repeatedPairs, 0);
    // user 10 rated item 1 4.0 at 1000: a conflicting rating at the same time, and a re-rating later
    await writeFile(join(dir, 'ratings.csv'), `${ratings}\n10,1,1.0,1000\n10,1,2.0,5000\n`);
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    const w = await World.load({ name: 'movielens', data: dir, cache: false }, backend);
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarning);
    t.is(w.info.repeatedPairs, 2);
    t.is(w.info.duplicateRows, 0);
    t.is(w.info.interactions, once.info.interactions + 2, 'kept');
    t.true(warnings.some((m) => m === `${dir}: 2 rows give a (user, item) pair that an earlier row gives at another time or with another value (a re-rating or a re-watch); all are kept, and the user model fits each`), warnings.join('\n'));
  });

  test(`${backend}: one Latin-1 line in a UTF-8 u.item names the lines`, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'ialp-enc-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    await cp(join(fixture, '100k'), dir, { recursive: true });
    const lines = (await readFile(join(dir, 'u.item'), 'latin1')).split('\n');
    const utf8 = Buffer.from(`${lines[0]!.replace('|', '|Café ')}\n`, 'utf8');
    const rest = Buffer.from(lines.slice(1).join('\n').replace(/\|/, '|Caf\xe9 '), 'latin1');
    await writeFile(join(dir, 'u.item'), Buffer.concat([utf8, rest]));
    await t.throwsAsync(World.load({ name: 'movielens', data: dir, cache: false }, backend), {
      message: /u\.item: mixed encodings: line 1 is UTF-8 but line 2 is not \(byte 0xe9, Latin-1\?\)/,
    });
  });
}
