// `node --import=tsx scripts/readme-numbers.ts [--check]`: the outputs quoted in
// README.md come from the code. A quoted output is a fenced block right after a
// marker line `<!-- output of: ialp ARGS -->`; this script runs `ialp ARGS` on
// the current build and writes what it prints into the block. `--check` only
// compares (exit 1 on a difference). Wall times are not compared (they are
// written as measured): `comparable` masks them, and __test__/readme.test.ts
// fails when a quoted `ialp train` output differs from what the command prints.

import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
export const README = `${root}README.md`;
const CLI = `${root}packages/ts-api/src/cli.ts`;
const MARKER = /^<!-- output of: ialp (.+?) -->\n```\n([\s\S]*?)```\n/gm;

export interface Quoted {
  /** The arguments after `ialp`. */
  args: string[];
  /** The block's text as README.md has it. */
  text: string;
  /** Where the block's text starts and ends in README.md. */
  start: number;
  end: number;
}

/** The quoted outputs of `readme`, in order. */
export function quotedOutputs(readme: string): Quoted[] {
  return [...readme.matchAll(MARKER)].map((m) => {
    const start = m.index + m[0].indexOf('```\n') + 4;
    return { args: m[1].trim().split(/\s+/), text: m[2], start, end: start + m[2].length };
  });
}

/** The output with what may change from run to run masked: wall times ("1.29 s")
 * and the column widths they set. */
export function comparable(text: string): string {
  return text
    .replace(/\d+(\.\d+)? s\b/g, '<time> s')
    .replace(/-{2,}/g, '--')
    .replace(/[ \t]+/g, ' ')
    .trim();
}

/** What `ialp ARGS` prints on the current build. */
export async function runIalp(args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import=tsx', CLI, ...args], { cwd: root, maxBuffer: 64 << 20 });
  return stdout.trimEnd() + '\n';
}

async function main(check: boolean): Promise<number> {
  let readme = readFileSync(README, 'utf8');
  const quoted = quotedOutputs(readme);
  let stale = 0;
  // from the end, so earlier offsets stay valid
  for (const q of [...quoted].reverse()) {
    const now = await runIalp(q.args);
    const same = comparable(now) === comparable(q.text);
    console.log(`${same ? 'same' : 'CHANGED'}: ialp ${q.args.join(' ')}`);
    if (!same) stale += 1;
    if (!check) readme = readme.slice(0, q.start) + now + readme.slice(q.end);
  }
  if (!check) writeFileSync(README, readme);
  console.log(`${quoted.length} quoted outputs, ${stale} changed${check ? '' : '; README.md rewritten'}`);
  return check && stale > 0 ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main(process.argv.includes('--check'));
}
