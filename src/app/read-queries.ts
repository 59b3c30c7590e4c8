import { TraindbError } from '../core/errors.js';
import type { RunStore } from '../db/store.js';
import { compareGroups } from '../query/compare.js';
import { countRuns, findRunsPage, MAX_COLUMNS, type FindRunsOptions } from '../query/find-runs.js';

/** Rows per page when none is asked for, and the most one page may hold (bounds memory and time per request). */
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;
/** The most result columns one query may ask for (the query layer's own limit). */
export { MAX_COLUMNS };

/**
 * A filter as it crosses a thread boundary: the filter language's text, or a Mongo object still as JSON
 * text (parsed on the far side, so keys such as `__proto__` stay plain data whatever structured clone does).
 */
export type FilterInput = { text: string } | { mongo: string } | undefined;

export interface RunsPageRequest {
  filter?: FilterInput;
  columns?: string[];
  order?: string[];
  /** 1..MAX_PAGE_SIZE; DEFAULT_PAGE_SIZE when absent. */
  limit?: number;
  /** The `next` of a previous page. */
  after?: string;
  includeDeleted?: boolean;
}

export interface RunsPageAnswer {
  runs: Array<Record<string, unknown>>;
  /** Rows in this page. */
  count: number;
  /** Every match of the filter, across all pages. */
  total: number;
  /** Cursor of the following page, or null on the last one. */
  next: string | null;
}

export interface CompareRequest {
  by: string;
  objective?: string;
  metric?: string;
  filter?: FilterInput;
  includeDeleted?: boolean;
}

export type ReadRequest = { op: 'runsPage'; request: RunsPageRequest } | { op: 'compare'; request: CompareRequest };

/** One page of runs plus the total number of matches. */
export async function readRunsPage(store: RunStore, request: RunsPageRequest): Promise<RunsPageAnswer> {
  const limit = request.limit ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new TraindbError(
      'INVALID_INPUT',
      `a page holds 1 to ${MAX_PAGE_SIZE} runs, asked for ${limit}; follow the page cursor for more`,
      { details: { limit, max: MAX_PAGE_SIZE } },
    );
  }
  if ((request.columns?.length ?? 0) > MAX_COLUMNS) {
    throw new TraindbError(
      'INVALID_INPUT',
      `at most ${MAX_COLUMNS} columns per query, asked for ${request.columns!.length}`,
      { details: { columns: request.columns!.length, max: MAX_COLUMNS } },
    );
  }
  const where = filterOf(request.filter);
  const options = {
    ...(where === undefined ? {} : { where }),
    ...(request.columns ? { columns: request.columns } : {}),
    ...(request.order ? { order: request.order } : {}),
    includeDeleted: request.includeDeleted ?? false,
  };
  const page = await findRunsPage(store, { ...options, limit, after: request.after ?? null });
  const total = await countRuns(store, {
    ...(where === undefined ? {} : { where }),
    includeDeleted: options.includeDeleted,
  });
  return { runs: page.rows, count: page.rows.length, total, next: page.next };
}

export async function readCompare(store: RunStore, request: CompareRequest): ReturnType<typeof compareGroups> {
  const where = filterOf(request.filter);
  return compareGroups(store, {
    by: request.by,
    ...(request.objective ? { objective: request.objective } : {}),
    ...(request.metric ? { metric: request.metric } : {}),
    ...(where === undefined ? {} : { where }),
    includeDeleted: request.includeDeleted ?? false,
  });
}

/** Answers one read request as JSON text (what a door sends as is). */
export async function answerRead(store: RunStore, read: ReadRequest): Promise<string> {
  const value =
    read.op === 'runsPage' ? await readRunsPage(store, read.request) : await readCompare(store, read.request);
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v));
}

/** The filter for the query layer: text as is, a Mongo object parsed here and required to be an object. */
export function filterOf(filter: FilterInput): FindRunsOptions['where'] {
  if (filter === undefined) return undefined;
  if ('text' in filter) return filter.text;
  let parsed: unknown;
  try {
    parsed = JSON.parse(filter.mongo);
  } catch (error) {
    throw new TraindbError('INVALID_FILTER', `the Mongo filter is not JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new TraindbError('INVALID_FILTER', `a Mongo filter is a JSON object, got ${describe(parsed)}`);
  return parsed as Record<string, unknown>;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const text = JSON.stringify(value);
  return `${typeof value} ${text.length > 40 ? `${text.slice(0, 40)}…` : text}`;
}
