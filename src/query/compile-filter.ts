import type { SqlValue } from '../core/columns.js';
import { OBJECTIVE_STAT_COLUMNS } from '../core/normalize/objectives.js';
import type { FieldRef, FilterExpr, Scalar } from './filter/ast.js';
import { attributeRef, columnName, keyOf, type FieldContext } from './resolve-fields.js';

export interface CompiledSql {
  sql: string;
  params: SqlValue[];
}

/**
 * Compiles a filter into a WHERE fragment over `training_runs r`. Every value is a bound parameter.
 *
 * How each kind of field is answered from an index:
 *  - columns: `r.col op ?` (the seed's indexes, or a scan of one narrow column);
 *  - config/summary/system paths and tags: `r.run_key IN (SELECT run_key FROM run_attributes
 *    WHERE key_id = ? AND value op ?)`, a range scan of run_attributes' primary key;
 *  - objectives: `r.run_key IN (SELECT run_key FROM run_objectives WHERE objective_name = ? AND stat op ?)`,
 *    a range scan of idx_obj_name / idx_obj_normalized_mean.
 *
 * Semantics are two-valued: a comparison on a missing value is false, and `not` turns it true.
 */
export function compileFilter(expr: FilterExpr, ctx: FieldContext, input: string): CompiledSql {
  const params: SqlValue[] = [];
  const sql = compile(expr, false, ctx, input, params);
  return { sql, params };
}

function compile(expr: FilterExpr, negated: boolean, ctx: FieldContext, input: string, params: SqlValue[]): string {
  switch (expr.kind) {
    case 'and':
    case 'or': {
      if (expr.items.length === 0) return (expr.kind === 'and') !== negated ? '1 = 1' : '1 = 0';
      // De Morgan: push negation down to the leaves, where it can be made null-safe.
      const joiner = (expr.kind === 'and') !== negated ? ' AND ' : ' OR ';
      const parts = expr.items.map((item) => compile(item, negated, ctx, input, params));
      return parts.length === 1 ? parts[0]! : `(${parts.join(joiner)})`;
    }
    case 'not':
      return compile(expr.expr, !negated, ctx, input, params);
    default: {
      const { sql, nullable } = leaf(expr, ctx, input, params);
      if (!negated) return sql;
      return nullable ? `NOT coalesce(${sql}, 0)` : `NOT ${sql}`;
    }
  }
}

type Leaf = Exclude<FilterExpr, { kind: 'and' | 'or' | 'not' }>;

function leaf(expr: Leaf, ctx: FieldContext, input: string, params: SqlValue[]): { sql: string; nullable: boolean } {
  const field = expr.field;
  const attr = attributeRef(field);
  if (attr) {
    const keyId = ctx.keyIds.get(keyOf(attr));
    if (keyId === undefined) return { sql: expr.kind === 'null' && !expr.negated ? '1 = 1' : '1 = 0', nullable: false };
    params.push(keyId);
    if (expr.kind === 'null') {
      return { sql: `r.run_key ${expr.negated ? '' : 'NOT '}IN (SELECT run_key FROM run_attributes WHERE key_id = ?)`, nullable: false };
    }
    const cond = valueCondition('value', expr, params);
    return { sql: `r.run_key IN (SELECT run_key FROM run_attributes WHERE key_id = ? AND ${cond})`, nullable: false };
  }
  if (field.scope === 'objective') {
    params.push(field.name);
    const stat = objectiveStat(field);
    if (expr.kind === 'null') {
      const sql = `r.run_key ${expr.negated ? '' : 'NOT '}IN (SELECT run_key FROM run_objectives WHERE objective_name = ? AND ${stat} IS NOT NULL)`;
      return { sql, nullable: false };
    }
    const cond = valueCondition(stat, expr, params);
    return { sql: `r.run_key IN (SELECT run_key FROM run_objectives WHERE objective_name = ? AND ${cond})`, nullable: false };
  }
  if (field.scope !== 'column') throw new Error(`unreachable field scope ${JSON.stringify(field)}`);
  const column = `r.${columnName(field, input)}`;
  if (expr.kind === 'null') return { sql: `${column} IS ${expr.negated ? 'NOT ' : ''}NULL`, nullable: false };
  return { sql: valueCondition(column, expr, params, false), nullable: true };
}

/** SQL for the statistic of an objective: one of the four columns, or a key of stats_json. */
export function objectiveStat(field: Extract<FieldRef, { scope: 'objective' }>): string {
  if ((OBJECTIVE_STAT_COLUMNS as readonly string[]).includes(field.stat)) return field.stat;
  // Any other statistic (e.g. pass_rate) is read from stats_json; the name is quoted as a SQL literal.
  return `json_extract(stats_json, ${sqlString(`$."${field.stat.replace(/"/g, '')}"`)})`;
}

function sqlString(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * `value op ?` with the attribute index's typing rules: SQLite orders numbers before text, so a
 * numeric lower bound is capped below the text range (`value < ''`) to keep strings out of `> 4`.
 */
function valueCondition(target: string, expr: Exclude<Leaf, { kind: 'null' }>, params: SqlValue[], typed = true): string {
  switch (expr.kind) {
    case 'compare': {
      const value = bindable(expr.value);
      params.push(value);
      const numericLowerBound = typed && typeof value === 'number' && (expr.op === '>' || expr.op === '>=');
      return `${target} ${expr.op === '=' ? '=' : expr.op} ?${numericLowerBound ? ` AND ${target} < ''` : ''}`;
    }
    case 'in': {
      params.push(...expr.values.map(bindable));
      return `${target} ${expr.negated ? 'NOT ' : ''}IN (${expr.values.map(() => '?').join(', ')})`;
    }
    case 'like':
      params.push(expr.pattern);
      return `${target} ${expr.negated ? 'NOT ' : ''}LIKE ?`;
    case 'regex':
      params.push(expr.pattern);
      return `${target} REGEXP ?`;
  }
}

function bindable(value: Scalar): SqlValue {
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}
