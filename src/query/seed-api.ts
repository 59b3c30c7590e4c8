import { ALL_RUN_COLUMNS } from '../core/columns.js';
import { TraindbError } from '../core/errors.js';
import type { Row, RunStore } from '../db/store.js';
import type { FilterExpr, Scalar } from './filter/ast.js';
import { combine } from './filter/parser.js';
import { findAllRuns, findRuns, type FindRunsOptions } from './find-runs.js';
import { internalFilter } from './filter/internal.js';

/**
 * The seed document's query functions. Filter keys follow its convention:
 * `<column>: value` (or a list of values) is equality, `min_<column>` is `>=`, `max_<column>` is `<=`.
 */
export type RunFilters = Readonly<Record<string, Scalar | readonly Scalar[]>>;

/** Columns (default every run column), order and includeDeleted; `limit` caps the rows, which are all matches unless given. */
export type QueryOptions = Omit<FindRunsOptions, 'where'>;

/** Every match, as the seed's functions return (read page by page), or the first `limit` when given. */
function allOrLimited(store: RunStore, options: FindRunsOptions): Promise<Row[]> {
  return options.limit === undefined ? findAllRuns(store, options) : findRuns(store, options);
}

export function runFiltersToExpr(filters: RunFilters): FilterExpr {
  const items: FilterExpr[] = [];
  for (const [key, value] of Object.entries(filters)) {
    const bound = /^(min|max)_(.+)$/.exec(key);
    const column = bound && bound[2]! in ALL_RUN_COLUMNS ? bound[2]! : key;
    if (!(column in ALL_RUN_COLUMNS)) {
      throw new TraindbError(
        'INVALID_FILTER',
        `unknown filter '${key}': use a training_runs column (e.g. gradient_method), min_<column> or max_<column>`,
      );
    }
    const field = { scope: 'column' as const, name: column, position: 0 };
    if (bound && column !== key) {
      if (typeof value !== 'number')
        throw new TraindbError('INVALID_FILTER', `${key} needs a number, got ${JSON.stringify(value)}`);
      items.push({ kind: 'compare', field, op: bound[1] === 'min' ? '>=' : '<=', value, position: 0 });
    } else if (Array.isArray(value)) {
      items.push({ kind: 'in', field, values: [...(value as Scalar[])], negated: false, position: 0 });
    } else if (value === null) {
      items.push({ kind: 'null', field, negated: false, position: 0 });
    } else {
      items.push({ kind: 'compare', field, op: '=', value: value as Scalar, position: 0 });
    }
  }
  return combine('and', items);
}

/** `queryRuns({gradient_method: 'mgda', min_batch_size: 64, status: 'completed'})` */
export async function queryRuns(store: RunStore, filters: RunFilters = {}, options: QueryOptions = {}): Promise<Row[]> {
  return allOrLimited(store, { columns: ['*'], ...options, where: internalFilter(runFiltersToExpr(filters)) });
}

export interface ObjectiveBounds {
  min?: number;
  max?: number;
  /** Which statistic to bound (default raw_mean, as in the seed). */
  stat?: string;
}

/**
 * `queryRunsByObjectives({COMT_activity: {min: 0.8}, DRD5_activity: {min: 0.7}}, {status: 'completed'})`.
 * Returns runs meeting ALL bounds. As in the seed's example, a non-object entry (`status: 'completed'`)
 * inside the first argument is a run filter.
 */
export async function queryRunsByObjectives(
  store: RunStore,
  objectives: Readonly<Record<string, ObjectiveBounds | Scalar>>,
  filters: RunFilters = {},
  options: QueryOptions = {},
): Promise<Row[]> {
  const items: FilterExpr[] = [];
  const runFilters: Record<string, Scalar | readonly Scalar[]> = { ...filters };
  for (const [name, bounds] of Object.entries(objectives)) {
    if (bounds === null || typeof bounds !== 'object') {
      runFilters[name] = bounds;
      continue;
    }
    const field = { scope: 'objective' as const, name, stat: bounds.stat ?? 'raw_mean', position: 0 };
    if (bounds.min === undefined && bounds.max === undefined) {
      items.push({ kind: 'null', field, negated: true, position: 0 });
    }
    if (bounds.min !== undefined) items.push({ kind: 'compare', field, op: '>=', value: bounds.min, position: 0 });
    if (bounds.max !== undefined) items.push({ kind: 'compare', field, op: '<=', value: bounds.max, position: 0 });
  }
  items.push(runFiltersToExpr(runFilters));
  return allOrLimited(store, { columns: ['*'], ...options, where: internalFilter(combine('and', items)) });
}
