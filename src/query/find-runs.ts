import type { SqlValue } from '../core/columns.js';
import { TraindbError } from '../core/errors.js';
import type { Row, RunStore } from '../db/store.js';
import type { FieldRef, FilterExpr } from './filter/ast.js';
import { mongoToFilter } from './filter/mongo.js';
import { InternalFilter } from './filter/internal.js';
import { parseFilter } from './filter/parser.js';
import { compileFilter, type Keyset } from './compile-filter.js';
import { fieldLabel, fieldValueSql, parseField } from './field-sql.js';
import { attributeRef, collectFields, columnName, resolveFields } from './resolve-fields.js';
import { OBJECTIVE_STAT_COLUMNS } from '../core/normalize/objectives.js';
import {
  afterCondition,
  bindValue,
  cursorValuesOf,
  decodeCursor,
  encodeCursor,
  queryKey,
  typedValueSql,
  type CursorValue,
  type KeyExpr,
  type Position,
} from './keyset-cursor.js';

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

const DEFAULT_ORDER: readonly string[] = ['-created_at'];

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
  /** How many rows findRuns returns: the first 100 unless given. */
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

interface PagedQuery extends CompiledQuery {
  /** The statement reading a run's sort values for a cursor (see keyset-cursor.ts). */
  positionOf: (runId: string) => QueryStep;
  orderKeys: OrderKey[];
}

/** Text is parsed, anything else from a caller is a Mongo object (null, numbers, arrays are INVALID_FILTER). */
export function toFilterExpr(where: unknown): { expr: FilterExpr; text: string } {
  if (where === undefined) return { expr: { kind: 'and', items: [] }, text: '' };
  if (typeof where === 'string') return { expr: parseFilter(where), text: where };
  if (InternalFilter.is(where)) return { expr: where.expr, text: '' };
  return { expr: mongoToFilter(where), text: '' };
}

/** Builds the SQL for a run query after checking every field against the database. */
export async function compileRunQuery(store: RunStore, options: FindRunsOptions = {}): Promise<CompiledQuery> {
  return compileRunQueryAt(store, options, undefined);
}

/** The name of the hidden result column that carries each row's run_id while paging. */
const CURSOR_RUN_ID = '__traindb_cursor_run_id';

/**
 * compileRunQuery, optionally for the rows after a cursor position: each step's WHERE then also keeps only
 * rows after it, and the select list carries the run_id (as CURSOR_RUN_ID) for the next cursor.
 * Without a position the SQL is exactly the first page's.
 */
async function compileRunQueryAt(
  store: RunStore,
  options: FindRunsOptions,
  paging: { after: Position | null } | undefined,
): Promise<PagedQuery> {
  const position = paging?.after ?? undefined;
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
  const orderKeys = (options.order ?? DEFAULT_ORDER).map(parseOrder);
  const fields: FieldRef[] = [...collectFields(expr), ...columnFields, ...orderKeys.map((o) => o.field)];
  const ctx = await resolveFields(store, fields, text);
  const limit = options.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 0)
    throw new TraindbError('INVALID_INPUT', `limit must be a whole number >= 0, got ${limit}`);

  const selectParams: SqlValue[] = [];
  const select =
    (star
      ? 'r.*'
      : columnFields
          .map((f) => `${fieldValueSql(f, ctx, text, selectParams)} AS "${fieldLabel(f).replace(/"/g, '""')}"`)
          .join(', ')) + (paging ? `, r.run_id AS "${CURSOR_RUN_ID}"` : '');
  // Rows after the cursor: `(sql, params)` to AND to a step's WHERE, for the given sort key expressions.
  const afterTerm = (keys: readonly KeyExpr[], values: readonly CursorValue[]) => {
    const params: SqlValue[] = [];
    return { sql: position ? ` AND ${afterCondition(keys, values, position.runId, params)}` : '', params };
  };
  const keyExpr = (o: OrderKey): KeyExpr => ({
    sql: (p: SqlValue[]) => fieldValueSql(o.field, ctx, text, p),
    desc: o.desc,
  });
  // The sort values of one run, read exactly (typed), for the cursor after it.
  const positionOf = (runId: string): QueryStep => {
    const params: SqlValue[] = [];
    const list = orderKeys.map((o, i) => typedValueSql(keyExpr(o).sql, params, i));
    params.push(runId);
    return { sql: `SELECT ${list.join(', ')} FROM training_runs r WHERE r.run_id = ?`, params };
  };
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
    // The order is (value NULLS LAST, rest, run_id): ranked rows have a value, unranked rows none. A cursor
    // on a ranked row continues within the ranked rows, then all unranked rows; one on an unranked row
    // (value null) continues within the unranked rows only.
    const firstValue = position?.values[0] ?? null;
    const restValues = position?.values.slice(1) ?? [];
    const rankedAfter = afterTerm(
      [{ sql: () => `ok.${stat}`, desc: first.desc }, ...rest.map(keyExpr)],
      position?.values ?? [],
    );
    // Redundant with rankedAfter, but a range the objective index can seek to instead of walking from its start.
    const seek =
      firstValue !== null
        ? ` AND ok.${stat} ${first.desc ? '<=' : '>='} ${bindValue(firstValue, rankedAfter.params)}`
        : '';
    const unrankedAfter =
      position && firstValue === null ? afterTerm(rest.map(keyExpr), restValues) : { sql: '', params: [] };
    const rankedParams: SqlValue[] = [first.field.name, ...where.params, ...rankedAfter.params];
    const ranked =
      `SELECT ok.run_key AS k, ok.${stat} AS v FROM run_objectives ok CROSS JOIN training_runs r ON r.run_key = ok.run_key ` +
      `WHERE ok.objective_name = ? AND ok.${stat} IS NOT NULL AND ${live}${where.sql}${rankedAfter.sql}${seek} ` +
      `ORDER BY ${orderTerm(`ok.${stat}`, first.desc)}, ${orderBy(rest, rankedParams)}`;
    const rankedOuter: SqlValue[] = [];
    const rankedOrder = `${orderTerm('top.v', first.desc)}, ${orderBy(rest, rankedOuter)}`;
    const unrankedParams: SqlValue[] = [...where.params, ...unrankedAfter.params, first.field.name];
    const unranked =
      `SELECT r.run_key AS k FROM training_runs r WHERE ${live}${where.sql}${unrankedAfter.sql} AND r.run_key NOT IN ` +
      `(SELECT run_key FROM run_objectives WHERE objective_name = ? AND ${stat} IS NOT NULL) ORDER BY ${orderBy(rest, unrankedParams)}`;
    const unrankedOuter: SqlValue[] = [];
    const unrankedOrder = orderBy(rest, unrankedOuter);
    const rankedDirect: SqlValue[] = [...selectParams, first.field.name, ...where.params, ...rankedAfter.params];
    const rankedDirectSql =
      `SELECT ${select} FROM run_objectives ok CROSS JOIN training_runs r ON r.run_key = ok.run_key ` +
      `WHERE ok.objective_name = ? AND ok.${stat} IS NOT NULL AND ${live}${where.sql}${rankedAfter.sql}${seek} ` +
      `ORDER BY ${orderTerm(`ok.${stat}`, first.desc)}, ${orderBy(rest, rankedDirect)}`;
    const unrankedDirect: SqlValue[] = [...selectParams, ...where.params, ...unrankedAfter.params, first.field.name];
    const unrankedDirectSql =
      `SELECT ${select} FROM training_runs r WHERE ${live}${where.sql}${unrankedAfter.sql} AND r.run_key NOT IN ` +
      `(SELECT run_key FROM run_objectives WHERE objective_name = ? AND ${stat} IS NOT NULL) ORDER BY ${orderBy(rest, unrankedDirect)}`;
    const rankedStep = step(ranked, rankedParams, rankedOrder, rankedOuter, {
      sql: rankedDirectSql,
      params: rankedDirect,
    });
    const unrankedStep = step(unranked, unrankedParams, unrankedOrder, unrankedOuter, {
      sql: unrankedDirectSql,
      params: unrankedDirect,
    });
    return {
      steps: position && firstValue === null ? [unrankedStep] : [rankedStep, unrankedStep],
      limit,
      columns,
      positionOf,
      orderKeys,
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
  const build = (after: { sql: string; params: SqlValue[] }): ((n: number) => QueryStep) => {
    const innerParams: SqlValue[] = [...where.params, ...after.params];
    const inner = `SELECT r.run_key AS k FROM training_runs r WHERE ${live}${innerWhere}${after.sql} ORDER BY ${orderBy(orderKeys, innerParams)}`;
    const outerParams: SqlValue[] = [];
    const outerOrder = orderBy(orderKeys, outerParams);
    const directParams: SqlValue[] = [...selectParams, ...where.params, ...after.params];
    const directSql = `SELECT ${select} FROM training_runs r WHERE ${live}${where.sql}${after.sql} ORDER BY ${orderBy(orderKeys, directParams)}`;
    return step(inner, innerParams, outerOrder, outerParams, { sql: directSql, params: directParams });
  };
  const after = afterTerm(orderKeys.map(keyExpr), position?.values ?? []);
  const firstValue = position?.values[0] ?? null;
  let steps = [build(after)];
  if (position && firstValue !== null && first?.field.scope === 'column' && !attributeRef(first.field)) {
    // After a row with a value in a plain column, the rest is: the rows from that value on (a range the
    // column's index can seek to, rather than walking from its start on every page), then the NULLs.
    const column = `r.${columnName(first.field, text)}`;
    const seek = { sql: `${after.sql} AND ${column} ${first.desc ? '<=' : '>='} `, params: [...after.params] };
    seek.sql += bindValue(firstValue, seek.params);
    steps = [build(seek), build({ sql: ` AND ${column} IS NULL`, params: [] })];
  }
  return { steps, limit, columns, positionOf, orderKeys };
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

/**
 * The first `limit` matches (default 100) as one array, in order. For every match use findAllRuns or
 * iterateRuns; for pages with a cursor, findRunsPage.
 */
export async function findRuns(store: RunStore, options: FindRunsOptions = {}): Promise<Row[]> {
  return runSteps(store, await compileRunQuery(store, options));
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
  /** Rows per page (default 100). */
  limit?: number;
  /** The `next` of the previous page; absent or null for the first page. */
  after?: string | null;
}

/**
 * One page of matches: at most `limit` rows, and a cursor for the rest. Following `next` until it is null
 * visits every match exactly once, in order (as of each page's reading: a run whose sort values change
 * between pages may move past the cursor or behind it).
 *
 * The cursor is a keyset: the last row's sort values and run_id, so a page costs the same wherever it
 * starts, and runs written between pages neither shift nor repeat the rest. It is bound to the query's
 * filter, order and includeDeleted; passing it to another query is an INVALID_INPUT error.
 */
export async function findRunsPage(store: RunStore, options: FindRunsPageOptions = {}): Promise<RunPage> {
  const limit = options.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1)
    throw new TraindbError('INVALID_INPUT', `page size must be a whole number >= 1, got ${limit}`);
  const key = pagingKey(options);
  const orderCount = (options.order ?? DEFAULT_ORDER).length;
  const after = options.after ? decodeCursor(options.after, key, orderCount) : null;
  // One row more than the page tells whether another page follows.
  const q = await compileRunQueryAt(store, { ...options, limit: limit + 1 }, { after });
  const rows = await runSteps(store, q);
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  let next: string | null = null;
  if (more) {
    const { sql, params } = q.positionOf(String(page[page.length - 1]![CURSOR_RUN_ID]));
    const [found] = await store.all(sql, params);
    if (!found)
      throw new TraindbError('UNAVAILABLE', 'a run vanished while its page was read; retry', { transient: true });
    next = encodeCursor(key, {
      values: cursorValuesOf(found, q.orderKeys.length),
      runId: String(page.at(-1)![CURSOR_RUN_ID]),
    });
  }
  for (const row of page) delete row[CURSOR_RUN_ID];
  return { rows: page, columns: q.columns, next };
}

/**
 * Every match, page by page (each page one bounded query), up to `limit` rows in all when given.
 * Memory stays at one page whatever the number of matches.
 */
export async function* iterateRuns(
  store: RunStore,
  options: FindRunsOptions & { pageSize?: number } = {},
): AsyncGenerator<RunPage> {
  const { pageSize = ITERATE_PAGE_SIZE, limit, ...query } = options;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0))
    throw new TraindbError('INVALID_INPUT', `limit must be a whole number >= 0, got ${limit}`);
  let remaining = limit ?? Infinity;
  let after: string | null = null;
  while (remaining > 0) {
    const page = await findRunsPage(store, { ...query, limit: Math.min(pageSize, remaining), after });
    remaining -= page.rows.length;
    yield page;
    if (page.next === null) return;
    after = page.next;
  }
}

/** Every match as one array, read page by page. */
export async function findAllRuns(store: RunStore, options: Omit<FindRunsOptions, 'limit'> = {}): Promise<Row[]> {
  let rows: Row[] = [];
  for await (const page of iterateRuns(store, options)) rows = rows.concat(page.rows);
  return rows;
}

/** The page size of iterateRuns: the largest a page's late materialization serves. */
export const ITERATE_PAGE_SIZE = 999;

async function runSteps(store: RunStore, q: CompiledQuery): Promise<Row[]> {
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

/** What a cursor is bound to: the filter, the order (as parsed) and includeDeleted. */
function pagingKey(options: FindRunsOptions): string {
  const where =
    options.where === undefined || typeof options.where === 'string' ? (options.where ?? '') : options.where;
  const order = (options.order ?? DEFAULT_ORDER).map((o) => {
    const { field, desc } = parseOrder(o);
    return [fieldLabel(field), desc];
  });
  return queryKey([where, order, options.includeDeleted === true]);
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
