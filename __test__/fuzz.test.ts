// Property-based fuzzing of the TypeScript inputs and, through both builds, of
// the artefact parser (fast-check; a few hundred cases each, seeded, so the
// normal test run stays brief and a failure replays). The properties: any input
// is either accepted or refused with an error naming the input, never a crash,
// a hang, an allocation the size of a forged header, or an exception of
// another kind. FUZZ_RUNS raises the number of cases for a longer session.
import test from 'ava';
import fc from 'fast-check';
import { loadBackend, Policy, train } from '../packages/ts-api/src/index.js';
import { EXPERIMENT_CONFIG, parseExperimentConfig, type ValueType } from '../packages/ts-api/src/config-schema.js';
import { IalpError } from '../packages/ts-api/src/options.js';
import { parseRecommendRequest } from '../examples/serve/server.mjs';
import { forge } from './forge.js';
import { backends } from './helpers.js';

const runs = Number(process.env.FUZZ_RUNS ?? 150);
const params = { numRuns: runs, seed: 18 };
let good: Uint8Array;

test.before(async () => {
  good = (await train({ env: { name: 'synthetic', synthetic: { nUsers: 40, nItems: 12 } }, episodes: 10, seed: 1, backend: 'native' })).policy.toBytes();
});

/** Sizes a hostile header would use: small, at the limits, past 2^31, 2^32, 2^53. */
/** Names Object.prototype has: a lookup by such a key must not find its member. */
const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];

const size = fc.oneof(
  fc.nat({ max: 64 }),
  fc.constantFrom(0, 4096, 4097, 16384, 16385, 2 ** 27, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 40, 2 ** 53),
  fc.double({ noNaN: false }),
);

for (const backend of backends) {
  test(`${backend}: forged header sizes are loaded or refused at once, never allocated`, async (t) => {
    const b = await loadBackend(backend);
    await fc.assert(
      fc.asyncProperty(fc.record({ hidden: size, depth: size, embedDim: size, nItems: size, history: size }), async (s) => {
        const bytes = forge(good, (h) => {
          Object.assign(h.meta.net, { hidden: s.hidden, depth: s.depth, embedDim: s.embedDim });
          Object.assign(h.meta, { nItems: s.nItems, history: s.history });
        });
        const t0 = performance.now();
        try {
          b.loadPolicy(bytes);
        } catch (e) {
          if (!(e instanceof Error) || !e.message.startsWith('policy file: ')) throw e;
        }
        if (performance.now() - t0 > 1000) throw new Error(`took ${performance.now() - t0} ms`);
      }),
      params,
    );
    t.is(b.loadPolicy(good).nItems, 12, 'the build still works after every refusal');
  });

  test(`${backend}: damaged artefact bytes are refused with an error naming the file kind`, async (t) => {
    const b = await loadBackend(backend);
    const damage = fc.oneof(
      fc.record({ at: fc.nat({ max: good.length - 1 }), byte: fc.integer({ min: 0, max: 255 }) }).map(({ at, byte }) => {
        const out = Uint8Array.from(good);
        out[at] = byte;
        return out;
      }),
      fc.nat({ max: good.length }).map((n) => good.subarray(0, n)),
      fc.uint8Array({ maxLength: 64 }),
    );
    await fc.assert(
      fc.property(damage, (bytes) => {
        try {
          b.loadPolicy(bytes);
        } catch (e) {
          if (!(e instanceof Error) || !e.message.startsWith('policy file: ')) throw e;
        }
      }),
      params,
    );
    t.pass();
  });

  test(`${backend}: any typed array handed to step is taken or refused, never wrapped`, async (t) => {
    const b = await loadBackend(backend);
    const env = b.createEnv({ name: 'synthetic', synthetic: { nItems: 20, nUsers: 50 }, batch: { batchSize: 3 } });
    const arrays = fc.oneof(
      fc.array(fc.double(), { maxLength: 5 }).map((a) => new Float64Array(a)),
      fc.array(fc.integer({ min: -5, max: 30 }), { maxLength: 5 }).map((a) => Int32Array.from(a)),
      fc.array(fc.nat({ max: 25 }), { maxLength: 5 }).map((a) => Uint32Array.from(a)),
      fc.array(fc.anything(), { maxLength: 4 }),
    );
    await fc.assert(
      fc.property(arrays, (actions) => {
        const rewards = new Float32Array(3);
        const dones = new Uint8Array(3);
        try {
          env.step(actions as Uint32Array, rewards, dones);
        } catch (e) {
          if (!(e instanceof Error)) throw e;
          return;
        }
        // accepted: only a Uint32Array of three item ids below 20
        if (!(actions instanceof Uint32Array) || actions.length !== 3 || actions.some((a) => a >= 20)) {
          throw new Error(`accepted ${String((actions as object).constructor?.name)} ${JSON.stringify(Array.from(actions as ArrayLike<number>))}`);
        }
      }),
      params,
    );
    t.pass();
  });

  test(`${backend}: recommend refuses any history it cannot mean`, async (t) => {
    const p = await Policy.fromBytes(good, backend);
    const entry = fc.record({ item: fc.oneof(fc.integer({ min: -3, max: 15 }), fc.double(), fc.constant(2 ** 32)), reward: fc.oneof(fc.double(), fc.constant(1e300)) });
    await fc.assert(
      // any value where the history, an entry or excludeSeen goes, not only well-shaped ones
      fc.property(fc.oneof(fc.array(fc.oneof(entry, entry, fc.anything()), { maxLength: 6 }), fc.anything()), fc.oneof(fc.integer({ min: -1, max: 14 }), fc.double()), fc.oneof(fc.boolean(), fc.anything()), (history, k, excludeSeen) => {
        try {
          const recs = p.recommend(history as { item: number; reward: number }[], { k, excludeSeen: excludeSeen as boolean });
          if (recs.length !== k || recs.some((r) => !Number.isFinite(r.score))) throw new Error(`bad answer for k ${k}`);
        } catch (e) {
          if (!(e instanceof IalpError)) throw e;
        }
      }),
      params,
    );
    t.pass();
  });
}

test('the experiment config: any JSON is accepted or refused naming the file, never a TypeError', (t) => {
  fc.assert(
    // keys include Object.prototype's names, as JSON.parse makes them: own keys
    fc.property(fc.oneof(fc.jsonValue(), fc.array(fc.tuple(fc.constantFrom('envs', 'seeds', 'llm', 'online', 'adaptive', 'pretrain', 'x', ...PROTOTYPE_KEYS), fc.jsonValue())).map((kv) => Object.fromEntries(kv))), (cfg) => {
      try {
        parseExperimentConfig(cfg, 'cfg.json');
      } catch (e) {
        if (!(e instanceof IalpError) || !e.message.startsWith('cfg.json: ')) throw e;
        return;
      }
      // accepted: every key, at every depth, is one the schema names
      const fields = (t: ValueType): Record<string, ValueType> => (t.type === 'object' ? t.fields : {});
      const known = (v: unknown, t: ValueType): boolean =>
        typeof v !== 'object' || v === null || Array.isArray(v) || t.type !== 'object'
        || Object.entries(v).every(([k, x]) => Object.hasOwn(fields(t), k) && known(x, fields(t)[k]!));
      if (!known(cfg, EXPERIMENT_CONFIG)) throw new Error(`accepted unknown keys: ${JSON.stringify(cfg)}`);
    }),
    { ...params, numRuns: runs * 4 },
  );
  t.pass();
});

test('the service: any /recommend body is parsed or a 400 naming the field', (t) => {
  fc.assert(
    fc.property(fc.oneof(fc.jsonValue(), fc.record({ history: fc.array(fc.record({ item: fc.jsonValue(), reward: fc.jsonValue() })), k: fc.jsonValue() })), (body) => {
      try {
        const r = parseRecommendRequest(Buffer.from(JSON.stringify(body) ?? 'null'), 12, 5);
        if (!(r.k >= 1 && r.k <= 12)) throw new Error(`k ${r.k} accepted`);
      } catch (e) {
        if ((e as { status?: number }).status !== 400) throw e;
      }
    }),
    { ...params, numRuns: runs * 4 },
  );
  t.pass();
});
