#!/usr/bin/env node
// The `ialp` command line.

import { parseArgs } from 'node:util';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { loadBackend, type BackendKind } from './backend.js';
import { IalpError } from './options.js';
import { ProgressBar } from './progress.js';
import { runOnline, type RunPhase } from './run.js';
import { formatTable } from './table.js';

const USAGE = `ialp: reinforcement-learning recommenders on a Rust core

Usage:
  ialp run [--env NAME] [--seed N] [--episodes N] [--eval-episodes N]
           [--batch-size N] [--backend native|wasm|auto] [--save FILE] [--json]
      Train an online actor-critic (A2C) on a simulated environment and
      compare it with a random policy. Prints a table (or JSON with --json).
  ialp envs [--json]          List the environments.
  ialp version                Print versions.
  ialp help                   This text.
`;

class UsageError extends Error {}

function intOption(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name}: expected an integer >= ${min}, got "${value}"`);
  return n;
}

function backendOption(value: string | undefined): BackendKind | 'auto' {
  const b = value ?? 'auto';
  if (b !== 'native' && b !== 'wasm' && b !== 'auto') throw new UsageError(`--backend: expected native, wasm or auto, got "${b}"`);
  return b;
}

async function cmdRun(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      env: { type: 'string', default: 'synthetic' },
      seed: { type: 'string' },
      episodes: { type: 'string' },
      'eval-episodes': { type: 'string' },
      'batch-size': { type: 'string' },
      backend: { type: 'string' },
      save: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const backend = await loadBackend(backendOption(values.backend));
  const known = backend.environments();
  if (!known.includes(values.env)) throw new UsageError(`--env: expected one of ${known.join(', ')}, got "${values.env}"`);
  const bar = new ProgressBar('train');
  const labels: Record<RunPhase, string> = { random: 'evaluating the random policy', train: 'training A2C online', evaluate: 'evaluating the trained policy' };
  const report = await runOnline({
    env: { name: values.env, batchSize: intOption('batch-size', values['batch-size'], 1) },
    seed: intOption('seed', values.seed, 0),
    episodes: intOption('episodes', values.episodes, 10),
    evalEpisodes: intOption('eval-episodes', values['eval-episodes'], 1),
    backend: backend.kind,
    onProgress: (phase, done, total, detail) => {
      if (phase === 'train' && detail) {
        bar.update(done, total, `episodes, ${detail.updates} updates`);
        if (done >= total) bar.done();
      } else if (done === 0 && !values.json && process.stderr.isTTY) {
        process.stderr.write(`\r\x1b[K${labels[phase]}...`);
      }
    },
  });
  bar.done();
  if (values.save) {
    await mkdir(dirname(values.save), { recursive: true });
    await report.policy.save(values.save);
  }
  if (values.json) {
    const { policy: _policy, ...rest } = report;
    process.stdout.write(JSON.stringify({ ...rest, policyFile: values.save ?? null }, null, 2) + '\n');
    return;
  }
  const ms = (x: number) => `${(x / 1000).toFixed(2)} s`;
  const wall: Record<string, string> = { random: ms(report.timing.random), 'a2c/evaluation': ms(report.timing.evaluate) };
  const rows = report.results.rows.map((r) => [
    r.method, r.phase, r.summary.episodes, r.summary.meanReturn, `±${r.summary.returnCi95.toFixed(3)}`,
    r.summary.meanLength, r.summary.rewardPerStep,
    r.phase.startsWith('online') ? ms(report.timing.train) : wall[r.method === 'random' ? 'random' : 'a2c/evaluation']!,
  ]);
  console.log(`ialp run: env ${report.env}, seed ${report.seed}, backend ${report.backend}, ${report.results.updates} updates, ${report.results.envSteps} user-steps\n`);
  console.log(formatTable(['method', 'phase', 'episodes', 'mean return', '95% CI', 'mean length', 'reward/step', 'wall time'], rows));
  if (values.save) console.log(`\npolicy saved to ${values.save}`);
}

async function cmdEnvs(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, strict: true, options: { json: { type: 'boolean', default: false }, backend: { type: 'string' } } });
  const backend = await loadBackend(backendOption(values.backend));
  const names = backend.environments();
  const info = names.map((name) => {
    const env = backend.createEnv(JSON.stringify({ name, batch: { batchSize: 1 } }));
    return { name, users: env.nUsers, items: env.nItems, categories: env.nCategories };
  });
  if (values.json) console.log(JSON.stringify(info, null, 2));
  else console.log(formatTable(['name', 'users', 'items', 'categories'], info.map((e) => [e.name, e.users, e.items, e.categories])));
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'run': await cmdRun(rest); return 0;
      case 'envs': await cmdEnvs(rest); return 0;
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
    const err = e as Error & { code?: string };
    const usage = e instanceof UsageError || (err.code ?? '').startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`\nialp: ${err.message}\n${usage ? "run 'ialp help' for usage\n" : ''}`);
    return usage ? 2 : e instanceof IalpError ? 1 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
