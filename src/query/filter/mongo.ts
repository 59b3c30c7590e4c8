/**
 * Translates the MongoDB-style filter objects written for W&B's `api.runs(filters=...)` into the filter
 * AST, so existing W&B filters keep working against traindb. Unlike W&B (wandb/wandb#3087), dotted config
 * keys work: `{"config.training.batch_size": {"$gte": 64}}` is config path `training.batch_size`.
 */
import { TraindbError } from '../../core/errors.js';
import type { ComparisonOp, FieldRef, FilterExpr, Scalar } from './ast.js';
import { scanQuoted } from './lexer.js';
import { combine, MAX_FILTER_DEPTH } from './parser.js';

/** Translates a W&B/MongoDB filter object; throws TraindbError('INVALID_FILTER') naming the offending key. */
export function mongoToFilter(filter: unknown): FilterExpr {
  return translateDocument(filter, 'the filter', 0);
}

/** An own property of a lookup table: `constructor` or `__proto__` are keys like any other, never the prototype's. */
function own<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

function checkDepth(depth: number): void {
  if (depth > MAX_FILTER_DEPTH) {
    throw invalid(`the filter nests $and/$or/$nor/$not more than ${MAX_FILTER_DEPTH} levels deep; simplify it`);
  }
}

/** W&B's top-level run fields and the traindb columns that hold them. */
const COLUMN_ALIASES: Record<string, string> = {
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
};
const PATH_SCOPES: Record<string, 'config' | 'summary' | 'system'> = {
  config: 'config',
  summary_metrics: 'summary',
  summary: 'summary',
  system: 'system',
  systemMetrics: 'system',
};
const COMPARISONS: Record<string, ComparisonOp> = { $gt: '>', $gte: '>=', $lt: '<', $lte: '<=' };
const LOGICAL = '$and, $or, $nor';
const FIELD_OPERATORS = '$eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists, $regex, $not';

function invalid(message: string): TraindbError {
  return new TraindbError('INVALID_FILTER', message);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A document is an implicit $and of its keys; `{}` matches everything. */
function translateDocument(doc: unknown, where: string, depth: number): FilterExpr {
  checkDepth(depth);
  if (!isPlainObject(doc)) {
    throw invalid(`${where} must be an object like {"state": "finished"}, got ${shown(doc)}`);
  }
  return combine(
    'and',
    Object.entries(doc).map(([key, value]) => translateEntry(key, value, depth)),
  );
}

/** A value as the user wrote it (JSON), shortened so a huge value does not flood the message. */
function shown(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function translateEntry(key: string, value: unknown, depth: number): FilterExpr {
  if (!key.startsWith('$')) return translateCondition(mongoField(key), key, value, depth);
  if (key !== '$and' && key !== '$or' && key !== '$nor') {
    throw invalid(`unsupported operator '${key}' at the top of a filter; accepted: ${LOGICAL}, or a field name`);
  }
  if (!Array.isArray(value) || value.length === 0) {
    throw invalid(`'${key}' takes a non-empty array of filter objects, e.g. {"${key}": [{"state": "finished"}]}`);
  }
  const items = value.map((item, i) => translateDocument(item, `'${key}' item ${i}`, depth + 1));
  if (key === '$and') return combine('and', items);
  const any = combine('or', items);
  return key === '$or' ? any : { kind: 'not', expr: any };
}

/** The value of a field key: an operator object (`{"$gt": 1, "$lt": 5}` is an and) or a bare value ($eq). */
function translateCondition(field: FieldRef, key: string, value: unknown, depth: number): FilterExpr {
  checkDepth(depth);
  if (!isPlainObject(value)) return equals(field, key, value);
  const entries = Object.entries(value);
  if (entries.length === 0 || !entries.every(([op]) => op.startsWith('$'))) {
    // Mongo would compare whole sub-documents; traindb addresses nested keys by dotted path instead.
    throw invalid(
      `'${key}' must be a value or an operator object (${FIELD_OPERATORS}); to match a nested key use a dotted key such as "${key}.<name>"`,
    );
  }
  return combine(
    'and',
    entries.map(([op, arg]) => translateOperator(field, key, op, arg, depth)),
  );
}

function translateOperator(field: FieldRef, key: string, op: string, arg: unknown, depth: number): FilterExpr {
  const position = 0;
  switch (op) {
    case '$eq':
      return equals(field, key, arg);
    case '$ne':
      return arg === null
        ? { kind: 'null', field, negated: true, position }
        : { kind: 'compare', field, op: '!=', value: scalar(key, op, arg), position };
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte': {
      const value = scalar(key, op, arg);
      if (value === null)
        throw invalid(`'${key}': ${op} cannot compare with null; use {"$eq": null} or {"$exists": ...}`);
      return { kind: 'compare', field, op: COMPARISONS[op] as ComparisonOp, value, position };
    }
    case '$in':
    case '$nin':
      return membership(field, key, op, arg);
    case '$exists':
      if (typeof arg !== 'boolean') throw invalid(`'${key}': $exists takes true or false, got ${shown(arg)}`);
      return { kind: 'null', field, negated: arg, position };
    case '$regex':
      if (typeof arg !== 'string') throw invalid(`'${key}': $regex takes a string pattern, got ${shown(arg)}`);
      return { kind: 'regex', field, pattern: arg, position };
    case '$not':
      if (!isPlainObject(arg)) throw invalid(`'${key}': $not takes an operator object, e.g. {"$not": {"$gt": 5}}`);
      return { kind: 'not', expr: translateCondition(field, key, arg, depth + 1) };
    default:
      throw invalid(`'${key}': unsupported operator '${op}'; accepted: ${FIELD_OPERATORS}`);
  }
}

/** A bare value or `$eq`; `null` means "is null", as in MongoDB. */
function equals(field: FieldRef, key: string, arg: unknown): FilterExpr {
  if (Array.isArray(arg)) throw invalid(`'${key}': to match any of several values use {"$in": [...]}`);
  const value = scalar(key, '$eq', arg);
  if (value === null) return { kind: 'null', field, negated: false, position: 0 };
  return { kind: 'compare', field, op: '=', value, position: 0 };
}

/**
 * `$in`/`$nin`. MongoDB's `$in: [null, ...]` also matches missing values; the AST's `in` never holds null,
 * so a null in the list becomes a separate is-null test.
 */
function membership(field: FieldRef, key: string, op: '$in' | '$nin', arg: unknown): FilterExpr {
  if (!Array.isArray(arg) || arg.length === 0) {
    throw invalid(`'${key}': ${op} takes a non-empty array of values, e.g. {"${op}": ["a", "b"]}`);
  }
  const negated = op === '$nin';
  const values = arg.map((v) => scalar(key, op, v));
  const nonNull = values.filter((v) => v !== null);
  const parts: FilterExpr[] = [];
  if (nonNull.length < values.length) parts.push({ kind: 'null', field, negated, position: 0 });
  if (nonNull.length > 0) parts.push({ kind: 'in', field, values: nonNull, negated, position: 0 });
  return combine(negated ? 'and' : 'or', parts);
}

function scalar(key: string, op: string, value: unknown): Scalar {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  throw invalid(`'${key}': ${op} takes a string, finite number, boolean or null, got ${shown(value)}`);
}

/** Maps a W&B filter key to a field: `config.<key>`, `summary_metrics.<key>`, `objective.<name>[.<stat>]`, or a column. */
function mongoField(key: string): FieldRef {
  const dot = key.indexOf('.');
  const head = dot < 0 ? key : key.slice(0, dot);
  const rest = dot < 0 ? '' : key.slice(dot + 1);
  const scope = own(PATH_SCOPES, head);
  if (scope) {
    // W&B stores config entries as {value, desc}, so its filters say `config.lr.value`.
    const path = scope === 'config' && rest.endsWith('.value') ? rest.slice(0, -'.value'.length) : rest;
    if (path === '') throw invalid(`'${key}' needs a key after '${head}.', e.g. "${head}.learning_rate"`);
    return { scope, path, position: 0 };
  }
  if (head === 'objective' || head === 'objectives') return objectiveField(key, rest);
  if (key === '') throw invalid('a filter key is empty; use a field name such as "state" or "config.<key>"');
  if (dot >= 0) {
    throw invalid(
      `unknown filter key '${key}': a dotted key must start with config., summary_metrics., system. or objective.` +
        ` (e.g. "config.${key}" or "summary_metrics.${key}")`,
    );
  }
  return { scope: 'column', name: own(COLUMN_ALIASES, key) ?? key, position: 0 };
}

/** `objective.<name>[.<stat>]`; a name containing dots is double-quoted, as in the text language. */
function objectiveField(key: string, rest: string): FieldRef {
  let name: string | undefined;
  let stats: string[];
  if (rest.startsWith('"')) {
    const quoted = scanQuoted(rest, 0);
    const after = quoted ? rest.slice(quoted.end) : '';
    if (!quoted || (after !== '' && !after.startsWith('.'))) {
      throw invalid(`'${key}': malformed quoted objective name; write objective."<name>".<stat>`);
    }
    name = quoted.value;
    stats = after === '' ? [] : after.slice(1).split('.');
  } else {
    [name, ...stats] = rest.split('.');
  }
  if (!name || stats.length > 1 || stats[0] === '') {
    throw invalid(
      `'${key}': use objective.<name> or objective.<name>.<stat>, and quote a name that contains dots,` +
        ` e.g. 'objective."pIC50.DRD1".raw_mean'`,
    );
  }
  return { scope: 'objective', name, stat: stats[0] ?? 'raw_mean', position: 0 };
}
