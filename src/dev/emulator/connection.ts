/**
 * Relay connections over an in-memory list with W&B's offset cursors: `after`/`before` cursors and
 * `first`/`last` counts, at most `maxPageSize` items per page (the same rule the runs connection uses).
 */
import { cursorToOffset, offsetToCursor } from './cursors.js';
import { badArgument } from './errors.js';

export interface ConnectionArgs {
  after?: string | null;
  before?: string | null;
  first?: number | null;
  last?: number | null;
}

export interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

export function decodeCursor(cursor: string, argName: string): number {
  const offset = cursorToOffset(cursor);
  if (offset === undefined) throw badArgument(`invalid cursor for "${argName}": ${cursor}`);
  return offset;
}

export function checkCounts(args: ConnectionArgs): void {
  if (args.first != null && args.first < 0) throw badArgument('first must be non-negative');
  if (args.last != null && args.last < 0) throw badArgument('last must be non-negative');
}

/** The page of `all` the arguments select, as edges with cursors and a pageInfo. */
export function sliceConnection<T, N>(
  all: readonly T[],
  args: ConnectionArgs,
  maxPageSize: number,
  toNode: (item: T) => N,
): { edges: { node: N; cursor: string }[]; pageInfo: PageInfo; start: number } {
  checkCounts(args);
  let start = args.after ? decodeCursor(args.after, 'after') + 1 : 0;
  let end = all.length;
  if (args.before) end = Math.min(end, decodeCursor(args.before, 'before'));
  start = Math.min(start, all.length);
  if (args.first != null) end = Math.min(end, start + Math.min(args.first, maxPageSize));
  else if (args.last == null) end = Math.min(end, start + maxPageSize);
  if (args.last != null) start = Math.max(start, end - Math.min(args.last, maxPageSize));
  end = Math.max(start, end);
  const edges = all.slice(start, end).map((item, i) => ({ node: toNode(item), cursor: offsetToCursor(start + i) }));
  return {
    start,
    edges,
    pageInfo: {
      hasNextPage: end < all.length,
      hasPreviousPage: start > 0,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
  };
}
