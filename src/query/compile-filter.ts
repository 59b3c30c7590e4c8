import type { SqlValue } from '../core/columns.js';
import { ALL_RUN_COLUMNS } from '../core/columns.js';
import { FilterError, TraindbError } from '../core/errors.js';
import { indexableScalar, toText } from '../core/normalize/coerce.js';
import { OBJECTIVE_STAT_COLUMNS } from '../core/normalize/objectives.js';
import type { ComparisonOp, FieldRef, FilterExpr, Scalar } from './filter/ast.js';
import { MAX_FILTER_DEPTH } from './filter/parser.js';
import { regexProblem } from './filter/regex.js';
import { attributeRef, columnName, keyOf, type FieldContext } from './resolve-fields.js';

export interface CompiledSql {
  sql: string;
  params: SqlValue[];
  /**
   * Set when the piece is exactly `r.run_key IN (<keyset.sql>)`: an AND of such pieces becomes one
   * INTERSECT of their key sets, and an OR one UNION, which SQLite answers from the indexes alone instead
   * of probing one set per row of another (a two-objective AND went from 6.7 ms to 3.1 ms at 100K runs).
   */
  keyset?: Keyset;
}

/** Run keys from indexes. `compound`: an INTERSECT/UNION of several, which must be computed whole to count. */
export interface Keyset {
  sql: string;
  params: SqlValue[];
  compound: boolean;
}

/** The comparison operators and their SQL; anything else in a tree is rejected, never pasted. */
const SQL_OPERATORS: Readonly<Record<ComparisonOp, string>> = {
  '=': '=',
  '!=': '!=',
  '<': '<',
  '<=': '<=',
  '>': '>',
  '>=': '>=',
};
const LEAF_KINDS: ReadonlySet<string> = new Set(['compare', 'in', 'like', 'regex', 'null']);

// SQLite's limits: 500 terms in one compound SELECT, expression depth 1000, 32,766 bound parameters.
/** Key sets per UNION/INTERSECT; more are nested in groups of this size. */
const COMPOUND_GROUP = 400;
/** `in` lists longer than this are bound as one JSON array, whatever their length. */
const IN_LIST_INLINE = 64;
/** At most this many conditions in one filter, which keeps the statement within the parameter limit. */
export const MAX_FILTER_CONDITIONS = 1000;

/**
 * Compiles a filter into a WHERE fragment over `training_runs r`. Every value is a bound parameter;
 * operators, columns and statistics come from fixed tables (an unknown one is INVALID_FILTER).
 *
 * How each kind of field is answered from an index:
 *  - columns: `r.col op ?` (the seed's indexes, or a scan of one narrow column);
 *  - config/summary/system paths and tags: `r.run_key IN (SELECT run_key FROM run_attributes
 *    WHERE key_id = ? AND run_bucket IN run_buckets AND value op ?)`, a range scan of run_attributes'
 *    primary key in each bucket of runs;
 *  - objectives: `r.run_key IN (SELECT run_key FROM run_objectives WHERE objective_name = ? AND stat op ?)`,
 *    a range scan of idx_obj_name / idx_obj_normalized_mean.
 *
 * Semantics (README "The filter language", test/query/filter-semantics.cases.ts) are two-valued: a condition
 * on a missing value is false, and `not` turns it true. `a != v`, `not in`, `not like` mean `not (a = v)`
 * etc., so on a list (tags) they mean "no element", and a run without the value matches them. A text
 * bound compares only with text and a number bound only with numbers.
 */
export function compileFilter(expr: FilterExpr, ctx: FieldContext, input: string): CompiledSql {
  const counter = { leaves: 0 };
  return compile(expr, false, ctx, input, 0, counter);
}

function compile(
  expr: FilterExpr,
  negated: boolean,
  ctx: FieldContext,
  input: string,
  depth: number,
  counter: { leaves: number },
): CompiledSql {
  if (typeof expr !== 'object' || expr === null) throw badTree('a filter node must be an object');
  // Trees from traindb's own code are never this deep; the check keeps a hostile tree off the stack.
  if (depth > MAX_FILTER_DEPTH * 2) {
    throw new TraindbError('INVALID_FILTER', `the filter nests more than ${MAX_FILTER_DEPTH} levels deep`);
  }
  switch (expr.kind) {
    case 'and':
    case 'or': {
      if (!Array.isArray(expr.items)) throw badTree(`'${expr.kind}' needs a list of items`);
      if (expr.items.length === 0) return { sql: (expr.kind === 'and') !== negated ? '1 = 1' : '1 = 0', params: [] };
      // De Morgan: push negation down to the leaves, where it can be made null-safe.
      const conjunction = (expr.kind === 'and') !== negated;
      const parts = expr.items.map((item) => compile(item, negated, ctx, input, depth + 1, counter));
      return parts.length === 1 ? parts[0]! : combine(parts, conjunction);
    }
    case 'not':
      return compile(expr.expr, !negated, ctx, input, depth + 1, counter);
    default: {
      if (!LEAF_KINDS.has(String((expr as { kind?: unknown }).kind))) throw badTree('unknown node kind');
      counter.leaves++;
      if (counter.leaves > MAX_FILTER_CONDITIONS) {
        throw new TraindbError(
          'INVALID_FILTER',
          `the filter has more than ${MAX_FILTER_CONDITIONS} conditions; combine values into one 'in' list, which takes any number`,
        );
      }
      const { leaf: positive, negate } = canonical(expr);
      const params: SqlValue[] = [];
      if (positive.kind === 'null') {
        // `is null` and `is not null` are each other's negation, and both have a direct form.
        const present = positive.negated === true;
        const { sql, keyset } = leaf({ ...positive, negated: negated !== present }, ctx, input, params);
        return keyset ? { sql, params, keyset: { sql: keyset, params, compound: false } } : { sql, params };
      }
      const { sql, nullable, keyset } = leaf(positive, ctx, input, params);
      if (negated === negate) {
        return keyset ? { sql, params, keyset: { sql: keyset, params, compound: false } } : { sql, params };
      }
      return { sql: nullable ? `NOT coalesce(${sql}, 0)` : `NOT ${sql}`, params };
    }
  }
}

function badTree(message: string): TraindbError {
  return new TraindbError('INVALID_FILTER', `not a valid filter: ${message}`);
}

type Leaf = Exclude<FilterExpr, { kind: 'and' | 'or' | 'not' }>;
/** A leaf in positive form: `!=`, `not in` and `not like` are the negations of `=`, `in` and `like`. */
type PositiveLeaf =
  | Extract<Leaf, { kind: 'null' | 'regex' }>
  | { kind: 'compare'; field: FieldRef; op: Exclude<ComparisonOp, '!='>; value: Scalar; position: number }
  | { kind: 'in'; field: FieldRef; values: Scalar[]; position: number }
  | { kind: 'like'; field: FieldRef; pattern: string; position: number };

function canonical(expr: Leaf): { leaf: PositiveLeaf; negate: boolean } {
  switch (expr.kind) {
    case 'compare': {
      if (typeof expr.op !== 'string' || !Object.hasOwn(SQL_OPERATORS, expr.op)) throw badTree('unknown operator');
      if (expr.op === '!=') return { leaf: { ...expr, op: '=' }, negate: true };
      return { leaf: { ...expr, op: expr.op }, negate: false };
    }
    case 'in':
      if (!Array.isArray(expr.values) || expr.values.length === 0) throw badTree("'in' needs a non-empty list");
      return {
        leaf: { kind: 'in', field: expr.field, values: expr.values, position: expr.position },
        negate: expr.negated === true,
      };
    case 'like':
      return {
        leaf: { kind: 'like', field: expr.field, pattern: expr.pattern, position: expr.position },
        negate: expr.negated === true,
      };
    default:
      return { leaf: expr, negate: false };
  }
}

function combine(parts: CompiledSql[], conjunction: boolean): CompiledSql {
  const sets = parts.filter((p) => p.keyset);
  const others = parts.filter((p) => !p.keyset);
  // An OR can only merge when every branch is a key set; an AND merges whatever key sets it has.
  const merged = sets.length >= 2 && (conjunction || others.length === 0) ? [mergeKeysets(sets, conjunction)] : sets;
  const all = [...merged, ...others];
  if (all.length === 1) return all[0]!;
  return {
    sql: balanced(
      all.map((p) => p.sql),
      conjunction ? ' AND ' : ' OR ',
    ),
    params: all.flatMap((p) => p.params),
  };
}

/** `(a OR b) OR (c OR d)`: a balanced tree, so 10,000 terms nest 14 deep instead of 10,000. */
function balanced(terms: readonly string[], op: string): string {
  if (terms.length <= 8) return `(${terms.join(op)})`;
  const half = Math.ceil(terms.length / 2);
  return `(${balanced(terms.slice(0, half), op)}${op}${balanced(terms.slice(half), op)})`;
}

function mergeKeysets(sets: CompiledSql[], conjunction: boolean): CompiledSql {
  const sql = compound(
    sets.map((p) => p.keyset!.sql),
    conjunction ? ' INTERSECT ' : ' UNION ',
  );
  const params = sets.flatMap((p) => p.keyset!.params);
  return { sql: `r.run_key IN (${sql})`, params, keyset: { sql, params, compound: true } };
}

/** Joins SELECTs of run_key with UNION/INTERSECT, nesting groups to stay within SQLite's 500 terms. */
function compound(selects: readonly string[], op: string): string {
  if (selects.length <= COMPOUND_GROUP) return selects.join(op);
  const groups: string[] = [];
  for (let i = 0; i < selects.length; i += COMPOUND_GROUP) {
    groups.push(`SELECT run_key FROM (${selects.slice(i, i + COMPOUND_GROUP).join(op)})`);
  }
  return compound(groups, op);
}

function leaf(
  expr: PositiveLeaf,
  ctx: FieldContext,
  input: string,
  params: SqlValue[],
): { sql: string; nullable: boolean; keyset?: string } {
  const field = expr.field;
  if (typeof field !== 'object' || field === null) throw badTree('a condition needs a field');
  const attr = attributeRef(field);
  const positive = (subquery: string) => ({ sql: `r.run_key IN (${subquery})`, nullable: false, keyset: subquery });
  if (attr) {
    const keyId = ctx.keyIds.get(keyOf(attr));
    const condition = expr.kind === 'null' ? '' : valueCondition('value', expr, params, 'attribute', input);
    if (keyId === undefined) {
      // No run has the key (only tags may be absent): the condition was still checked, but binds nothing.
      params.length = 0;
      return { sql: expr.kind === 'null' && !expr.negated ? '1 = 1' : '1 = 0', nullable: false };
    }
    params.unshift(keyId);
    // One seek per bucket of 512 runs (see migrations 004 and 007); without the bucket list, a scan of the key.
    const subquery = 'SELECT run_key FROM run_attributes WHERE key_id = ? AND run_bucket IN run_buckets';
    if (expr.kind === 'null')
      return expr.negated ? positive(subquery) : { sql: `r.run_key NOT IN (${subquery})`, nullable: false };
    return positive(`${subquery} AND ${condition}`);
  }
  if (field.scope === 'objective') {
    const stat = objectiveStat(field);
    const subquery = 'SELECT run_key FROM run_objectives WHERE objective_name = ?';
    if (expr.kind === 'null') {
      params.push(field.name);
      const present = `${subquery} AND ${stat} IS NOT NULL`;
      return expr.negated ? positive(present) : { sql: `r.run_key NOT IN (${present})`, nullable: false };
    }
    const condition = valueCondition(stat, expr, params, 'real', input);
    params.unshift(field.name);
    return positive(`${subquery} AND ${condition}`);
  }
  if (field.scope !== 'column') throw badTree('unknown field scope');
  const name = columnName(field, input);
  const column = `r.${name}`;
  if (expr.kind === 'null') return { sql: `${column} IS ${expr.negated ? 'NOT ' : ''}NULL`, nullable: false };
  return { sql: valueCondition(column, expr, params, ALL_RUN_COLUMNS[name] ?? 'integer', input), nullable: true };
}

/** SQL for the statistic of an objective: one of the four columns, or a key of stats_json. */
export function objectiveStat(field: Extract<FieldRef, { scope: 'objective' }>): string {
  const stat = field.stat;
  if (typeof stat !== 'string') throw badTree('an objective needs a statistic');
  if ((OBJECTIVE_STAT_COLUMNS as readonly string[]).includes(stat)) return stat;
  // Any other statistic (e.g. pass_rate) is read from stats_json, its name quoted as a SQL literal.

  if (/["\\\u0000-\u001f]/.test(stat)) {
    throw new TraindbError(
      'INVALID_FILTER',
      `an objective statistic cannot contain '"', '\\' or control characters: ${JSON.stringify(stat)}`,
    );
  }
  return `json_extract(stats_json, ${sqlString(`$."${stat}"`)})`;
}

function sqlString(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * How a bound is typed for the kind of value it meets: attributes are typed as normalization stores
 * them (number-shaped text is a number, booleans 1/0); a text column holds text; a numeric column
 * numbers. `real`: objective statistics.
 */
type Target = 'attribute' | 'real' | string;

function typedValue(value: Scalar, target: Target): SqlValue {
  if (value === null || (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean')) {
    throw badTree('a value must be text, a finite number or a boolean');
  }
  if (typeof value === 'number' && !Number.isFinite(value)) throw badTree('a number must be finite');
  if (target === 'text' || target === 'timestamp' || target === 'json') return toText(value);
  return indexableScalar(value);
}

/**
 * `value op ?` under the rule "a text bound compares only text, a number bound only numbers". SQLite
 * orders every number before every text, so a number's upper range is capped below the text
 * (`value < ''`) and a text's lower range starts at the smallest text (`value >= ''`); both stay a
 * range of the index.
 */
function valueCondition(
  target: string,
  expr: Exclude<PositiveLeaf, { kind: 'null' }>,
  params: SqlValue[],
  type: Target,
  input: string,
): string {
  switch (expr.kind) {
    case 'compare': {
      const value = typedValue(expr.value, type);
      params.push(value);
      const op = SQL_OPERATORS[expr.op];
      const mixed = type !== 'text' && type !== 'timestamp' && type !== 'json';
      if (mixed && typeof value === 'number' && (op === '>' || op === '>='))
        return `${target} ${op} ? AND ${target} < ''`;
      if (mixed && typeof value === 'string' && (op === '<' || op === '<='))
        return `${target} ${op} ? AND ${target} >= ''`;
      return `${target} ${op} ?`;
    }
    case 'in': {
      const values = expr.values.map((v) => typedValue(v, type));
      if (values.length > IN_LIST_INLINE) {
        // One parameter whatever the length (SQLite binds at most 32,766); still one index seek per value.
        params.push(JSON.stringify(values));
        return `${target} IN (SELECT value FROM json_each(?))`;
      }
      params.push(...values);
      return `${target} IN (${values.map(() => '?').join(', ')})`;
    }
    case 'like':
      if (typeof expr.pattern !== 'string') throw badTree("'like' needs a text pattern");
      params.push(expr.pattern);
      return `${target} LIKE ?`;
    case 'regex': {
      if (typeof expr.pattern !== 'string') throw badTree("'~' needs a text pattern");
      const problem = regexProblem(expr.pattern);
      if (problem !== null) {
        const message = `invalid regular expression ${JSON.stringify(expr.pattern)}: ${problem}`;
        throw input ? new FilterError(message, input, expr.position) : new TraindbError('INVALID_FILTER', message);
      }
      params.push(expr.pattern);
      return `${target} REGEXP ?`;
    }
    default:
      throw badTree('unknown condition');
  }
}
