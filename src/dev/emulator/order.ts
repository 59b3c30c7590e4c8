/**
 * W&B's `order` argument: "+created_at" (default), "-heartbeat_at", "+config.<key>.value",
 * "-summary_metrics.<key>", ... Values of different types sort by a fixed type rank (missing/null first
 * when ascending, as in MongoDB); ties break on the run name so paging is deterministic.
 */
import { badArgument } from './errors.js';
import type { FieldSpec, RunDoc } from './fields.js';
import { lookup, MISSING, parseFieldKey } from './fields.js';

export interface OrderSpec {
  direction: 1 | -1;
  field: FieldSpec;
}

export const DEFAULT_ORDER = '+created_at';

export function parseOrder(order: string | null | undefined): OrderSpec {
  const text = (order ?? '').trim() || DEFAULT_ORDER;
  const sign = text[0];
  const direction = sign === '-' ? -1 : 1;
  const key = sign === '-' || sign === '+' ? text.slice(1) : text;
  try {
    return { direction, field: parseFieldKey(key) };
  } catch {
    throw badArgument(`unsupported order "${text}"`);
  }
}

function typeRank(v: unknown): number {
  if (v === MISSING || v === null || v === undefined) return 0;
  switch (typeof v) {
    case 'number':
      return 1;
    case 'string':
      return 2;
    case 'boolean':
      return 5;
    default:
      return Array.isArray(v) ? 4 : 3;
  }
}

export function compareValues(a: unknown, b: unknown): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 0) return 0;
  if (ra === 1 || ra === 2 || ra === 5)
    return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
  const sa = JSON.stringify(a);
  const sb = JSON.stringify(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** Sorts docs in place by the order spec, then by name. */
export function sortDocs(docs: RunDoc[], spec: OrderSpec): RunDoc[] {
  const keys = new Map<RunDoc, unknown>();
  for (const d of docs) keys.set(d, lookup(d, spec.field));
  return docs.sort((x, y) => {
    const c = compareValues(keys.get(x), keys.get(y)) * spec.direction;
    if (c !== 0) return c;
    return x.node.name < y.node.name ? -1 : x.node.name > y.node.name ? 1 : 0;
  });
}
