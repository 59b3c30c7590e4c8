import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBadInput } from '../../src/core/errors.js';
import { ingestNodes } from '../../src/jobs/ingest.js';
import { compareGroups } from '../../src/query/compare.js';
import { countRuns, findRuns } from '../../src/query/find-runs.js';
import type { RunStore } from '../../src/db/store.js';
import { tempStore } from '../helpers/db.js';
import { makeRun } from '../helpers/runs.js';

/**
 * Random and hostile filters, text and Mongo, through parse → compile → SQLite: every outcome is rows
 * or a bad-input error (exit 2 / HTTP 400), never another error, never a hang. 10,000 cases in all.
 */
let store: RunStore;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ store, cleanup } = await tempStore());
  await ingestNodes(store, [
    makeRun({ name: 'a', tags: ['baseline', 'ü'], objectives: { DRD5_activity: ['maximize', 0.7] }, loss: 'NaN' }),
    makeRun({ name: 'b', gradient_method: 'pcgrad', batch_size: '64', objectives: { 'pIC50.DRD1': ['maximize', 6] } }),
    makeRun({ name: 'c', batch_size: 1e300, learning_rate: 'fast', tags: ['x'], kl: -1 }),
  ]);
});
afterAll(async () => cleanup());

/** Runs a query and returns how it ended; throws (failing the property) on anything but bad input. */
const tally = { ok: 0, bad: 0 };
async function outcome(run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
    tally.ok++;
  } catch (error) {
    tally.bad++;
    if (!isBadInput(error)) {
      throw new Error(
        `not a bad-input error: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
        {
          cause: error,
        },
      );
    }
  }
}

const HOSTILE_WORDS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'kind',
  'op',
  '$where',
  'é',
  '日本',
  '😀',
  '\u0000',
  "'",
  '"',
  '\\',
  ';--',
  ' OR 1=1',
];
const word = fc.oneof(
  fc.constantFrom(...HOSTILE_WORDS),
  fc.constantFrom('batch_size', 'status', 'run_name', 'tags', 'host', 'created_at', 'gradient_method', 'run_key'),
  fc.string({ maxLength: 8 }),
  fc.string({ unit: 'grapheme', maxLength: 6 }),
);

/** A field as typed: a column, a config/summary path, an objective with a statistic; quoted when needed. */
const segment = word.map((w) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(w) ? w : `"${w.replace(/["\\]/g, '\\$&')}"`));
/** Fields these runs have, so most conditions reach the compiler and SQLite. */
const KNOWN_FIELDS = [
  'batch_size',
  'status',
  'run_name',
  'tags',
  'created_at',
  'learning_rate',
  'config.training.batch_size',
  'config.training.learning_rate',
  'config.gradient_method',
  'config.reward.beta',
  'config.training.optimizer.name',
  'summary."train/loss"',
  'summary."train/kl"',
  'objective.DRD5_activity',
  'objective."pIC50.DRD1"',
  'objective.DRD5_activity.normalized_mean',
  'objective.DRD5_activity.pass_rate',
];
const fieldText = fc.oneof(
  { arbitrary: fc.constantFrom(...KNOWN_FIELDS), weight: 8 },
  segment,
  fc
    .tuple(
      fc.constantFrom('config', 'summary', 'system', 'summary_metrics'),
      fc.array(segment, { minLength: 1, maxLength: 3 }),
    )
    .map(([scope, path]) => `${scope}.${path.join('.')}`),
  fc
    .tuple(fc.constantFrom('DRD5_activity', '"pIC50.DRD1"', 'QED'), fc.option(segment))
    .map(([name, stat]) => `objective.${name}${stat === null ? '' : `.${stat}`}`),
  fc.constantFrom('config.training.batch_size', 'summary."train/loss"', 'config.__proto__.x', 'constructor.x'),
);
const number = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.constantFrom(0, -0, 1e308, -1e308, 9007199254740993, 5e-324),
);
const valueText = fc.oneof(
  number.map((n) => (Object.is(n, -0) ? '-0' : String(n))),
  fc.string({ maxLength: 10 }).map((s) => `'${s.replace(/'/g, "''")}'`),
  fc.constantFrom('true', 'false', 'null', "''", "'1e-4'", "'NaN'", '1e999', '999999999999999999999999'),
);
const regexText = fc.oneof(
  fc.constantFrom(
    '(a+)+$',
    '(a)\\1',
    '(?=a)',
    '[',
    '(?i)^A',
    '^$',
    '.*'.repeat(20),
    'a{1001}',
    '\\pL+',
    '('.repeat(300),
  ),
  fc.string({ maxLength: 12 }),
);
const leafText = fc.oneof(
  fc.tuple(fieldText, fc.constantFrom('=', '!=', '<', '<=', '>', '>=', '==', '<>'), valueText).map((p) => p.join(' ')),
  fc
    .tuple(fieldText, fc.boolean(), fc.array(valueText, { minLength: 1, maxLength: 80 }))
    .map(([f, not, vs]) => `${f} ${not ? 'not ' : ''}in (${vs.join(', ')})`),
  fc
    .tuple(fieldText, fc.boolean(), fc.string({ maxLength: 8 }))
    .map(([f, not, p]) => `${f} ${not ? 'not ' : ''}like '${p.replace(/'/g, "''")}'`),
  fc.tuple(fieldText, regexText).map(([f, p]) => `${f} ~ '${p.replace(/'/g, "''")}'`),
  fc.tuple(fieldText, fc.boolean()).map(([f, not]) => `${f} is ${not ? 'not ' : ''}null`),
);
const filterText: fc.Arbitrary<string> = fc.letrec<{ expr: string }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leafText,
    tie('expr').map((e) => `not ${e}`),
    tie('expr').map((e) => `(${e})`),
    fc
      .tuple(fc.array(tie('expr'), { minLength: 2, maxLength: 4 }), fc.constantFrom(' and ', ' or ', ' AND '))
      .map(([items, op]) => items.join(op)),
  ),
})).expr;

/** Mongo objects built with Object.fromEntries, so `__proto__` is an own key, as JSON.parse makes it. */
const mongoKey = fc.oneof(
  fc.constantFrom('$and', '$or', '$nor', '$not', '$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin'),
  fc.constantFrom(
    '$exists',
    '$regex',
    '$where',
    'state',
    'tags',
    'config.training.batch_size',
    'summary_metrics.train/loss',
  ),
  fc.constantFrom('config.lr.value', 'objective.DRD5_activity', 'objective."pIC50.DRD1".raw_mean', 'displayName'),
  fieldText,
  word,
);
const mongoScalar = fc.oneof(
  number,
  fc.string({ maxLength: 10 }),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('(a+)+$', '(a)\\1', '[', Number.MAX_SAFE_INTEGER * 4),
);
const mongo: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    mongoScalar,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.array(mongoScalar, { minLength: 30, maxLength: 200 }),
    fc.array(fc.tuple(mongoKey, tie('value')), { maxLength: 4 }).map((entries) => Object.fromEntries(entries)),
  ),
})).value;
const mongoFilter = fc.array(fc.tuple(mongoKey, mongo), { maxLength: 4 }).map((entries) => Object.fromEntries(entries));

const columns = fc.option(fc.array(fieldText, { maxLength: 4 }), { nil: undefined });

describe('fuzzed filters end in rows or a bad-input error', () => {
  it('filter text built from the grammar (4,000 cases)', { timeout: 60_000 }, async () => {
    const before = { ...tally };
    await fc.assert(
      fc.asyncProperty(filterText, columns, async (where, cols) => {
        await outcome(() => findRuns(store, { where, ...(cols ? { columns: cols, order: cols } : {}), limit: 5 }));
      }),
      { numRuns: 4000 },
    );
    // The grammar must reach the compiler and SQLite, not only the parser's error paths.
    expect(tally.ok - before.ok).toBeGreaterThan(400);
    expect(tally.bad - before.bad).toBeGreaterThan(400);
  });

  it('random text (2,000 cases)', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 40 })),
        async (where) => {
          await outcome(() => countRuns(store, { where }));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('Mongo objects with hostile keys and values (3,000 cases)', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(mongoFilter, async (where) => {
        await outcome(() => findRuns(store, { where, limit: 5 }));
      }),
      { numRuns: 3000 },
    );
    console.log(`fuzz outcomes so far: ${tally.ok} answered, ${tally.bad} bad input`);
  });

  it('anything as a filter, and random fields to compare (1,000 cases)', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.anything(), fc.jsonValue()), fieldText, fieldText, async (where, by, metric) => {
        await outcome(() => findRuns(store, { where: where as string, limit: 5 }));
        await outcome(() => compareGroups(store, { by, metric }));
      }),
      { numRuns: 1000 },
    );
  });

  it('finds known runs through a fuzzed-looking but valid filter', async () => {
    // A guard that the properties above run real queries: a valid filter returns rows.
    expect(await countRuns(store, { where: "tags in ('ü', 'x') or run_name ~ '(a+)+$'" })).toBe(2);
  });
});
