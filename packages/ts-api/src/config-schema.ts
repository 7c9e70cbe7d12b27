// The experiment config file (`ialp run --config FILE`) as one schema with the
// type of every value, so that a mistake is an error naming the key and what
// was expected, never something silently else: `{"envs": "coat"}` would
// otherwise iterate letters, `{"envs": []}` produce an empty report and
// `{"seeds": "3"}` fail deep inside with "got 3".

import type { ExperimentConfig } from './experiment.js';
import { CORE_DEFAULTS, type Compute, type Device, type Mode, type OnlineStart, type PretrainedProposals } from './core-types.js';
import { IalpError } from './options.js';
import { checkNesting } from './boundary.js';

/** The type of one value: a leaf, a list, one of a few words, or an object of named fields.
 * A leaf may carry the experiment's `default`: the one place it is declared (experiment.ts
 * reads it as `DEFAULTS`, the JSON Schema shows it). */
type Default = string | number | readonly string[];
export type ValueType =
  | { type: 'string'; default?: Default }
  | { type: 'integer'; min: number; max?: number; default?: Default }
  | { type: 'number'; min?: number; max?: number; default?: Default }
  | { type: 'enum'; values: readonly string[]; default?: Default }
  | { type: 'list'; of: ValueType; nonEmpty?: boolean; unique?: boolean; default?: Default }
  | { type: 'either'; options: readonly ValueType[]; default?: Default }
  | { type: 'object'; fields: Record<string, ValueType> };

const str = { type: 'string' } as const;
const int = (min: number, max?: number) => ({ type: 'integer' as const, min, ...(max === undefined ? {} : { max }) });
const num = { type: 'number' } as const;
// environments and preference sources are sets: one given twice would run twice
const nonEmptyStrings = { type: 'list', of: str, nonEmpty: true, unique: true } as const;
/** `t` with its default. */
const dflt = <T extends object, const D extends Default>(t: T, d: D) => ({ ...t, default: d });
/** A number field whose default is the core's (generated from Rust: the core declares it). */
const coreNum = (d: number) => dflt(num, d);
const A = CORE_DEFAULTS.adaptive;
/** The first word of `V` that it lists again, or never. */
type Repeated<V extends readonly unknown[]> = V extends readonly [infer H, ...infer R] ? (H extends R[number] ? H : Repeated<R>) : never;

/** One of the words of `T`, a union the core declares (core-types.ts, generated from Rust):
 * `oneOf<Compute>()(['ndarray', 'torch'])`. The compiler refuses a list that misses one of
 * `T`'s words, holds another or lists one twice, so the config's words cannot drift from
 * the core's enums. */
export const oneOf = <T extends string>() =>
  <const V extends readonly T[]>(
    values: V &
      ([T] extends [V[number]] ? unknown : { missing: Exclude<T, V[number]> }) &
      ([Repeated<V>] extends [never] ? unknown : { repeated: Repeated<V> }),
  ) => ({ type: 'enum' as const, values: values as V });

/** The core's limits (crates/sim/src/limits.rs: episodes of one run, preference requests), and
 * users stepped together in one of the experiment's runs (up to 4 run side by side): stated
 * here so that a config over them is refused, naming its field, before any work. */
const MAX_EPISODES = 10_000_000;
const MAX_REQUESTS = 1_000_000;
const MAX_USERS = 65_536;

/** Every key of the experiment config with the type of its value (but `sweep`, below). */
const SWEPT_CONFIG = {
  type: 'object',
  fields: {
    envs: dflt(nonEmptyStrings, ['movielens']),
    data: str,
    seeds: dflt(int(1, 100), 5),
    llm: { type: 'either', options: [str, nonEmptyStrings], default: 'default' },
    earlyEpisodes: dflt(int(1, MAX_EPISODES), 50),
    // a frozen policy serves its top item: sampling its softmax's tail sometimes draws a
    // third item of one category in a row, and users leave bored (pre-training already explored)
    deploy: dflt(oneOf<Mode>()(['greedy', 'sample']), 'greedy'),
    compute: oneOf<Compute>()(['ndarray', 'torch']),
    device: oneOf<Device>()(['auto', 'cpu', 'cuda']),
    // the distillation's defaults depend on the source (experiment.ts DEFAULTS.distill)
    distill: { type: 'object', fields: { users: int(1, MAX_REQUESTS), candidates: int(2, 26), statesPerUser: int(1, 1000) } },
    pretrain: {
      type: 'object',
      fields: {
        steps: dflt(int(0, 1e12), 500_000), episodes: dflt(int(1, MAX_EPISODES), 1_000_000), users: dflt(int(1, MAX_USERS), 64),
        epochs: dflt(int(1, 100_000), 4), transitionsPerEpoch: dflt(int(1, 2 ** 24), 4096), entropyCoef: dflt(num, 1), worldEntropyCoef: num,
      },
    },
    online: { type: 'object', fields: { episodes: dflt(int(10, MAX_EPISODES), 300), batchSize: dflt(int(1, MAX_USERS), 16) } },
    adaptive: {
      type: 'object',
      fields: {
        temperature: coreNum(A.temperature), weightRate: coreNum(A.weightRate), weightScale: coreNum(A.weightScale),
        exploration: coreNum(A.exploration), initialWeight: coreNum(A.initialWeight), prior: coreNum(A.prior),
        trustSteps: coreNum(A.trustSteps), criticScale: coreNum(A.criticScale), criticAgreement: coreNum(A.criticAgreement),
        floor: coreNum(A.floor), pretrainedTemperature: coreNum(A.pretrainedTemperature),
        proposals: dflt(int(1, 64), A.proposals),
        quitForesight: coreNum(A.quitForesight),
        onlineStart: dflt(oneOf<OnlineStart>()(['scratch', 'pretrained']), A.onlineStart),
        pretrainedProposals: dflt(oneOf<PretrainedProposals>()(['one', 'topAndSample']), A.pretrainedProposals),
      },
    },
  },
} as const satisfies ValueType;

/** Fields a sweep does not list: the environments are each cell's columns already,
 * the data folder is not a setting, a list of preference sources is itself a sweep
 * (`llm`), and the compute backend is loaded once for the whole run. */
const NOT_SWEPT = new Set(['envs', 'data', 'llm', 'compute', 'device']);

/** The leaves of an object type, as dotted paths (`adaptive.prior`) with their types. */
export function leafFields(t: ValueType, prefix = ''): [string, ValueType][] {
  if (t.type !== 'object') return [[prefix, t]];
  return Object.entries(t.fields).flatMap(([k, f]) => leafFields(f, prefix ? `${prefix}.${k}` : k));
}

function withoutDefault(t: ValueType): ValueType {
  if (t.type === 'object' || t.default === undefined) return t;
  const { default: _, ...rest } = t;
  return rest as ValueType;
}

/** `sweep`: for any leaf field of the config (by its dotted path), a non-empty list of
 * values; each combination of them is a cell of the experiment. */
const SWEEP = {
  type: 'object',
  fields: Object.fromEntries(leafFields(SWEPT_CONFIG)
    .filter(([path]) => !NOT_SWEPT.has(path))
    // a swept value has no default: the list is the values
    .map(([path, t]) => [path, { type: 'list', of: withoutDefault(t), nonEmpty: true, unique: true }])) as Record<string, ValueType>,
} as const satisfies ValueType;

/** The experiment's defaults, from the declaration. */
export const CONFIG_DEFAULTS = defaultsOf(SWEPT_CONFIG);

/** Every key of the experiment config with the type of its value. */
export const EXPERIMENT_CONFIG = {
  type: 'object',
  fields: { ...SWEPT_CONFIG.fields, sweep: SWEEP as ValueType },
} as const satisfies ValueType;

/** The defaults a type declares, in its shape (objects keep only fields with a default somewhere below). */
export type Defaults<T> =
  T extends { type: 'object'; fields: infer F }
    ? { -readonly [K in keyof F as F[K] extends { default: unknown } | { type: 'object' } ? K : never]: Defaults<F[K]> }
    : T extends { default: infer D } ? D : never;

export function defaultsOf<T extends ValueType>(t: T): Defaults<T> {
  if (t.type !== 'object') return t.default as Defaults<T>;
  const out: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(t.fields)) {
    if (f.type === 'object') {
      const d = defaultsOf(f) as Record<string, unknown>;
      if (Object.keys(d).length) out[k] = d;
    } else if (f.default !== undefined) out[k] = f.default;
  }
  return out as Defaults<T>;
}

/** The TypeScript type of a value the type `T` accepts (object fields optional). */
export type Infer<T> =
  T extends { type: 'string' } ? string
  : T extends { type: 'integer' | 'number' } ? number
  : T extends { type: 'enum'; values: readonly (infer V)[] } ? V
  : T extends { type: 'list'; of: infer O } ? Infer<O>[]
  : T extends { type: 'either'; options: readonly (infer O)[] } ? Infer<O>
  : T extends { type: 'object'; fields: infer F } ? { [K in keyof F]?: Infer<F[K]> }
  : never;

// ExperimentConfig (experiment.ts, with its documentation) is checked against the
// declaration above by the compiler: every config the declaration accepts is an
// ExperimentConfig, and both have the same fields at every level, so a field
// added to one and not the other fails `tsc`.
type ObjectPart<T> = T extends readonly unknown[] ? never : T extends object ? T : never;
type SameKeys<A, B> = [keyof A] extends [keyof B]
  ? [keyof B] extends [keyof A]
    ? { [K in keyof A & keyof B]-?: [ObjectPart<NonNullable<A[K]>>] extends [never] ? true : SameKeys<ObjectPart<NonNullable<A[K]>>, ObjectPart<NonNullable<B[K]>>> }[keyof A & keyof B] extends true
      ? true : false
    : false
  : false;
// (sweep's fields are computed from the others: its type is stated, not inferred)
type SchemaConfig = Infer<typeof SWEPT_CONFIG> & { sweep?: Record<string, unknown[]> };
export const schemaMatchesType: SameKeys<Infer<typeof SWEPT_CONFIG>, Omit<ExperimentConfig, 'sweep'>> = true;
export const schemaConfigIsExperimentConfig = (c: SchemaConfig): ExperimentConfig => c;

/** What a type expects, in words: `a non-empty list of strings`, `an integer >= 1`. */
export function describeType(t: ValueType): string {
  switch (t.type) {
    case 'string': return 'a string';
    case 'integer': return t.max === undefined ? `an integer >= ${t.min}` : `an integer in [${t.min}, ${t.max}]`;
    case 'number': return 'a finite number';
    case 'enum': return `one of ${t.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'list': {
      const of = describeType(t.of);
      // "a list of strings", "a non-empty list whose items are each an integer >= 0"
      return `${t.nonEmpty ? 'a non-empty' : 'a'} list ${/^an? \w+$/.test(of) ? `of ${of.replace(/^an? /, '')}s` : `whose items are each ${of}`}`;
    }
    case 'either': return t.options.map(describeType).join(' or ');
    case 'object': return `an object with ${Object.keys(t.fields).join(', ')}`;
  }
}

/** A value as the error shows it: its JSON (shortened) and its JSON type. */
function shown(v: unknown): string {
  const kind = v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
  const json = JSON.stringify(v) ?? String(v);
  return `${json.length > 40 ? `${json.slice(0, 37)}...` : json} (${kind})`;
}

/** Errors found in `v` against `t`, each `path: expected ..., got ...`. */
function check(t: ValueType, v: unknown, path: string): string | null {
  const bad = () => `${path}: expected ${describeType(t)}, got ${shown(v)}`;
  switch (t.type) {
    case 'string':
      return typeof v === 'string' && v !== '' ? null : bad();
    case 'integer':
      return typeof v === 'number' && Number.isSafeInteger(v) && v >= t.min && (t.max === undefined || v <= t.max) ? null : bad();
    case 'number':
      return typeof v === 'number' && Number.isFinite(v) && (t.min === undefined || v >= t.min) && (t.max === undefined || v <= t.max) ? null : bad();
    case 'enum':
      return typeof v === 'string' && t.values.includes(v) ? null : bad();
    case 'list': {
      if (!Array.isArray(v) || (t.nonEmpty && v.length === 0)) return bad();
      for (const [i, x] of v.entries()) {
        const e = check(t.of, x, `${path}[${i}]`);
        if (e) return e;
        if (t.unique && v.indexOf(x) < i) return `${path}[${i}]: ${JSON.stringify(x)} is given twice (also ${path}[${v.indexOf(x)}]); give each once`;
      }
      return null;
    }
    case 'either': {
      const errors = t.options.map((o) => check(o, v, path));
      if (errors.includes(null)) return null;
      // an error inside the value (llm[1]) says more than "expected this or that"
      return errors.find((e) => e !== null && !e.startsWith(`${path}: `)) ?? bad();
    }
    case 'object': {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad();
      for (const [k, x] of Object.entries(v)) {
        // own keys only: "__proto__", "constructor" or "toString" are unknown
        // fields like any other, not Object.prototype's members
        const field = Object.hasOwn(t.fields, k) ? t.fields[k] : undefined;
        const at = path ? `${path}.${k}` : k;
        if (!field) return `unknown field "${at}" (expected one of ${Object.keys(t.fields).join(', ')})`;
        const e = check(field, x, at);
        if (e) return e;
      }
      return null;
    }
  }
}

/** `value` checked against the experiment config schema; errors are prefixed with `where` (the file).
 * A top-level `"$schema"` (the editor's pointer to config.schema.json) is allowed and dropped. */
export function parseExperimentConfig(value: unknown, where: string): ExperimentConfig {
  checkNesting(where, value); // before anything walks or prints it: a value 100,000 arrays deep overflowed the stack
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new IalpError(`${where}: expected a JSON object, got ${shown(value)}`);
  let rest = value;
  if (Object.hasOwn(value, '$schema')) {
    const { $schema, ...others } = value as Record<string, unknown>;
    if (typeof $schema !== 'string') throw new IalpError(`${where}: $schema: expected a string (the path or URL of config.schema.json), got ${shown($schema)}`);
    rest = others;
  }
  const e = check(EXPERIMENT_CONFIG, rest, '');
  if (e) throw new IalpError(`${where}: ${e}`);
  return rest as ExperimentConfig;
}

/** `t` as JSON Schema (draft-07), for editors and other tools; the checks above stay the reference. */
export function toJsonSchema(t: ValueType): Record<string, unknown> {
  switch (t.type) {
    case 'string': return { type: 'string', minLength: 1, ...withDefault(t) };
    case 'integer': return { type: 'integer', minimum: t.min, ...(t.max === undefined ? {} : { maximum: t.max }), ...withDefault(t) };
    case 'number': return { type: 'number', ...(t.min === undefined ? {} : { minimum: t.min }), ...(t.max === undefined ? {} : { maximum: t.max }), ...withDefault(t) };
    case 'enum': return { type: 'string', enum: [...t.values], ...withDefault(t) };
    case 'list': return { type: 'array', items: toJsonSchema(t.of), ...(t.nonEmpty ? { minItems: 1 } : {}), ...(t.unique ? { uniqueItems: true } : {}), ...withDefault(t) };
    case 'either': return { anyOf: t.options.map(toJsonSchema), ...withDefault(t) };
    case 'object': return { type: 'object', properties: Object.fromEntries(Object.entries(t.fields).map(([k, f]) => [k, toJsonSchema(f)])), additionalProperties: false };
  }
}

const withDefault = (t: { default?: Default }) => (t.default === undefined ? {} : { default: t.default });

/** The JSON Schema of the experiment config, as `packages/ts-api/config.schema.json` holds it
 * (`npm run gen:schema` writes it; a test fails while the file is stale), each field's
 * `default` the declaration's. */
export function experimentConfigJsonSchema(): Record<string, unknown> {
  const root = toJsonSchema(EXPERIMENT_CONFIG) as { properties: Record<string, unknown> };
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'ialp experiment config (ialp run --config FILE)',
    description: 'Generated from packages/ts-api/src/config-schema.ts; ialp itself checks every value with the same declaration.',
    ...root,
    properties: { $schema: { type: 'string', description: 'the path or URL of this schema, for editors' }, ...root.properties },
  };
}
