import type { SqlValue } from '../core/columns.js';
import { TraindbError } from '../core/errors.js';
import type { Row, RunStore } from '../db/store.js';
import type { FieldRef, FilterExpr } from './filter/ast.js';
import { mongoToFilter } from './filter/mongo.js';
import { parseFilter } from './filter/parser.js';
import { compileFilter } from './compile-filter.js';
import { fieldLabel, fieldValueSql, parseField } from './field-sql.js';
import { collectFields, resolveFields } from './resolve-fields.js';

export const DEFAULT_COLUMNS = [
  'run_id',
  'wandb_run_id',
  'run_name',
  'status',
  'gradient_method',
  'batch_size',
  'learning_rate',
  'created_at',
] as const;

export interface FindRunsOptions {
  /** The filter: text in traindb's language, a W&B-style Mongo object, or an already-parsed tree. */
  where?: string | FilterExpr | Record<string, unknown>;
  /** Result columns: any field (`batch_size`, `config.training.max_steps`, `objective.QED`), or `*` for every run column. */
  columns?: readonly string[];
  /** Sort keys: a field, optionally prefixed with `-` or followed by ` desc`. */
  order?: readonly string[];
  limit?: number;
  /** Include runs marked deleted in W&B (hidden by default). */
  includeDeleted?: boolean;
}

export interface CompiledQuery {
  sql: string;
  params: SqlValue[];
  columns: string[];
}

export function toFilterExpr(where: FindRunsOptions['where']): { expr: FilterExpr; text: string } {
  if (where === undefined) return { expr: { kind: 'and', items: [] }, text: '' };
  if (typeof where === 'string') return { expr: parseFilter(where), text: where };
  if ('kind' in where && typeof where['kind'] === 'string') return { expr: where as FilterExpr, text: '' };
  return { expr: mongoToFilter(where), text: JSON.stringify(where) };
}

/** Builds the SQL for a run query after checking every field against the database. */
export async function compileRunQuery(store: RunStore, options: FindRunsOptions = {}): Promise<CompiledQuery> {
  const { expr, text } = toFilterExpr(options.where);
  const star = options.columns?.includes('*');
  const columnFields = star ? [] : (options.columns ?? DEFAULT_COLUMNS).map((c) => parseField(c));
  const orderKeys = (options.order ?? ['-created_at']).map(parseOrder);
  const fields: FieldRef[] = [...collectFields(expr), ...columnFields, ...orderKeys.map((o) => o.field)];
  const ctx = await resolveFields(store, fields, text);

  const params: SqlValue[] = [];
  const select = star
    ? ['r.*']
    : columnFields.map((f) => `${fieldValueSql(f, ctx, text, params)} AS "${fieldLabel(f).replace(/"/g, '""')}"`);
  const where = compileFilter(expr, ctx, text);
  params.push(...where.params);
  const orderSql = orderKeys.map((o) => {
    const p: SqlValue[] = [];
    const sql = fieldValueSql(o.field, ctx, text, p);
    // NULLs last whichever the direction, as people expect from a leaderboard (the expression appears twice).
    params.push(...p, ...p);
    return `${sql} IS NULL, ${sql} ${o.desc ? 'DESC' : 'ASC'}`;
  });
  const limit = options.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 0) throw new TraindbError('INVALID_INPUT', `limit must be a whole number >= 0, got ${limit}`);
  const sql =
    `SELECT ${select.join(', ')} FROM training_runs r WHERE ` +
    `${options.includeDeleted ? '' : 'r.deleted_at IS NULL AND '}${where.sql}` +
    ` ORDER BY ${orderSql.join(', ')}${orderSql.length ? ', ' : ''}r.run_id LIMIT ${limit}`;
  const columns = star ? [] : columnFields.map(fieldLabel);
  return { sql, params, columns };
}

export async function findRuns(store: RunStore, options: FindRunsOptions = {}): Promise<Row[]> {
  const q = await compileRunQuery(store, options);
  return store.all(q.sql, q.params);
}

export async function explainRuns(store: RunStore, options: FindRunsOptions = {}): Promise<{ sql: string; params: SqlValue[]; plan: string[] }> {
  const q = await compileRunQuery(store, options);
  return { sql: q.sql, params: q.params, plan: await store.explain(q.sql, q.params) };
}

function parseOrder(text: string): { field: FieldRef; desc: boolean } {
  let t = text.trim();
  let desc = false;
  if (t.startsWith('-')) {
    desc = true;
    t = t.slice(1);
  } else if (t.startsWith('+')) t = t.slice(1);
  const m = /^(.*?)\s+(asc|desc)$/i.exec(t);
  if (m) {
    t = m[1]!;
    desc = m[2]!.toLowerCase() === 'desc';
  }
  return { field: parseField(t), desc };
}
