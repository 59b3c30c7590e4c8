import type { SqlValue } from '../core/columns.js';
import type { RunStore } from '../db/store.js';
import type { FieldRef } from './filter/ast.js';
import { compileFilter } from './compile-filter.js';
import { fieldLabel, fieldValueSql, parseField } from './field-sql.js';
import { DEFAULT_COLUMNS, toFilterExpr, type FindRunsOptions } from './find-runs.js';
import { collectFields, resolveFields } from './resolve-fields.js';

/** A SQLite storage class a result column holds in at least one matching run. */
export type StorageClass = 'integer' | 'real' | 'text' | 'blob';

export interface ResultColumnTypes {
  /** The result columns, in order (for `*`, every column of training_runs). */
  columns: string[];
  /** Per column, the storage classes of its non-null values over every match (empty: all null). */
  types: Map<string, Set<StorageClass>>;
}

/**
 * The storage classes each result column holds over all matches of a query: one pass, so a typed
 * format (Parquet) can declare its schema before the first row is written.
 */
export async function scanColumnTypes(
  store: RunStore,
  options: Pick<FindRunsOptions, 'where' | 'columns' | 'includeDeleted'>,
): Promise<ResultColumnTypes> {
  const { expr, text, ctx, columns, exprs, params } = await resultColumnsOf(store, options);
  const where = compileFilter(expr, ctx, text);
  const live = options.includeDeleted ? '' : 'r.deleted_at IS NULL AND ';
  const types = new Map<string, Set<StorageClass>>(columns.map((c) => [c, new Set<StorageClass>()]));
  if (columns.length === 0) return { columns, types };
  const list = exprs.map((e, i) => `group_concat(DISTINCT typeof(${e})) AS "c${i}"`).join(', ');
  const [row] = await store.all(`SELECT ${list} FROM training_runs r WHERE ${live}${where.sql}`, [
    ...params,
    ...where.params,
  ]);
  columns.forEach((c, i) => {
    for (const t of String(row?.[`c${i}`] ?? '').split(',')) {
      if (t === 'integer' || t === 'real' || t === 'text' || t === 'blob') types.get(c)!.add(t);
    }
  });
  return { columns, types };
}

/** The labels of a query's result columns (every run column for `*`), with every field checked. */
export async function resultColumns(
  store: RunStore,
  options: Pick<FindRunsOptions, 'where' | 'columns'>,
): Promise<string[]> {
  return (await resultColumnsOf(store, options)).columns;
}

async function resultColumnsOf(store: RunStore, options: Pick<FindRunsOptions, 'where' | 'columns'>) {
  const { expr, text } = toFilterExpr(options.where);
  const star = options.columns?.includes('*');
  const columnFields: FieldRef[] = star
    ? []
    : (options.columns?.length ? options.columns : DEFAULT_COLUMNS).map((c) => parseField(c));
  const ctx = await resolveFields(store, [...collectFields(expr), ...columnFields], text);
  const params: SqlValue[] = [];
  let columns: string[];
  let exprs: string[];
  if (star) {
    const info = await store.all(`SELECT name FROM pragma_table_info('training_runs') ORDER BY cid`);
    columns = info.map((r) => String(r['name']));
    exprs = columns.map((c) => `r."${c.replace(/"/g, '""')}"`);
  } else {
    columns = columnFields.map(fieldLabel);
    exprs = columnFields.map((f) => fieldValueSql(f, ctx, text, params));
  }
  return { expr, text, ctx, columns, exprs, params };
}
