// `npm run bench [-- --only env,ac --quick --sizes 1,4096 --reps 5]`: throughput
// studies of ialp, printed as tables and written to benches/results/. See
// benches/README.md for what each group measures and how ratios are computed.

import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { datasetsGroup } from './groups/datasets.js';
import { envGroup } from './groups/env.js';
import { llmGroup } from './groups/llm.js';
import { llmServeGroup } from './groups/llm-serve.js';
import { mainGroup } from './groups/main.js';
import { shardsGroup } from './groups/shards.js';
import { acGroup, buffersGroup, trainGroup } from './groups/rust.js';
import { serveGroup } from './serve.js';
import type { Group } from './lib/group.js';
import type { Plan } from './lib/measure.js';
import { groupTable, machine, targetsTable, write, type Report } from './lib/report.js';
import { judgeTargets } from './lib/targets.js';

/** Every group, in the order they run; one line per group. */
const GROUPS: Group[] = [envGroup, datasetsGroup, acGroup, buffersGroup, trainGroup, llmGroup, llmServeGroup, mainGroup, shardsGroup, serveGroup];

const PLANS: Record<'full' | 'quick', Plan> = {
  full: { warmup: 2, reps: 10, repMs: 150 },
  quick: { warmup: 1, reps: 3, repMs: 30 },
};

const USAGE = `usage: npm run bench -- [options]
  --only GROUP[,GROUP]  run only these groups: ${GROUPS.map((g) => g.name).join(', ')}
  --quick               fewer sizes, repetitions and shorter repetitions (under 2 minutes)
  --sizes B[,B...]      batch sizes for the env group (default 1,16,256,4096,16384,65536;
                        quick 1,256,4096,16384)
  --reps N              timed repetitions per case (default 10, quick 3)
  -h, --help            this text
Results: a table on stdout; JSON and markdown in benches/results/history/, and in
benches/results/latest.{json,md} when every group ran at its default sizes.`;

class UsageError extends Error {}

function positiveInts(flag: string, text: string, max: number): number[] {
  return text.split(',').map((s) => {
    const v = s.trim();
    if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > max) {
      throw new UsageError(`${flag}: "${v}" is not an integer in [1, ${max}] (expected e.g. ${flag} ${flag === '--reps' ? '5' : '1,4096'})`);
    }
    return Number(v);
  });
}

function options(argv: string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        only: { type: 'string' },
        quick: { type: 'boolean', default: false },
        sizes: { type: 'string' },
        reps: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const names = GROUPS.map((g) => g.name);
  const only = parsed.only?.split(',').map((s) => s.trim());
  for (const name of only ?? []) {
    if (!names.includes(name)) throw new UsageError(`--only: unknown group "${name}"; expected one or more of ${names.join(', ')}`);
  }
  const plan = { ...PLANS[parsed.quick ? 'quick' : 'full'] };
  if (parsed.reps !== undefined) plan.reps = positiveInts('--reps', parsed.reps, 1000)[0];
  return {
    help: parsed.help,
    quick: parsed.quick,
    groups: GROUPS.filter((g) => !only || only.includes(g.name)),
    sizes: parsed.sizes === undefined ? null : positiveInts('--sizes', parsed.sizes, 1 << 20),
    plan,
  };
}

async function main(argv: string[]): Promise<number> {
  let opts;
  try {
    opts = options(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`bench: ${e.message}\n\n${USAGE}`);
    return 2;
  }
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  const root = fileURLToPath(new URL('..', import.meta.url));
  const loadStart = os.loadavg();
  const t0 = performance.now();
  const report: Report = {
    machine: machine(root, loadStart),
    plan: { ...opts.plan, quick: opts.quick, argv },
    groups: {},
    targets: [],
  };
  const m = report.machine;
  console.log(`ialp bench: ${m.cpu}, ${m.cores} cores; Node ${m.node}; ${m.rustc}; commit ${m.commit}`);
  console.log(`plan: ${opts.plan.warmup} warm-up + ${opts.plan.reps} repetitions of ~${opts.plan.repMs} ms; load average ${loadStart.map((x) => x.toFixed(2)).join(' ')}`);
  const log = (line: string) => console.log(line);
  let failed = false;
  for (const g of opts.groups) {
    console.log(`\n== ${g.name}: ${g.title}`);
    if (g.unavailable) {
      console.log(`skipped: ${g.unavailable}`);
      report.groups[g.name] = { title: g.title, skipped: g.unavailable };
      continue;
    }
    const start = performance.now();
    try {
      const r = await g.run({ root, quick: opts.quick, sizes: opts.sizes, plan: opts.plan, log });
      report.groups[g.name] = { ...r, title: g.title, seconds: (performance.now() - start) / 1000 };
      console.log(groupTable(r.measurements));
      for (const c of r.checks) {
        console.log(`check ${c.ok ? 'ok' : 'FAILED'}: ${c.name}: ${c.detail}`);
        failed ||= !c.ok;
      }
      for (const n of r.notes) console.log(`note: ${n}`);
    } catch (e) {
      failed = true;
      const msg = (e as Error).message;
      console.error(`${g.name} failed: ${msg}`);
      report.groups[g.name] = { title: g.title, skipped: `failed: ${msg}` };
    }
  }
  report.machine.loadAverage.end = os.loadavg();
  report.targets = judgeTargets(Object.values(report.groups).flatMap((g) => ('measurements' in g ? g.measurements : [])));
  console.log(`\n== targets (issue #8)\n${targetsTable(report.targets)}`);
  // only a run of every group at its default sizes replaces latest.{json,md}
  const complete = opts.groups.length === GROUPS.length && opts.sizes === null;
  const files = write(fileURLToPath(new URL('results', import.meta.url)), report, complete);
  console.log(`\nwrote ${files.join(', ')} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  if (!complete) console.log('(a partial run: --only or --sizes; benches/results/latest.* left as they were)');
  return failed ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
