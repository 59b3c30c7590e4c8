import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TraindbError } from '../../src/core/errors.js';
import { isBadInput } from '../../src/core/errors.js';
import { ingestNodes } from '../../src/jobs/ingest.js';
import { compareGroups } from '../../src/query/compare.js';
import { compileFilter } from '../../src/query/compile-filter.js';
import { InternalFilter } from '../../src/query/filter/internal.js';
import { mongoToFilter } from '../../src/query/filter/mongo.js';
import type { FilterExpr } from '../../src/query/filter/ast.js';
import { countRuns, findRuns } from '../../src/query/find-runs.js';
import { queryRuns } from '../../src/query/seed-api.js';
import type { RunStore } from '../../src/db/store.js';
import { tempStore } from '../helpers/db.js';

let store: RunStore;
let cleanup: () => Promise<void>;
const EVIL = `${'a'.repeat(60)}b`;
const TAGS = Array.from({ length: 520 }, (_, i) => `t${i}`);

beforeAll(async () => {
  ({ store, cleanup } = await tempStore());
  const node = (name: string, extra: Record<string, unknown>, summary: Record<string, unknown>, tags: string[]) => ({
    id: `storage-${name}`,
    name,
    displayName: name,
    state: 'finished',
    tags,
    createdAt: '2026-03-01T12:00:00',
    updatedAt: '2026-03-01T13:00:00',
    project: { name: 'hostile', entityName: 'lab' },
    config: JSON.stringify(Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, { value: v }]))),
    summaryMetrics: JSON.stringify(summary),
  });
  await ingestNodes(store, [
    node('r1', { method: 'mgda', n: 1 }, { loss: 1 }, ['t7', 'x']),
    node('r2', { method: 'mgda', n: 2 }, { loss: 3 }, ['t519']),
    // JSON text as Python writes it: NaN and -Infinity spelled as strings by W&B's summary export.
    node('r3', { method: 'mgda', n: 3 }, { loss: 'NaN' }, []),
    node('r4', { method: 'pcgrad', n: 4 }, { loss: '-Infinity' }, []),
    node('r5', { method: 'pcgrad', n: 5 }, { loss: 2 }, []),
    node('r6', { method: 'pcgrad', n: 6 }, { loss: 'diverged' }, []),
    node(EVIL, { method: 'evil', n: 7 }, { loss: 4 }, []),
  ]);
});
afterAll(async () => cleanup());

const names = async (where: unknown, extra: object = {}) =>
  (await findRuns(store, { where: where as string, columns: ['run_name'], limit: 1000, ...extra }))
    .map((r) => String(r['run_name']))
    .sort();

/** The error a call throws; fails the test if it returns. */
async function failure(promise: Promise<unknown>): Promise<TraindbError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected an error').toBeInstanceOf(Error);
  expect(isBadInput(error), `not bad input: ${String(error)}`).toBe(true);
  return error as TraindbError;
}

describe('a filter tree cannot come from outside (SQL injection)', () => {
  const attack = {
    kind: 'compare',
    field: { scope: 'column', name: 'status' },
    op: '= status OR 1 = 1 OR status =',
    value: 'x',
  };

  it("reads the issue's tree-shaped object as a Mongo filter, and rejects it, in findRuns/countRuns/compareGroups", async () => {
    await failure(findRuns(store, { where: attack as unknown as Record<string, unknown> }));
    await failure(countRuns(store, { where: attack as unknown as Record<string, unknown> }));
    await failure(
      compareGroups(store, { by: 'status', metric: 'summary.loss', where: attack as Record<string, unknown> }),
    );
  });

  it('compiles only known operators, even for a tree built inside traindb', async () => {
    const tree = { ...attack, position: 0 } as unknown as FilterExpr;
    expect(() => compileFilter(tree, { keyIds: new Map() }, '')).toThrow(/unknown operator/);
    const forged = Object.create(InternalFilter.prototype) as InternalFilter;
    Object.assign(forged, { expr: tree });
    expect(InternalFilter.is(forged)).toBe(false);
    await failure(findRuns(store, { where: forged }));
  });

  it('still serves the seed functions, which build their trees inside traindb', async () => {
    const rows = await queryRuns(store, { status: 'completed' });
    expect(rows).toHaveLength(7);
  });
});

describe('regular expressions run in linear time (RE2)', () => {
  it("answers (a+)+$ against a 61-character 'aaa…b' value", async () => {
    expect(await names("run_name ~ '(a+)+$'")).toEqual([]);
    expect(await names({ run_name: { $regex: '(a+)+$' } })).toEqual([]);
    expect(await names("run_name ~ '(a+)+b$'")).toEqual([EVIL]);
  });

  it('rejects what RE2 cannot run, saying what and pointing at the pattern', async () => {
    const backref = await failure(names("run_name ~ '(a)\\1'"));
    expect(backref.message).toMatch(/backreferences .* not supported/);
    expect(backref.message).toContain(`\n  run_name ~ '(a)\\1'\n             ^`);
    expect((await failure(names("run_name ~ '(?=a)'"))).message).toMatch(/lookahead and lookbehind/);
    expect((await failure(names("run_name ~ '['"))).message).toMatch(/missing closing \]/);
    expect((await failure(names({ run_name: { $regex: '(?<!a)b' } }))).message).toMatch(/lookbehind/);
  });
});

describe('bad input is INVALID_* (exit 2 / HTTP 400), never a crash', () => {
  it.each(['toString', 'valueOf', 'constructor', '__proto__', 'hasOwnProperty'])('a column named %s', async (name) => {
    expect((await failure(names(`${name} = 1`))).message).toMatch(`unknown column '${name}'`);
    await failure(names({ [name]: 1 }));
    await failure(findRuns(store, { columns: [name] }));
    await failure(findRuns(store, { order: [`-${name}`] }));
    await failure(compareGroups(store, { by: name, metric: 'summary.loss' }));
  });

  it('a dotted field starting with constructor or __proto__', async () => {
    await failure(names('constructor.x = 1'));
    await failure(names({ 'constructor.x': 1 }));
    await failure(names({ '__proto__.x': 1 }));
    await failure(findRuns(store, { columns: ['constructor.x'] }));
  });

  it('a column list entry that is not one field shows only what was typed', async () => {
    const error = await failure(findRuns(store, { columns: ['run_id is null or status'] }));
    expect(error.message).not.toContain('status is null');
    expect(error.message).toContain('run_id is null or status');
    expect(error.message).toMatch(/expected one field name but found 'is'/);
  });

  it.each([null, 5, [], 'x', true])('a Mongo filter that is not an object: %j', (value) => {
    expect(() => mongoToFilter(value)).toThrow(/must be an object/);
  });

  it.each([null, 5, [], true])('findRuns with a non-object filter: %j', async (value) => {
    await failure(findRuns(store, { where: value as unknown as string }));
  });

  it('600 OR terms on columns and attributes', async () => {
    const columns = Array.from({ length: 600 }, (_, i) => `run_name = 'r${i}'`).join(' or ');
    expect(await names(columns)).toEqual(['r1', 'r2', 'r3', 'r4', 'r5', 'r6']);
    const attributes = Array.from({ length: 600 }, (_, i) => `config.n = ${i}`).join(' or ');
    expect(await names(attributes)).toHaveLength(7);
    const mixed = Array.from({ length: 600 }, (_, i) => (i % 2 ? `config.n = ${i}` : `run_name = 'r${i}'`));
    expect(await names(mixed.join(' or '))).toHaveLength(7);
    expect(await names(Array.from({ length: 600 }, () => 'config.n >= 1').join(' and '))).toHaveLength(7);
  });

  it('more than 1,000 conditions: a clear limit that points to an in list', async () => {
    const many = Array.from({ length: 1001 }, (_, i) => `run_name = 'r${i}'`).join(' or ');
    expect((await failure(names(many))).message).toMatch(
      /more than 1000 conditions; combine values into one 'in' list/,
    );
  });

  it('520 tag terms (more than SQLite allows in one compound SELECT)', async () => {
    expect(await names(TAGS.map((t) => `tags = '${t}'`).join(' or '))).toEqual(['r1', 'r2']);
    expect(await names({ $or: TAGS.map((t) => ({ tags: t })) })).toEqual(['r1', 'r2']);
    expect(await names(TAGS.map((t) => `tags != '${t}'`).join(' and '))).toHaveLength(5);
    expect(await countRuns(store, { where: TAGS.map((t) => `tags = '${t}'`).join(' or ') })).toBe(2);
  });

  it('40,000 IN values (more than SQLite binds)', async () => {
    const values = Array.from({ length: 40_000 }, (_, i) => `r${i}`);
    expect(await names(`run_name in (${values.map((v) => `'${v}'`).join(', ')})`)).toEqual([
      'r1',
      'r2',
      'r3',
      'r4',
      'r5',
      'r6',
    ]);
    expect(await names({ run_name: { $nin: values } })).toEqual([EVIL]);
    expect(await names({ 'config.n': { $in: Array.from({ length: 40_000 }, (_, i) => i + 3) } })).toHaveLength(5);
    expect(await names(`tags in (${values.map((v) => `'t${v.slice(1)}'`).join(', ')})`)).toEqual(['r1', 'r2']);
  });

  it('5,000 nested parentheses or nots: a clear limit', async () => {
    const deep = `${'('.repeat(5000)}run_name = 'r1'${')'.repeat(5000)}`;
    expect((await failure(names(deep))).message).toMatch(/more than 200 levels deep/);
    expect((await failure(names(`${'not '.repeat(5000)}run_name = 'r1'`))).message).toMatch(/200 levels/);
    let mongo: unknown = { run_name: 'r1' };
    for (let i = 0; i < 5000; i++) mongo = { $and: [mongo] };
    expect((await failure(names(mongo))).message).toMatch(/200 levels/);
    // 199 levels alternating and/or, on columns and attributes, still work.
    let text = "run_name = 'r1'";
    for (let i = 0; i < 199; i++) text = `(${text} ${i % 2 ? "or run_name = 'r1'" : 'and config.n >= 1'})`;
    expect(await names(text)).toEqual(['r1']);
  });

  it('10,000 columns: a clear limit naming it', async () => {
    const columns = Array.from({ length: 10_000 }, () => 'run_name');
    expect((await failure(findRuns(store, { columns }))).message).toMatch(/10000 columns asked for; at most 1000/);
    expect(await findRuns(store, { columns: Array.from({ length: 1000 }, () => 'config.n'), limit: 1 })).toHaveLength(
      1,
    );
  });

  it('an unknown attribute carries field, source and suggestion, and names no command', async () => {
    const error = await failure(names('config.mthod = 1'));
    expect(error.code).toBe('UNKNOWN_ATTRIBUTE');
    expect(error.details).toEqual({ field: 'config.mthod', source: 'config', suggestion: 'config.method' });
    expect(error.message).not.toMatch(/traindb|--/);
    const objective = await failure(names('objective.QED > 1'));
    expect(objective.details).toMatchObject({ field: 'objective.QED', source: 'objective' });
    expect(objective.message).not.toMatch(/traindb|--/);
  });
});

describe('compare over finite numbers only', () => {
  it('leaves NaN, -Infinity and text out of the statistics and counts them', async () => {
    const result = await compareGroups(store, { by: 'config.method', metric: 'summary.loss' });
    const group = (g: string) => result.groups.find((x) => x.group === g)!;
    expect(group('mgda')).toEqual({
      group: 'mgda',
      n: 2,
      mean: 2,
      std: Math.SQRT2,
      min: 1,
      max: 3,
      non_finite: 1,
      non_numeric: 0,
    });
    expect(group('pcgrad')).toMatchObject({ n: 1, mean: 2, min: 2, max: 2, std: null, non_finite: 1, non_numeric: 1 });
    expect(result.groups.map((g) => g.group)).toEqual(['evil', 'mgda', 'pcgrad']);
  });
});
