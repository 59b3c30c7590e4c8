import { describe, it, expect } from 'vitest';
import { TraindbError } from '../../src/core/errors.js';
import type { FieldRef, FilterExpr } from '../../src/query/filter/ast.js';
import { mongoToFilter } from '../../src/query/filter/mongo.js';
import { parseFilter } from '../../src/query/filter/parser.js';

const col = (name: string): FieldRef => ({ scope: 'column', name, position: 0 });
const config = (path: string): FieldRef => ({ scope: 'config', path, position: 0 });
const summary = (path: string): FieldRef => ({ scope: 'summary', path, position: 0 });

/** Translates a filter that must be rejected; fails the test if nothing is thrown. */
function mongoError(filter: unknown): TraindbError {
  let thrown: unknown;
  try {
    mongoToFilter(filter);
  } catch (error) {
    thrown = error;
  }
  if (thrown === undefined) throw new Error(`expected mongoToFilter(${JSON.stringify(filter)}) to throw`);
  expect(thrown).toBeInstanceOf(TraindbError);
  expect((thrown as TraindbError).code).toBe('INVALID_FILTER');
  return thrown as TraindbError;
}

/** The text language's AST with every position zeroed, to compare against Mongo translations. */
function textAst(text: string): FilterExpr {
  return JSON.parse(JSON.stringify(parseFilter(text)), (key: string, value: unknown) =>
    key === 'position' ? 0 : value,
  ) as FilterExpr;
}

describe('mongoToFilter: structure', () => {
  it('treats the top-level object as an implicit and', () => {
    expect(mongoToFilter({ state: 'finished', 'config.batch_size': { $gte: 64 } })).toEqual({
      kind: 'and',
      items: [
        { kind: 'compare', field: col('state'), op: '=', value: 'finished', position: 0 },
        { kind: 'compare', field: config('batch_size'), op: '>=', value: 64, position: 0 },
      ],
    });
  });

  it('returns a single condition unwrapped, and {} as match-everything', () => {
    expect(mongoToFilter({ state: 'running' })).toEqual({
      kind: 'compare',
      field: col('state'),
      op: '=',
      value: 'running',
      position: 0,
    });
    expect(mongoToFilter({})).toEqual({ kind: 'and', items: [] });
  });

  it('translates $and, $or and $nor (as not-or), flattening nested chains', () => {
    expect(
      mongoToFilter({
        $or: [{ host: 'expanse' }, { $or: [{ host: 'ec2' }, { host: 'local' }] }],
        $nor: [{ state: 'crashed' }, { state: 'failed' }],
      }),
    ).toEqual({
      kind: 'and',
      items: [
        textAst("host = 'expanse' or host = 'ec2' or host = 'local'"),
        textAst("not (state = 'crashed' or state = 'failed')"),
      ],
    });
    expect(mongoToFilter({ $and: [{ 'config.lr': { $lt: 0.01 } }, { 'config.lr': { $gt: 0.0001 } }] })).toEqual(
      textAst('config.lr < 0.01 and config.lr > 1e-4'),
    );
  });

  it('ands several operators on one key', () => {
    expect(mongoToFilter({ 'summary_metrics.loss': { $gt: 0.1, $lte: 0.5 } })).toEqual({
      kind: 'and',
      items: [
        { kind: 'compare', field: summary('loss'), op: '>', value: 0.1, position: 0 },
        { kind: 'compare', field: summary('loss'), op: '<=', value: 0.5, position: 0 },
      ],
    });
  });
});

describe('mongoToFilter: operators', () => {
  it('translates comparisons', () => {
    expect(mongoToFilter({ x: { $eq: 1 } })).toEqual(textAst('x = 1'));
    expect(mongoToFilter({ x: { $ne: 'a' } })).toEqual(textAst("x != 'a'"));
    expect(mongoToFilter({ x: { $gt: 1 } })).toEqual(textAst('x > 1'));
    expect(mongoToFilter({ x: { $gte: 1 } })).toEqual(textAst('x >= 1'));
    expect(mongoToFilter({ x: { $lt: 1 } })).toEqual(textAst('x < 1'));
    expect(mongoToFilter({ x: { $lte: true } })).toEqual(textAst('x <= true'));
  });

  it('translates $in and $nin', () => {
    expect(mongoToFilter({ tags: { $in: ['baseline', 'mgda'] } })).toEqual({
      kind: 'in',
      field: col('tags'),
      values: ['baseline', 'mgda'],
      negated: false,
      position: 0,
    });
    expect(mongoToFilter({ host: { $nin: ['ec2'] } })).toEqual(textAst("host not in ('ec2')"));
  });

  it('splits null out of $in / $nin into an is-null test, as MongoDB matches missing values', () => {
    expect(mongoToFilter({ group: { $in: [null, 'a'] } })).toEqual(
      textAst("wandb_group is null or wandb_group in ('a')"),
    );
    expect(mongoToFilter({ group: { $nin: ['a', null] } })).toEqual(
      textAst("wandb_group is not null and wandb_group not in ('a')"),
    );
    expect(mongoToFilter({ group: { $in: [null] } })).toEqual(textAst('wandb_group is null'));
  });

  it('maps null equality and $exists to null tests', () => {
    expect(mongoToFilter({ host: null })).toEqual(textAst('host is null'));
    expect(mongoToFilter({ host: { $eq: null } })).toEqual(textAst('host is null'));
    expect(mongoToFilter({ host: { $ne: null } })).toEqual(textAst('host is not null'));
    expect(mongoToFilter({ host: { $exists: true } })).toEqual(textAst('host is not null'));
    expect(mongoToFilter({ host: { $exists: false } })).toEqual(textAst('host is null'));
  });

  it('translates $regex and $not', () => {
    expect(mongoToFilter({ displayName: { $regex: '^eager-\\d+' } })).toEqual({
      kind: 'regex',
      field: col('run_name'),
      pattern: '^eager-\\d+',
      position: 0,
    });
    expect(mongoToFilter({ 'config.lr': { $not: { $gt: 0.1 } } })).toEqual(textAst('not config.lr > 0.1'));
    expect(mongoToFilter({ x: { $not: { $gt: 1, $lt: 5 } } })).toEqual(textAst('not (x > 1 and x < 5)'));
  });
});

describe('mongoToFilter: keys', () => {
  it('maps W&B run fields to traindb columns', () => {
    const aliases: Record<string, string> = {
      state: 'state',
      createdAt: 'created_at',
      created_at: 'created_at',
      updatedAt: 'wandb_updated_at',
      updated_at: 'wandb_updated_at',
      heartbeatAt: 'heartbeat_at',
      heartbeat_at: 'heartbeat_at',
      displayName: 'run_name',
      display_name: 'run_name',
      name: 'wandb_run_id',
      group: 'wandb_group',
      jobType: 'job_type',
      job_type: 'job_type',
      tags: 'tags',
      host: 'host',
      username: 'wandb_user',
      sweep: 'sweep_name',
      batch_size: 'batch_size',
    };
    for (const [key, column] of Object.entries(aliases)) {
      expect(mongoToFilter({ [key]: 'v' }), key).toEqual({
        kind: 'compare',
        field: col(column),
        op: '=',
        value: 'v',
        position: 0,
      });
    }
  });

  it('reads dotted config keys as nested paths, unlike W&B (wandb/wandb#3087)', () => {
    expect(mongoToFilter({ 'config.training.batch_size': { $gte: 64 } })).toEqual({
      kind: 'compare',
      field: config('training.batch_size'),
      op: '>=',
      value: 64,
      position: 0,
    });
  });

  it("strips W&B's trailing .value from config keys, only once", () => {
    expect(mongoToFilter({ 'config.lr.value': 0.1 })).toEqual(textAst('config.lr = 0.1'));
    expect(mongoToFilter({ 'config.value': 1 })).toEqual(textAst('config.value = 1'));
    expect(mongoToFilter({ 'config.a.value.value': 1 })).toEqual(textAst('config.a.value = 1'));
    // .value is W&B's config wrapper only; summary keys keep it.
    expect(mongoToFilter({ 'summary_metrics.x.value': 1 })).toEqual(textAst('summary.x.value = 1'));
  });

  it('maps summary, system and objective keys', () => {
    expect(mongoToFilter({ 'summary_metrics.train/loss': { $lt: 0.5 } })).toEqual(
      textAst('summary."train/loss" < 0.5'),
    );
    expect(mongoToFilter({ 'summary.train/loss': { $lt: 0.5 } })).toEqual(textAst('summary."train/loss" < 0.5'));
    expect(mongoToFilter({ 'systemMetrics.gpu.0.temp': { $gt: 80 } })).toEqual(textAst('system.gpu.0.temp > 80'));
    expect(mongoToFilter({ 'system.cpu': { $gt: 80 } })).toEqual(textAst('system.cpu > 80'));
    expect(mongoToFilter({ 'objective.DRD5_activity': { $gt: 0.7 } })).toEqual(
      textAst('objective.DRD5_activity > 0.7'),
    );
    expect(mongoToFilter({ 'objectives.qed.raw_std': { $lt: 0.1 } })).toEqual(textAst('objective.qed.raw_std < 0.1'));
    expect(mongoToFilter({ 'objective."pIC50.DRD1".raw_std': { $lt: 0.1 } })).toEqual({
      kind: 'compare',
      field: { scope: 'objective', name: 'pIC50.DRD1', stat: 'raw_std', position: 0 },
      op: '<',
      value: 0.1,
      position: 0,
    });
    expect(mongoToFilter({ 'objective."pIC50.DRD1"': 1 })).toEqual(textAst('objective."pIC50.DRD1" = 1'));
  });

  it('keeps config keys verbatim, even characters the text language would need quoted', () => {
    expect(mongoToFilter({ 'config.eval acc@1': 1 })).toEqual(textAst('config."eval acc@1" = 1'));
  });
});

describe('mongoToFilter: errors', () => {
  it('rejects a non-object filter', () => {
    expect(mongoError('state = 1').message).toContain('must be an object');
    expect(mongoError(null).message).toContain('must be an object');
    expect(mongoError([{ state: 'x' }]).message).toContain('must be an object');
  });

  it('names an unknown field operator and lists the accepted ones', () => {
    const error = mongoError({ 'config.lr': { $foo: 1 } });
    expect(error.message).toContain("'config.lr'");
    expect(error.message).toContain("unsupported operator '$foo'");
    expect(error.message).toContain('$eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists, $regex, $not');
    expect(mongoError({ name: { $regex: 'a', $options: 'i' } }).message).toContain("'$options'");
  });

  it('names an unknown top-level operator', () => {
    const error = mongoError({ $where: 'this.x > 1' });
    expect(error.message).toContain("'$where'");
    expect(error.message).toContain('$and, $or, $nor');
  });

  it('requires $and/$or/$nor to hold a non-empty array of objects', () => {
    expect(mongoError({ $or: { state: 'x' } }).message).toContain("'$or' takes a non-empty array");
    expect(mongoError({ $and: [] }).message).toContain("'$and' takes a non-empty array");
    expect(mongoError({ $nor: ['x'] }).message).toContain("'$nor' item 0 must be an object");
  });

  it('rejects bad operator arguments', () => {
    expect(mongoError({ x: { $in: [] } }).message).toContain('$in takes a non-empty array');
    expect(mongoError({ x: { $nin: 'a' } }).message).toContain('$nin takes a non-empty array');
    expect(mongoError({ x: { $in: [{ a: 1 }] } }).message).toContain('$in takes a string, finite number');
    expect(mongoError({ x: { $exists: 'yes' } }).message).toContain('$exists takes true or false');
    expect(mongoError({ x: { $regex: 5 } }).message).toContain('$regex takes a string');
    expect(mongoError({ x: { $not: 5 } }).message).toContain('$not takes an operator object');
    expect(mongoError({ x: { $gt: null } }).message).toContain('$gt cannot compare with null');
    expect(mongoError({ x: { $gt: Number.NaN } }).message).toContain("'x': $gt takes a string, finite number");
  });

  it('rejects arrays and sub-documents as values', () => {
    expect(mongoError({ tags: ['a', 'b'] }).message).toContain('{"$in": [...]}');
    const sub = mongoError({ 'config.optimizer': { name: 'adam' } });
    expect(sub.message).toContain("'config.optimizer' must be a value or an operator object");
    expect(sub.message).toContain('"config.optimizer.<name>"');
    expect(mongoError({ x: {} }).message).toContain("'x' must be a value or an operator object");
    expect(mongoError({ x: { $gt: 1, lt: 2 } }).message).toContain("'x' must be a value or an operator object");
  });

  it('rejects scope keys without a key after them', () => {
    expect(mongoError({ 'config.': 1 }).message).toContain("'config.' needs a key after 'config.'");
    expect(mongoError({ 'summary_metrics.': 1 }).message).toContain('needs a key');
  });

  it('rejects dotted keys with an unknown scope, suggesting config. and summary_metrics.', () => {
    const error = mongoError({ 'training.batch_size': 64 });
    expect(error.message).toContain("unknown filter key 'training.batch_size'");
    expect(error.message).toContain('"config.training.batch_size"');
    expect(mongoError({ '': 1 }).message).toContain('empty');
  });

  it('rejects ambiguous objective keys and asks for quoting', () => {
    const error = mongoError({ 'objective.pIC50.DRD1.raw_mean': 1 });
    expect(error.message).toContain('objective."pIC50.DRD1".raw_mean');
    expect(mongoError({ objective: 1 }).message).toContain('objective.<name>');
    expect(mongoError({ 'objective."a.b': 1 }).message).toContain('malformed quoted objective name');
    expect(mongoError({ 'objective."a"b': 1 }).message).toContain('malformed quoted objective name');
    expect(mongoError({ 'objective.a.': 1 }).message).toContain('objective.<name>');
  });

  it('reports errors as TraindbError, not as a text-position FilterError', () => {
    expect(mongoError({ $foo: 1 }).name).toBe('TraindbError');
  });
});
