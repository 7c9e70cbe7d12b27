// The experiment config's one schema (config-schema.ts): every value's type is
// checked, and a mistake names the key and what was expected (issue 18).
import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { oneOf, parseExperimentConfig } from '../packages/ts-api/src/config-schema.js';
import type { Compute } from '../packages/ts-api/src/core-types.js';
import { SCHEMA_DEFAULTS, SCHEMA_FILE, schemaText } from '../scripts/gen-config-schema.js';
import { runExperiment } from '../packages/ts-api/src/index.js';
import { parseJsonStrict } from '../packages/ts-api/src/json.js';
import { runCli } from './helpers.js';

const cases: [unknown, string][] = [
  [{ envs: 'coat' }, 'envs: expected a non-empty list of strings, got "coat" (a string)'],
  [{ envs: [] }, 'envs: expected a non-empty list of strings, got [] (a list)'],
  [{ envs: ['coat', 3] }, 'envs[1]: expected a string, got 3 (a number)'],
  [{ seeds: '3' }, 'seeds: expected an integer in [1, 100], got "3" (a string)'],
  [{ seeds: 2.5 }, 'seeds: expected an integer in [1, 100], got 2.5 (a number)'],
  [{ llm: [] }, 'llm: expected a string or a non-empty list of strings, got [] (a list)'],
  [{ llm: 7 }, 'llm: expected a string or a non-empty list of strings, got 7 (a number)'],
  [{ compute: 'gpu' }, 'compute: expected one of "ndarray", "torch", got "gpu" (a string)'],
  [{ online: 5 }, 'online: expected an object with episodes, batchSize, got 5 (a number)'],
  [{ online: { episodes: '300' } }, 'online.episodes: expected an integer in [10, 10000000], got "300" (a string)'],
  // sizes past what one run may hold: refused naming the field, before any work (not minutes later, by the core's name)
  [{ online: { batchSize: 16_777_216 } }, 'online.batchSize: expected an integer in [1, 65536], got 16777216 (a number)'],
  [{ distill: { users: 1e12 } }, 'distill.users: expected an integer in [1, 1000000], got 1000000000000 (a number)'],
  [{ pretrain: { steps: 1e15 } }, 'pretrain.steps: expected an integer in [0, 1000000000000], got 1000000000000000 (a number)'],
  [{ pretrain: { entropyCoef: null } }, 'pretrain.entropyCoef: expected a finite number, got null (null)'],
  [{ pretrain: { worldEntropyCoef: '0.1' } }, 'pretrain.worldEntropyCoef: expected a finite number, got "0.1" (a string)'],
  [{ adaptive: { proposals: 1000 } }, 'adaptive.proposals: expected an integer in [1, 64], got 1000 (a number)'],
  [{ adaptive: { pretrainedTemperature: 'low' } }, 'adaptive.pretrainedTemperature: expected a finite number, got "low" (a string)'],
  [{ deploy: 'argmax' }, 'deploy: expected one of "greedy", "sample", got "argmax" (a string)'],
  [{ online: { episodez: 5 } }, 'unknown field "online.episodez" (expected one of episodes, batchSize)'],
  // environments and sources are sets: one given twice would run (and report) twice
  [{ envs: ['synthetic', 'coat', 'synthetic'] }, 'envs[2]: "synthetic" is given twice (also envs[0]); give each once'],
  [{ llm: ['oracle', 'oracle'] }, 'llm[1]: "oracle" is given twice (also llm[0]); give each once'],
  [{ llm: ['oracle', 3] }, 'llm[1]: expected a string, got 3 (a number)'],
  [[1], 'expected a JSON object, got [1] (a list)'],
  // keys that Object.prototype has are unknown fields too, never its members
  [JSON.parse('{"__proto__": {"seeds": 5}}'), 'unknown field "__proto__" (expected one of envs, data, seeds, llm, earlyEpisodes, deploy, compute, device, distill, pretrain, online, adaptive, sweep)'],
  [{ constructor: 1 }, 'unknown field "constructor" (expected one of envs, data, seeds, llm, earlyEpisodes, deploy, compute, device, distill, pretrain, online, adaptive, sweep)'],
  [{ distill: { hasOwnProperty: 3 } }, 'unknown field "distill.hasOwnProperty" (expected one of users, candidates, statesPerUser)'],
  [{ adaptive: { toString: 'x' } }, 'unknown field "adaptive.toString" (expected one of temperature, weightRate, weightScale, exploration, initialWeight, prior, trustSteps, criticScale, criticAgreement, floor, pretrainedTemperature, proposals, quitForesight, onlineStart, pretrainedProposals)'],
];

test('each value of the config is checked against its type, the error naming the key', (t) => {
  for (const [cfg, message] of cases) {
    t.throws(() => parseExperimentConfig(cfg, 'cfg.json'), { message: `cfg.json: ${message}` }, JSON.stringify(cfg));
  }
  const good = { envs: ['coat'], seeds: 3, llm: ['oracle', 'oracle:0.2'], online: { episodes: 100 }, adaptive: { temperature: 0.5, pretrainedTemperature: 1 }, deploy: 'sample' };
  t.deepEqual(parseExperimentConfig(good, 'cfg.json'), good);
});

test('a config nested 100,000 lists deep is refused by its depth, not by a stack overflow', (t) => {
  const deep = JSON.parse(`{"envs": ${'['.repeat(100_000)}1${']'.repeat(100_000)}}`) as unknown;
  t.throws(() => parseExperimentConfig(deep, 'cfg.json'), { message: /^cfg\.json\.envs(\[0\]){31}: nested more than 32 deep, or it refers to itself/ });
});

// The config's words are the core's enums (core-types.ts, generated from Rust): a list that
// misses a word or adds one does not compile (`tsc -p __test__` in the test command checks
// that each @ts-expect-error below still meets its error).
test('an enum field lists exactly the words of the core type it stands for', (t) => {
  // @ts-expect-error: misses "torch"
  const missing = oneOf<Compute>()(['ndarray']);
  // @ts-expect-error: "cuda" is a device, not a Compute
  const extra = oneOf<Compute>()(['ndarray', 'torch', 'cuda']);
  // @ts-expect-error: "torch" twice
  const twice = oneOf<Compute>()(['torch', 'ndarray', 'torch']);
  t.deepEqual(oneOf<Compute>()(['torch', 'ndarray']), { type: 'enum', values: ['torch', 'ndarray'] });
  t.deepEqual([missing.values, extra.values, twice.values], [['ndarray'], ['ndarray', 'torch', 'cuda'], ['torch', 'ndarray', 'torch']]);
});

test('config.schema.json is generated from the same declaration (npm run gen:schema) and a JSON Schema validator agrees with the checks', (t) => {
  t.is(readFileSync(SCHEMA_FILE, 'utf8'), schemaText(), 'config.schema.json is stale: run npm run gen:schema');
  const validate = new Ajv({ strict: true }).compile(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as object);
  for (const [cfg] of cases) t.false(validate(cfg), `the schema accepts ${JSON.stringify(cfg)}, which ialp refuses`);
  const good = { $schema: './node_modules/ialp/config.schema.json', envs: ['coat'], seeds: 3, llm: 'oracle:0.5', distill: { users: 40 }, adaptive: { prior: -0.5, proposals: 2 }, deploy: 'greedy' };
  t.true(validate(good), JSON.stringify(validate.errors));
  const { $schema, ...rest } = good;
  t.deepEqual(parseExperimentConfig(good, 'cfg.json'), rest, `${$schema} is dropped`);
  t.throws(() => parseExperimentConfig({ $schema: 3 }, 'cfg.json'), { message: 'cfg.json: $schema: expected a string (the path or URL of config.schema.json), got 3 (a number)' });
  // the defaults the file shows editors are a config both ialp and the schema accept
  const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as { properties: Record<string, { default?: unknown; properties?: Record<string, { default?: unknown }> }> };
  t.is(schema.properties.seeds!.default, 5);
  t.is(schema.properties.pretrain!.properties!.steps!.default, SCHEMA_DEFAULTS.pretrain.steps);
  t.true(validate(SCHEMA_DEFAULTS), JSON.stringify(validate.errors));
  t.notThrows(() => parseExperimentConfig(JSON.parse(JSON.stringify(SCHEMA_DEFAULTS)), 'defaults'));
});

test('the library checks the config before any work, the command line names the file', async (t) => {
  await t.throwsAsync(runExperiment({ envs: 'coat' } as never, join(tmpdir(), 'never-written')), { message: /^experiment config: envs: expected a non-empty list/ });
  const dir = await mkdtemp(join(tmpdir(), 'ialp-config-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'c.json'), JSON.stringify({ envs: [] }));
  const r = await runCli(['run', '--config', join(dir, 'c.json'), '--out', join(dir, 'out')]);
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /c\.json: envs: expected a non-empty list of strings, got \[\] \(a list\)/);
  const z = await runCli(['run', '--config', '/dev/zero', '--out', join(dir, 'out')]);
  t.is(z.code, 1);
  t.regex(z.stderr, /config file \/dev\/zero: a character device/);
});

test('a key given twice in one object of a config file is refused with both places; a syntax error gives its line', async (t) => {
  const dup = (text: string) => { try { parseJsonStrict(text, 'c.json'); return ''; } catch (e) { return (e as Error).message; } };
  t.is(dup('{\n  "seeds": 5,\n  "llm": "oracle",\n  "seeds": 1\n}'),
    'c.json: key "seeds" appears twice in the top-level object (line 4, column 3; first at line 2, column 3): each key once, please');
  t.regex(dup('{"pretrain": {"steps": 1, "users": 2, "steps": 3}}'), /key "steps" appears twice in pretrain \(line 1, column 39/);
  t.regex(dup('{"sweep": {"seeds": [1]}, "a": [{"x": 1}, {"y": 1, "y": 2}]}'), /key "y" appears twice in a\[1\]/);
  // escapes spell the same key, so they are the same key; other keys and strings that look like keys are not
  t.regex(dup('{"seeds": 1, "see\\u0064s": 2}'), /key "seeds" appears twice/);
  t.is(dup('{"a": {"seeds": 1}, "b": {"seeds": 2}, "c": ["seeds", "seeds"], "d": "\\"seeds\\": 3"}'), '');
  t.regex(dup('{\n  "seeds": 5,\n}'), /^c\.json: invalid JSON at line 3, column 1/);
  const dir = await mkdtemp(join(tmpdir(), 'ialp-config-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'c.json'), '{"envs": ["coat"], "envs": ["movielens"]}');
  const r = await runCli(['run', '--config', join(dir, 'c.json'), '--out', join(dir, 'out')]);
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /c\.json: key "envs" appears twice in the top-level object/);
});
