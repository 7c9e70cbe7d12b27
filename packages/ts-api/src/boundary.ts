// The checks every argument of the core's surface gets before it crosses
// (backend.ts applies them, for both builds): options objects walked for
// nesting, typed arrays named, so that a wrong argument is the same error
// naming it on native and wasm.

import type { RewardExamplesInput } from './backend.js';
import { checkTypedArray, IalpError } from './options.js';

/** Deepest nesting of a spec, config or options object handed to the core. */
export const MAX_NESTING = 32;
/** Most values (numbers, strings, objects) in one such object. */
export const MAX_VALUES = 1_000_000;

/**
 * `v` unless it nests deeper than MAX_NESTING (a cycle nests without end) or
 * holds more than MAX_VALUES values as the core would read it (an object
 * shared at every level doubles per level): a value 100,000 arrays deep
 * overflowed the wasm build's stack, and the trap left the module answering
 * "memory access out of bounds" to every later call; napi refused it without
 * naming the argument. Walked without recursion.
 */
export function checkNesting<T>(what: string, v: T): T {
  const stack: [unknown, number, string][] = [[v, 0, what]];
  let values = 0;
  while (stack.length) {
    const [x, depth, at] = stack.pop()!;
    if (++values > MAX_VALUES) throw new IalpError(`${what}: more than ${MAX_VALUES} values (expected a plain options object)`);
    if (typeof x !== 'object' || x === null || ArrayBuffer.isView(x)) continue;
    if (depth >= MAX_NESTING) throw new IalpError(`${at}: nested more than ${MAX_NESTING} deep, or it refers to itself (expected a plain options object)`);
    for (const [k, y] of Object.entries(x)) stack.push([y, depth + 1, Array.isArray(x) ? `${at}[${k}]` : `${at}.${k}`]);
  }
  return v;
}

/** `v` unless it is given and not a Uint8Array (a Buffer is one). */
export function optionalBytes<T>(what: string, v: T): T {
  if (v !== undefined && v !== null) checkTypedArray(what, v, Uint8Array);
  return v;
}

/** The reward-model examples, each array of its own kind. */
export function checkExamples(e: RewardExamplesInput): RewardExamplesInput {
  if (typeof e !== 'object' || e === null) throw new IalpError(`examples: expected an object of typed arrays, got ${e === null ? 'null' : typeof e}`);
  checkTypedArray('examples.histItems', e.histItems, Uint32Array);
  checkTypedArray('examples.histRewards', e.histRewards, Float32Array);
  checkTypedArray('examples.items', e.items, Uint32Array);
  checkTypedArray('examples.labels', e.labels, Float32Array);
  return e;
}

type Kind = (abstract new (...args: never[]) => unknown) | 'number' | 'boolean';

/** `v` if it is of `kind` (a typed-array class, or a JS number or boolean); else an error naming `what`. */
function checkArg(what: string, v: unknown, kind: Kind): void {
  if (typeof kind !== 'string') return void checkTypedArray(what, v, kind);
  if (typeof v !== kind) {
    const got = v === null ? 'null' : typeof v === 'object' ? (v.constructor?.name ?? 'an object') : typeof v;
    throw new IalpError(`${what}: expected a ${kind}, got ${got}`);
  }
}

/**
 * `obj` with each named method checking its leading arguments first (typed
 * arrays, numbers, booleans; own properties shadowing the class's methods),
 * so that the objects the surface returns (a World, an Env, a Policy, a
 * RewardModel) name a wrong argument on either build as the surface itself
 * does (napi's own conversion error names none: "Failed to convert napi value
 * String into rust type `f64`"; wasm's read a string as NaN).
 */
export function namedArgs<T extends object>(obj: T, methods: Record<string, [string, Kind][]>): T {
  const o = obj as Record<string, unknown>;
  for (const [name, args] of Object.entries(methods)) {
    const f = o[name] as ((...a: unknown[]) => unknown) | undefined;
    if (typeof f !== 'function') continue;
    Object.defineProperty(obj, name, {
      configurable: true,
      value: (...a: unknown[]) => {
        args.forEach(([what, kind], i) => checkArg(what, a[i], kind));
        return f.apply(obj, a);
      },
    });
  }
  return obj;
}

export const ENV_ARGS: Record<string, [string, Kind][]> = {
  step: [['actions', Uint32Array], ['rewards', Float32Array], ['dones', Uint8Array]],
  observe: [['items', Uint32Array], ['rewards', Float32Array]],
  setUserPool: [['users', Uint32Array]],
};
export const POLICY_ARGS: Record<string, [string, Kind][]> = {
  recommend: [['items', Uint32Array], ['rewards', Float32Array], ['k', 'number'], ['excludeSeen', 'boolean']],
};
export const WORLD_ARGS: Record<string, [string, Kind][]> = {
  itemText: [['item', 'number']],
  latestHistory: [['user', 'number'], ['history', 'number']],
  inspect: [['validate', 'boolean']],
};
export const REWARD_MODEL_ARGS: Record<string, [string, Kind][]> = { score: [['histItems', Uint32Array], ['histRewards', Float32Array], ['items', Uint32Array]] };
