// Sweeps (issue 16): a config lists values for any field; each combination is
// a cell, run as a config of its own, sharded like seeds, compared in the report.
import test from 'ava';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cellConfig, cellLabel, runExperiment, sweepCells, type ExperimentConfig } from '../packages/ts-api/src/index.js';
import { runCli } from './helpers.js';

test('the cells of a sweep: every combination in order, each a config of its own', (t) => {
  const cfg: ExperimentConfig = { envs: ['coat'], adaptive: { temperature: 0.2 }, sweep: { 'adaptive.prior': [0, 0.2], 'pretrain.steps': [1000, 2000, 3000] } };
  const cells = sweepCells(cfg);
  t.is(cells.length, 6);
  t.deepEqual(cells[0], { 'adaptive.prior': 0, 'pretrain.steps': 1000 });
  t.deepEqual(cells[5], { 'adaptive.prior': 0.2, 'pretrain.steps': 3000 });
  t.deepEqual(cellConfig(cfg, cells[4]!), { envs: ['coat'], adaptive: { temperature: 0.2, prior: 0.2 }, pretrain: { steps: 2000 } });
  t.deepEqual(cfg.adaptive, { temperature: 0.2 }, 'the config itself is not changed');
  t.is(cellLabel(cells[1]!), 'adaptive.prior=0, pretrain.steps=2000');
  t.deepEqual(sweepCells({ envs: ['coat'] }), [{}]);
});

test('a bad sweep is an error naming the field and what was expected, before any work', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'ialp-sweep-bad-'));
  const cases: [unknown, RegExp][] = [
    [{ sweep: { 'adaptive.nope': [1] } }, /unknown field "sweep\.adaptive\.nope" \(expected one of seeds, earlyEpisodes, .*adaptive\.prior/],
    [{ sweep: { 'pretrain.steps': [1000, 'many'] } }, /sweep\.pretrain\.steps\[1\]: expected an integer in \[0, 1000000000000\], got "many" \(a string\)/],
    [{ sweep: { 'pretrain.steps': [] } }, /sweep\.pretrain\.steps: expected a non-empty list whose items are each an integer in \[0, 1000000000000\], got \[\]/],
    [{ sweep: { 'adaptive.prior': 0.1 } }, /sweep\.adaptive\.prior: expected a non-empty list/],
    [{ sweep: { seeds: [2, 2] } }, /sweep\.seeds\[1\]: 2 is given twice/],
    // the environments are each cell's columns, and a list of sources is a sweep already
    [{ sweep: { envs: [['coat']] } }, /unknown field "sweep\.envs"/],
    [{ sweep: { llm: ['oracle'] } }, /unknown field "sweep\.llm"/],
    // the backend is loaded once for the whole run
    [{ sweep: { compute: ['ndarray', 'torch'] } }, /unknown field "sweep\.compute"/],
    // a limit that depends on the run, in the last cell: named before the first cell runs
    [{ envs: ['coat'], llm: 'oracle', sweep: { 'distill.candidates': [4, 30] } }, /sweep\.distill\.candidates\[1\]: expected an integer in \[2, 26\], got 30 \(a number\)/],
    [{ online: { episodes: 20 }, sweep: { earlyEpisodes: [10, 50] } }, /cell 2 \(earlyEpisodes=50\): earlyEpisodes/],
    [{ adaptive: { prior: 0.1 }, sweep: { 'adaptive.prior': [0, 0.2] } }, /sweep\.adaptive\.prior: the field is also set \(adaptive\.prior: 0\.1\); give it in one place/],
    [{ sweep: { 'pretrain.steps': Array.from({ length: 40 }, (_, i) => i), 'pretrain.users': Array.from({ length: 30 }, (_, i) => i + 1) } }, /make 1200 cells; at most 1000/],
  ];
  for (const [cfg, re] of cases) {
    const e = await t.throwsAsync(runExperiment(cfg as ExperimentConfig, out));
    t.regex(e!.message, re, JSON.stringify(cfg));
  }
  t.deepEqual(await readdir(out), [], 'nothing was computed');
  // called directly, a cell's path cannot reach a prototype
  t.throws(() => cellConfig({}, { '__proto__.polluted': 1 }), { message: /"__proto__\.polluted" is not a config field's path/ });
  t.is(({} as Record<string, unknown>).polluted, undefined);
  const flag = await runCli(['run', '--env', 'coat', '--sweep', 'adaptive.prior']);
  t.is(flag.code, 2, flag.stderr);
  t.regex(flag.stderr, /--sweep: expected FIELD=V1,V2,\.\.\. \(e\.g\. adaptive\.prior=0,0\.05,0\.2\), got "adaptive\.prior"/);
});

type Out = { results: { env: string; cell?: Record<string, unknown>; seeds: number[]; earlyEpisodes: number; methods: { method: string; early: number[] }[] }[] };

test('a swept run: each cell equals the run of its config, sharded cells merge to the same results, the report compares cells', async (t) => {
  t.timeout(15 * 60_000);
  const dir = await mkdtemp(join(tmpdir(), 'ialp-sweep-'));
  const base = ['run', '--env', 'coat', '--quick', '--seeds', '2', '--llm', 'oracle', '--json'];
  const sweep = ['--sweep', 'adaptive.prior=0,0.2', '--sweep', 'deploy=greedy,sample'];
  const plainCfg = join(dir, 'cell3.json');
  await writeFile(plainCfg, JSON.stringify({ adaptive: { prior: 0.2 }, deploy: 'greedy' }));
  const [swept, plain] = await Promise.all([
    runCli([...base, ...sweep, '--out', join(dir, 'swept')]),
    runCli([...base, '--config', plainCfg, '--out', join(dir, 'plain')]),
  ]);
  t.is(swept.code, 0, swept.stderr);
  t.is(plain.code, 0, plain.stderr);
  const s = JSON.parse(swept.stdout) as Out;
  const p = JSON.parse(plain.stdout) as Out;
  t.deepEqual(s.results.map((r) => r.cell), [
    { 'adaptive.prior': 0, deploy: 'greedy' }, { 'adaptive.prior': 0, deploy: 'sample' },
    { 'adaptive.prior': 0.2, deploy: 'greedy' }, { 'adaptive.prior': 0.2, deploy: 'sample' },
  ]);
  // the third cell is exactly the run of its own config
  t.deepEqual(s.results[2]!.methods, p.results[0]!.methods);
  const early = (i: number, m: string) => s.results[i]!.methods.find((x) => x.method === m)!.early;
  // what a field does not touch is the same in every cell (one computation, from the shared cache)
  t.deepEqual(early(0, 'a2c'), early(3, 'a2c'));
  t.deepEqual(early(0, 'a-ialp-ft'), early(2, 'a-ialp-ft'));
  // and what it touches differs: the frozen policy's deployment, A-iALP_ap's prior
  t.notDeepEqual(early(0, 'ialp'), early(1, 'ialp'));
  t.notDeepEqual(early(0, 'a-ialp-ap'), early(2, 'a-ialp-ap'));
  // the CSV has the cell, the metrics name it, the saved policies are per cell
  const csv = await readFile(join(dir, 'swept', 'results.csv'), 'utf8');
  t.regex(csv.split('\n')[0]!, /^env,source,cell,method,seed,/);
  t.regex(csv, /coat,"oracle","adaptive\.prior=0\.2, deploy=sample",a-ialp-ap,1,/);
  const metrics = (await readFile(join(dir, 'swept', 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { cell?: string; method: string });
  t.true(metrics.every((r) => typeof r.cell === 'string'));
  t.is(new Set(metrics.map((r) => r.cell)).size, 4);
  const html = await readFile(join(dir, 'swept', 'report.html'), 'utf8');
  t.regex(html, /<h2>Sweep: early return per cell<\/h2>/);
  t.regex(html, /cell 2: adaptive\.prior=0, deploy=sample/);

  // the table a person reads: every cell's early return, the later ones paired against the first
  const printed = await runCli([...base.filter((x) => x !== '--json'), ...sweep, '--out', join(dir, 'swept')]);
  t.is(printed.code, 0, printed.stderr);
  t.regex(printed.stdout, /sweep: mean return of the first 30 episodes per cell/);
  t.regex(printed.stdout, /cell 4: adaptive\.prior=0\.2, deploy=sample/);
  t.regex(printed.stdout, /a-ialp-ap +\S+ ± \S+ +\S+ ± \S+ \([+-]\S+ ± \S+\)/);

  // sharded: the (cell, environment, seed) units split between two processes, merged
  const [a, b] = await Promise.all([0, 1].map((i) => runCli([...base, ...sweep, '--out', join(dir, `s${i}`), '--shard', `${i}/2`])));
  t.is(a!.code, 0, a!.stderr);
  t.is(b!.code, 0, b!.stderr);
  const sa = JSON.parse(a!.stdout) as Out;
  // 4 cells x 2 seeds: units 0, 2, 4, 6 in shard 0, each cell's first seed
  t.deepEqual(sa.results.map((r) => r.methods[0]!.early.length), [1, 1, 1, 1]);
  t.deepEqual(sa.results.map((r) => r.seeds), [[1000], [1000], [1000], [1000]]);
  const merged = await runCli(['merge', join(dir, 's0'), join(dir, 's1'), '--out', join(dir, 'merged'), '--json']);
  t.is(merged.code, 0, merged.stderr);
  t.deepEqual((JSON.parse(merged.stdout) as Out).results, s.results);
});

test('a sweep over seeds with --quick: the quick presets leave swept fields alone, and cells pair on the seeds they share', async (t) => {
  t.timeout(10 * 60_000);
  const out = await mkdtemp(join(tmpdir(), 'ialp-sweep-seeds-'));
  const r = await runCli(['run', '--env', 'coat', '--quick', '--llm', 'oracle', '--sweep', 'seeds=2,3', '--sweep', 'earlyEpisodes=10,30', '--out', out, '--json']);
  t.is(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as Out;
  t.deepEqual(s.results.map((x) => [x.seeds, x.earlyEpisodes]), [[[1000, 1001], 10], [[1000, 1001], 30], [[1000, 1001, 1002], 10], [[1000, 1001, 1002], 30]]);
  // the same seed's run is one computation: A2C's first 10 episodes of seeds 1000 and 1001 agree across cells
  const a2c = (i: number) => s.results[i]!.methods.find((m) => m.method === 'a2c')!.early;
  t.deepEqual(a2c(2).slice(0, 2), a2c(0));
  const printed = await runCli(['run', '--env', 'coat', '--quick', '--llm', 'oracle', '--sweep', 'seeds=2,3', '--sweep', 'earlyEpisodes=10,30', '--out', out]);
  t.is(printed.code, 0, printed.stderr);
  t.regex(printed.stdout, /first 10 \/ 30 episodes per cell/);
  // cell 3 (3 seeds, early 10) against cell 1 (2 seeds, early 10): paired on seeds 1000 and 1001, so A2C's difference is exactly 0
  t.regex(printed.stdout, /\na2c +\S+ ± \S+ +\S+ ± \S+ \(\S+ ± \S+\) +\S+ ± \S+ \(\+0\.000 ± 0\.000\)/);
});
