// README.md's quoted `ialp train` outputs are what the command prints on this
// code (wall times aside): regenerate them with `node --import=tsx scripts/readme-numbers.ts`.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { README, comparable, quotedOutputs, runIalp } from '../scripts/readme-numbers.js';

const quoted = quotedOutputs(readFileSync(README, 'utf8')).filter((q) => q.args[0] === 'train');

test('README.md quotes at least one ialp train output', (t) => {
  t.true(quoted.length >= 1);
  t.regex(quoted[0].text, /a2c\s+evaluation/);
});

for (const q of quoted) {
  test(`README.md's quoted output of ialp ${q.args.join(' ')} is what it prints`, async (t) => {
    const now = await runIalp(q.args);
    t.is(comparable(now), comparable(q.text), 'run: node --import=tsx scripts/readme-numbers.ts');
  });
}

test('comparable masks wall times and nothing else', (t) => {
  t.is(comparable('a2c  online   1.29 s\n----  --'), comparable('a2c online 10.31 s\n------ ----'));
  t.not(comparable('a2c 9.482 ±0.748 0.28 s'), comparable('a2c 9.483 ±0.748 0.28 s'));
});
