import type { SqlValue } from '../core/columns.js';
import { TraindbError } from '../core/errors.js';
import type { Row, RunStore } from '../db/store.js';
import type { FieldRef, FilterExpr } from './filter/ast.js';
import { mongoToFilter } from './filter/mongo.js';
import { InternalFilter } from './filter/internal.js';
import { parseFilter } from './filter/parser.js';
import { compileFilter, type Keyset } from './compile-filter.js';
import { fieldLabel, fieldValueSql, parseField } from './field-sql.js';
import { collectFields, columnName, resolveFields } from './resolve-fields.js';
import { OBJECTIVE_STAT_COLUMNS } from '../core/normalize/objectives.js';

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
  /**
   * The filter: text in traindb's language or a W&B-style Mongo object. (traindb's own code may pass a
   * tree wrapped by `internalFilter`; a plain object is always read as Mongo, never as a tree.)
   */
  where?: string | Record<string, unknown> | InternalFilter;
  /** Result columns: any field (`batch_size`, `config.training.max_steps`, `objective.QED`), or `*` for every run column. */
  columns?: readonly string[];
  /** Sort keys: a field, optionally prefixed with `-` or followed by ` desc`. */
  order?: readonly string[];
  limit?: number;
  /** Include runs marked deleted in W&B (hidden by default). */
  includeDeleted?: boolean;
}

/** One SQL statement of a query plan, for a given row limit. */
export interface QueryStep {
  sql: string;
  params: SqlValue[];
}

export interface CompiledQuery {
  /** Run in order, each asked for the rows still missing, until the limit is reached; most queries have one step. */
  steps: Array<(limit: number) => QueryStep>;
  limit: number;
  columns: string[];
}

type OrderKey = { field: FieldRef; desc: boolean };

/** Text is parsed, anything else from a caller is a Mongo object (null, numbers, arrays are INVALID_FILTER). */
export function toFilterExpr(where: unknown): { expr: FilterExpr; text: string } {
  if (where === undefined) return { expr: { kind: 'and', items: [] }, text: '' };
  if (typeof where === 'string') return { expr: parseFilter(where), text: where };
  if (InternalFilter.is(where)) return { expr: where.expr, text: '' };
  return { expr: mongoToFilter(where), text: '' };
}

/** Builds the SQL for a run query after checking every field against the database. */
export async function compileRunQuery(store: RunStore, options: FindRunsOptions = {}): Promise<CompiledQuery> {
  const { expr, text } = toFilterExpr(options.where);
  const star = options.columns?.includes('*');
  for (const [what, list, max] of [
    ['columns', options.columns, MAX_COLUMNS],
    ['sort keys', options.order, MAX_SORT_KEYS],
  ] as const) {
    if (list && list.length > max) {
      throw new TraindbError('INVALID_INPUT', `${list.length} ${what} asked for; at most ${max} are accepted`, {
        details: { limit: max },
      });
    }
  }
  const columnFields = star
    ? []
    : (options.columns?.length ? options.columns : DEFAULT_COLUMNS).map((c) => parseField(c));
  const orderKeys = (options.order ?? ['-created_at']).map(parseOrder);
  const fields: FieldRef[] = [...collectFields(expr), ...columnFields, ...orderKeys.map((o) => o.field)];
  const ctx = await resolveFields(store, fields, text);
  const limit = options.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 0)
    throw new TraindbError('INVALID_INPUT', `limit must be a whole number >= 0, got ${limit}`);

  const selectParams: SqlValue[] = [];
  const select = star
    ? 'r.*'
    : columnFields
        .map((f) => `${fieldValueSql(f, ctx, text, selectParams)} AS "${fieldLabel(f).replace(/"/g, '""')}"`)
        .join(', ');
  const where = compileFilter(expr, ctx, text);
  const live = options.includeDeleted ? '' : 'r.deleted_at IS NULL AND ';
  const orderBy = (keys: readonly OrderKey[], params: SqlValue[]): string =>
    [...keys.map((o) => orderTerm(fieldValueSql(o.field, ctx, text, params), o.desc)), 'r.run_id'].join(', ');
  const columns = star ? [] : columnFields.map(fieldLabel);

  /**
   * Late materialization for small limits: the inner query finds and orders run keys using indexes
   * only; result columns (which may need the run's row or JSON) are computed for the rows that survive,
   * not for every match. For large limits the join costs more than it saves, and the plain form runs.
   * `inner` selects `k` (run_key) and optionally `v` (a precomputed first sort value).
   */
  // No run key exceeds max(run_key), so a limit at or above it cannot cut the result: it is left out, as
  // SQLite's bounded sorter for `LIMIT n` cost 3.5 ms more than a plain sort on 4,302 rows at 100K runs.
  const maxRunKey = Number((await store.all('SELECT coalesce(max(run_key), 0) AS n FROM training_runs'))[0]?.['n']);
  const limitClause = (n: number): string => (n >= maxRunKey ? '' : ` LIMIT ${n}`);
  const step =
    (inner: string, innerParams: SqlValue[], outerOrder: string, outerParams: SqlValue[], direct: QueryStep) =>
    (n: number): QueryStep =>
      n > LATE_MATERIALIZATION_LIMIT
        ? { sql: `${direct.sql}${limitClause(n)}`, params: direct.params }
        : {
            sql: `SELECT ${select} FROM (${inner} LIMIT ${n}) AS top JOIN training_runs r ON r.run_key = top.k ORDER BY ${outerOrder}`,
            params: [...selectParams, ...innerParams, ...outerParams],
          };

  const [first, ...rest] = orderKeys;
  if (first?.field.scope === 'objective' && isColumnStat(first.field.stat)) {
    // A leaderboard: walk idx_obj_name in value order and stop at the limit, instead of computing the
    // value for every run and sorting (CROSS JOIN keeps the objective rows as the outer loop). Runs without a value come after, in a second step if needed.
    const stat = first.field.stat;
    const rankedParams: SqlValue[] = [first.field.name, ...where.params];
    const ranked =
      `SELECT ok.run_key AS k, ok.${stat} AS v FROM run_objectives ok CROSS JOIN training_runs r ON r.run_key = ok.run_key ` +
      `WHERE ok.objective_name = ? AND ok.${stat} IS NOT NULL AND ${live}${where.sql} ` +
      `ORDER BY ${orderTerm(`ok.${stat}`, first.desc)}, ${orderBy(rest, rankedParams)}`;
    const rankedOuter: SqlValue[] = [];
    const rankedOrder = `${orderTerm('top.v', first.desc)}, ${orderBy(rest, rankedOuter)}`;
    const unrankedParams: SqlValue[] = [...where.params, first.field.name];
    const unranked =
      `SELECT r.run_key AS k FROM training_runs r WHERE ${live}${where.sql} AND r.run_key NOT IN ` +
      `(SELECT run_key FROM run_objectives WHERE objective_name = ? AND ${stat} IS NOT NULL) ORDER BY ${orderBy(rest, unrankedParams)}`;
    const unrankedOuter: SqlValue[] = [];
    const unrankedOrder = orderBy(rest, unrankedOuter);
    const rankedDirect: SqlValue[] = [...selectParams, first.field.name, ...where.params];
    const rankedDirectSql =
      `SELECT ${select} FROM run_objectives ok CROSS JOIN training_runs r ON r.run_key = ok.run_key ` +
      `WHERE ok.objective_name = ? AND ok.${stat} IS NOT NULL AND ${live}${where.sql} ` +
      `ORDER BY ${orderTerm(`ok.${stat}`, first.desc)}, ${orderBy(rest, rankedDirect)}`;
    const unrankedDirect: SqlValue[] = [...selectParams, ...where.params, first.field.name];
    const unrankedDirectSql =
      `SELECT ${select} FROM training_runs r WHERE ${live}${where.sql} AND r.run_key NOT IN ` +
      `(SELECT run_key FROM run_objectives WHERE objective_name = ? AND ${stat} IS NOT NULL) ORDER BY ${orderBy(rest, unrankedDirect)}`;
    return {
      steps: [
        step(ranked, rankedParams, rankedOrder, rankedOuter, { sql: rankedDirectSql, params: rankedDirect }),
        step(unranked, unrankedParams, unrankedOrder, unrankedOuter, {
          sql: unrankedDirectSql,
          params: unrankedDirect,
        }),
      ],
      limit,
      columns,
    };
  }
  // A first page of a broad filter: rather than look up and sort every match (94 ms for 46,000 matches
  // at 100K runs), walk the runs in the index order of the sort column and keep those in the key set,
  // which stops after the page (28 ms). For a selective filter that walk would pass most runs in vain
  // (0.9 → 39 ms), hence the capped count first. `+` keeps SQLite from answering the IN by run_key.
  // Only descending: an ascending order puts NULLs last, which no SQLite index is stored in.
  const walkable =
    first?.desc === true && first.field.scope === 'column' && INDEX_ORDERED.has(columnName(first.field, text));
  // A compound key set (INTERSECT/UNION) is not estimated: counting it costs as much as answering it.
  const single = where.keyset && !where.keyset.compound ? where.keyset : undefined;
  const broad =
    single && walkable && limit <= LATE_MATERIALIZATION_LIMIT ? await isBroad(store, single, maxRunKey) : false;
  // Same parameters as where.sql: for a key set the whole filter is `r.run_key IN (<keyset>)`.
  const innerWhere = broad && single ? `+r.run_key IN (${single.sql})` : where.sql;
  const innerParams: SqlValue[] = [...where.params];
  const inner = `SELECT r.run_key AS k FROM training_runs r WHERE ${live}${innerWhere} ORDER BY ${orderBy(orderKeys, innerParams)}`;
  const outerParams: SqlValue[] = [];
  const outerOrder = orderBy(orderKeys, outerParams);
  const directParams: SqlValue[] = [...selectParams, ...where.params];
  const directSql = `SELECT ${select} FROM training_runs r WHERE ${live}${where.sql} ORDER BY ${orderBy(orderKeys, directParams)}`;
  return {
    steps: [step(inner, innerParams, outerOrder, outerParams, { sql: directSql, params: directParams })],
    limit,
    columns,
  };
}

/** Result columns per query; SQLite answers at most 2,000, and no table is read with more. */
export const MAX_COLUMNS = 1000;
const MAX_SORT_KEYS = 100;

/** Above this many rows a query selects its columns directly instead of through late materialization. */
const LATE_MATERIALIZATION_LIMIT = 1000;

/** Run columns with an index of their own (the seed's), which a first page can be read in the order of. */
const INDEX_ORDERED: ReadonlySet<string> = new Set([
  'created_at',
  'status',
  'gradient_method',
  'host',
  'batch_size',
  'learning_rate',
]);

/** Whether a key set holds at least 5% of the runs, counting no further than that. */
async function isBroad(store: RunStore, keyset: Keyset, maxRunKey: number): Promise<boolean> {
  const threshold = Math.max(1, Math.ceil(maxRunKey * 0.05));
  const rows = await store.all(`SELECT count(*) AS n FROM (${keyset.sql} LIMIT ${threshold})`, keyset.params);
  return Number(rows[0]?.['n']) >= threshold;
}

/**
 * NULLs last in both directions, written so an index can still serve the order: SQLite sorts NULLs
 * first, so DESC already puts them last, and ASC says NULLS LAST.
 */
function orderTerm(sql: string, desc: boolean): string {
  return desc ? `${sql} DESC` : `${sql} ASC NULLS LAST`;
}

function isColumnStat(stat: string): boolean {
  return (OBJECTIVE_STAT_COLUMNS as readonly string[]).includes(stat);
}

export async function findRuns(store: RunStore, options: FindRunsOptions = {}): Promise<Row[]> {
  const q = await compileRunQuery(store, options);
  let rows: Row[] = [];
  for (const step of q.steps) {
    if (rows.length >= q.limit) break;
    const { sql, params } = step(q.limit - rows.length);
    // concat, not push(...): spreading ~150,000 rows as arguments overflows the stack.
    rows = rows.concat(await store.all(sql, params));
  }
  // A step may leave out a LIMIT it judged unable to cut the result (see maxRunKey): the limit still holds.
  return rows.length > q.limit ? rows.slice(0, q.limit) : rows;
}

export async function explainRuns(
  store: RunStore,
  options: FindRunsOptions = {},
): Promise<{ sql: string; params: SqlValue[]; plan: string[] }> {
  const q = await compileRunQuery(store, options);
  const steps = q.steps.map((step) => step(q.limit));
  const plans = await Promise.all(steps.map((s) => store.explain(s.sql, s.params)));
  return {
    sql: steps.map((s) => s.sql).join('\n-- then, while fewer rows than the limit:\n'),
    params: steps.flatMap((s) => s.params),
    plan: plans.flatMap((p, i) => (steps.length > 1 ? [`-- step ${i + 1}`, ...p] : p)),
  };
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

/** One page of a run query. */
export interface RunPage {
  rows: Row[];
  /** The result columns, in order (empty for `*`: every run column). */
  columns: string[];
  /** Opaque cursor for the page after this one (pass it as `after`), or null on the last page. */
  next: string | null;
}

export interface FindRunsPageOptions extends FindRunsOptions {
  /** The `next` of the previous page; absent or null for the first page. */
  after?: string | null;
}

/**
 * One page of matches: at most `limit` rows, and a cursor for the rest. Following `next` until it is null
 * visits every match exactly once, in order.
 */
// Interface first; the cursor is an offset for now and becomes a keyset cursor (sort values + run_id).
export async function findRunsPage(store: RunStore, options: FindRunsPageOptions = {}): Promise<RunPage> {
  const limit = options.limit ?? 100;
  const offset = decodeCursor(options.after);
  const q = await compileRunQuery(store, { ...options, limit: offset + limit + 1 });
  const rows = await findRuns(store, { ...options, limit: offset + limit + 1 });
  const page = rows.slice(offset, offset + limit);
  const more = rows.length > offset + limit;
  return { rows: page, columns: q.columns, next: more ? encodeCursor(offset + limit) : null };
}

/** How many runs match a filter (no limit). */
export async function countRuns(
  store: RunStore,
  options: Pick<FindRunsOptions, 'where' | 'includeDeleted'> = {},
): Promise<number> {
  const { expr, text } = toFilterExpr(options.where);
  const ctx = await resolveFields(store, collectFields(expr), text);
  const where = compileFilter(expr, ctx, text);
  const live = options.includeDeleted ? '' : 'r.deleted_at IS NULL AND ';
  const rows = await store.all(`SELECT count(*) AS n FROM training_runs r WHERE ${live}${where.sql}`, where.params);
  return Number(rows[0]?.['n'] ?? 0);
}

function encodeCursor(offset: number): string {
  return Buffer.from(JSON.stringify({ o: offset })).toString('base64url');
}

function decodeCursor(cursor: string | null | undefined): number {
  if (cursor === undefined || cursor === null || cursor === '') return 0;
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { o?: unknown };
    if (typeof value.o === 'number' && Number.isInteger(value.o) && value.o >= 0) return value.o;
  } catch {
    // fall through to the error below
  }
  throw new TraindbError(
    'INVALID_INPUT',
    `not a page cursor: '${cursor.slice(0, 80)}'; pass the 'next' of a previous page`,
  );
}
