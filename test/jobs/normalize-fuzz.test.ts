import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { normalizeRun } from '../../src/core/normalize/run.js';
import { TraindbError } from '../../src/core/errors.js';
import type { RunStore } from '../../src/db/store.js';
import { findRuns } from '../../src/query/find-runs.js';
import { tempStore } from '../helpers/db.js';

/**
 * Issue 12: random and hostile W&B run nodes through normalize → a real SQLite file. Every run either is
 * written or fails alone with INVALID_RUN and a reason; nothing else throws, Object.prototype is never
 * touched, and every stored document stays readable by SQLite's JSON functions.
 */
let store: RunStore;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ store, cleanup } = await tempStore()));
afterAll(async () => cleanup());

const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();

const key = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '__proto__',
      'constructor',
      'prototype',
      'toString',
      'value',
      'desc',
      '_type',
      'name',
      'objectives',
      'run_id',
      'training',
      'batch_size',
      '_runtime',
      'system.cpu',
    ),
  },
  { weight: 3, arbitrary: fc.string({ maxLength: 6 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 4 }) },
  {
    weight: 2,
    arbitrary: fc
      .array(fc.constantFrom('a', '__proto__', 'constructor', '', 'x'), { maxLength: 4 })
      .map((p) => p.join('.')),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('objectives/QED_maximize/raw_mean', 'scaffolds/s1/pareto_rank', 'train/loss'),
  },
);

/** JSON text for a value: the forms W&B and hand-made files send (bare NaN, big integers, unicode). */
const scalarText = fc.oneof(
  fc.integer().map(String),
  fc.double().map((d) => (Number.isFinite(d) ? JSON.stringify(d) : String(d))),
  fc.constantFrom(
    'NaN',
    '-Infinity',
    'Infinity',
    '"NaN"',
    '"Infinity"',
    '9007199254740993',
    '-18446744073709551617',
    '1e400',
    '0.12345678901234567',
    'true',
    'null',
    '"1e-4"',
  ),
  fc.string({ unit: 'grapheme', maxLength: 8 }).map((s) => JSON.stringify(s)),
  fc.string({ unit: 'binary', maxLength: 4 }).map((s) => JSON.stringify(s)),
);
const docText: fc.Arbitrary<string> = fc.letrec<{ v: string }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalarText,
    fc
      .array(fc.tuple(key, tie('v')), { maxLength: 5 })
      .map((es) => `{${es.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
    fc.array(tie('v'), { maxLength: 4 }).map((xs) => `[${xs.join(',')}]`),
  ),
})).v;
/** Deep documents around the 500-level limit, written as nested objects or dotted keys. */
const deepText = fc
  .tuple(fc.integer({ min: 490, max: 520 }), fc.boolean())
  .map(([depth, dotted]) =>
    dotted
      ? `{${JSON.stringify(Array.from({ length: depth }, () => 'k').join('.'))}: 1}`
      : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
  );
const objectText = fc
  .array(fc.tuple(key, docText), { maxLength: 6 })
  .map((es) => `{${es.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`);

/** A document field: W&B's JSON string, an inline object (decoded from the text), or something wrong. */
const document = fc.oneof(
  { weight: 5, arbitrary: objectText },
  { weight: 2, arbitrary: objectText.map((t) => decode(t)) },
  { weight: 1, arbitrary: deepText },
  {
    weight: 1,
    arbitrary: fc.oneof(docText, fc.string({ maxLength: 6 }), fc.integer(), fc.constant(null), fc.constant([1, 2])),
  },
);

/** Decodes generated JSON text as a file reader would (bare NaN/Infinity as numbers, big integers as bigint). */
function decode(text: string): unknown {
  try {
    return JSON.parse(
      text.replace(/-?Infinity|NaN|-?\d{16,}(?![.\deE])/g, (m) => JSON.stringify(`\u0000${m}`)),
      (_k, v: unknown) => {
        if (typeof v !== 'string' || !v.startsWith('\u0000')) return v;
        const t = v.slice(1);
        return /\d$/.test(t) ? BigInt(t) : Number(t);
      },
    );
  } catch {
    return text;
  }
}

const anything = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant({}),
  fc.constant(['x']),
);
/** Mostly a valid value, sometimes one of the wrong type (which fails the run). */
const mostly = <T>(valid: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 30, arbitrary: valid }, { weight: 1, arbitrary: anything });
const text = mostly(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 8 }), fc.constant(null)));
const timestamp = fc.oneof(
  fc.constantFrom(
    '2026-03-01T12:00:00',
    '2026-03-01T12:00:00Z',
    '2026-03-01 12:00:00+02:00',
    'yesterday',
    '',
    '275760-09-13T00:00:01',
  ),
  fc.oneof(fc.integer(), fc.double(), fc.constant(1e300), fc.constant(-8.64e15 - 1)),
  anything,
);
const good = <T>(valid: fc.Arbitrary<T>, wrong: fc.Arbitrary<unknown>) =>
  fc.oneof({ weight: 20, arbitrary: valid }, { weight: 1, arbitrary: wrong });

const runNode = fc.record(
  {
    name: good(fc.oneof(fc.stringMatching(/^[a-z0-9]{1,8}$/), fc.string({ unit: 'grapheme', maxLength: 6 })), anything),
    project: good(
      fc.constant({ name: 'p', entityName: 'e' }),
      fc.oneof(fc.record({ name: anything, entityName: anything }, { requiredKeys: [] }), anything),
    ),
    state: mostly(
      fc.constantFrom('running', 'finished', 'crashed', 'constructor', '__proto__', 'toString', 'PREEMPTING', 'NaN'),
    ),
    config: document,
    summaryMetrics: document,
    systemMetrics: document,
    tags: fc.oneof(fc.array(fc.oneof(fc.string({ maxLength: 5 }), anything), { maxLength: 4 }), anything),
    createdAt: timestamp,
    updatedAt: timestamp,
    heartbeatAt: timestamp,
    computeSeconds: fc.oneof(fc.double(), anything),
    displayName: text,
    notes: text,
    group: text,
    jobType: text,
    sweepName: text,
    user: mostly(fc.record({ username: text, name: text }, { requiredKeys: [] })),
  },
  { requiredKeys: ['name', 'project'] },
);

describe('hostile run nodes through normalize and a real SQLite file', () => {
  it('each run is written or fails alone with INVALID_RUN and a reason', async () => {
    let written = 0;
    let failed = 0;
    await fc.assert(
      fc.asyncProperty(runNode, async (node) => {
        let normalized: ReturnType<typeof normalizeRun> | null = null;
        try {
          normalized = normalizeRun(node as Parameters<typeof normalizeRun>[0]);
        } catch (error) {
          expect(error).toBeInstanceOf(TraindbError);
          expect((error as TraindbError).code).toBe('INVALID_RUN');
          expect((error as Error).message).toMatch(/^run .+: \S/);
          failed++;
        }
        if (normalized) {
          // A written run is never an exception: whatever it holds reaches SQL as text or a number.
          await store.upsertRun(normalized);
          written++;
        }
        expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
        expect(Object.getPrototypeOf({})).toBe(Object.prototype);
      }),
      { numRuns: 3000 },
    );
    // Both outcomes were exercised, and the database stays readable everywhere.
    expect(written).toBeGreaterThan(500);
    expect(failed).toBeGreaterThan(100);
    const [invalid] = await store.all(
      `SELECT count(*) AS n FROM training_runs WHERE NOT (json_valid(config_json) AND json_valid(final_metrics_json)
         AND json_valid(system_metrics_json) AND json_valid(tags_json))`,
    );
    expect(invalid).toEqual({ n: 0 });
    const rows = await findRuns(store, {
      columns: ['run_id', 'config.a', 'summary.a'],
      order: ['config.a'],
      limit: 5000,
    });
    expect(rows.length).toBeGreaterThan(0);
  }, 120_000);
});
