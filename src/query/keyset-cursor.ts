import { createHash } from 'node:crypto';
import type { SqlValue } from '../core/columns.js';
import { TraindbError } from '../core/errors.js';

/**
 * One sort value of a cursor, tagged with its SQLite storage class so it is bound back exactly:
 * integers as decimal text (they may exceed 2^53), reals as JS number text, blobs as hex.
 */
export type CursorValue = null | ['i', string] | ['r', string] | ['s', string] | ['b', string];

/** Where a page ended: the last row's sort values (one per order key) and its run_id. */
export interface Position {
  values: CursorValue[];
  runId: string;
}

/** A sort key as SQL: `sql` appends the expression's parameters to `params` and returns its text. */
export interface KeyExpr {
  sql: (params: SqlValue[]) => string;
  desc: boolean;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * SQL that keeps the rows after `values, runId` in the order `keys..., run_id`, NULLS LAST in both
 * directions: `(k > v OR k IS NULL OR (k = v AND <next keys>))`, with `k IS NULL AND <next keys>` when v
 * is NULL. `+(…)` strips column affinity so comparisons follow SQLite's storage-class order
 * (NULL < numbers < text < blobs), the order ORDER BY sorts in.
 */
export function afterCondition(
  keys: readonly KeyExpr[],
  values: readonly CursorValue[],
  runId: string,
  params: SqlValue[],
): string {
  const build = (i: number): string => {
    if (i === keys.length) {
      params.push(runId);
      return 'r.run_id > ?';
    }
    const key = keys[i]!;
    const value = values[i] ?? null;
    if (value === null) return `(${key.sql(params)} IS NULL AND ${build(i + 1)})`;
    const op = key.desc ? '<' : '>';
    const beyond = `+(${key.sql(params)}) ${op} ${bindValue(value, params)}`;
    const isNull = `${key.sql(params)} IS NULL`;
    const tie = `+(${key.sql(params)}) = ${bindValue(value, params)}`;
    return `(${beyond} OR ${isNull} OR (${tie} AND ${build(i + 1)}))`;
  };
  return build(0);
}

/** The SQL for a cursor value: a `?` with its parameter, or a literal (validated) SQLite cannot take as a JS value. */
export function bindValue(value: Exclude<CursorValue, null>, params: SqlValue[]): string {
  const [tag, text] = value;
  if (tag === 's') {
    params.push(text);
    return '?';
  }
  if (tag === 'r') {
    params.push(Number(text));
    return '?';
  }
  if (tag === 'i') {
    const n = BigInt(text);
    if (n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)) {
      params.push(Number(n));
      return '?';
    }
    return n.toString(); // beyond 2^53 a JS number would round; the literal is exact
  }
  return `x'${text}'`;
}

/** The SQL reading one sort value as a tagged pair: `typeof` and an exact text or number. */
export function typedValueSql(expr: (params: SqlValue[]) => string, params: SqlValue[], i: number): string {
  const t = `typeof(${expr(params)}) AS "t${i}"`;
  const v = `CASE typeof(${expr(params)}) WHEN 'integer' THEN CAST(${expr(params)} AS TEXT) WHEN 'blob' THEN hex(${expr(params)}) ELSE ${expr(params)} END AS "v${i}"`;
  return `${t}, ${v}`;
}

/** Turns a row of `typedValueSql` columns back into cursor values. */
export function cursorValuesOf(row: Record<string, SqlValue>, count: number): CursorValue[] {
  const values: CursorValue[] = [];
  for (let i = 0; i < count; i++) {
    const type = row[`t${i}`];
    const v = row[`v${i}`];
    if (type === 'null' || v === null || v === undefined) values.push(null);
    else if (type === 'integer') values.push(['i', String(v)]);
    else if (type === 'real') values.push(['r', String(Number(v))]);
    else if (type === 'blob') values.push(['b', String(v)]);
    else values.push(['s', String(v)]);
  }
  return values;
}

/** A short hash naming a query (filter, order, deleted runs): a cursor is valid only for the query that made it. */
export function queryKey(parts: unknown): string {
  return hash(JSON.stringify(parts));
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** Opaque text: base64url JSON of the position, the query key and a checksum over both. */
export function encodeCursor(query: string, position: Position): string {
  const body = [query, position.values, position.runId];
  return Buffer.from(
    JSON.stringify({ q: query, k: position.values, id: position.runId, c: hash(JSON.stringify(body)) }),
  ).toString('base64url');
}

export function decodeCursor(cursor: string, query: string, keyCount: number): Position {
  const invalid = (why: string): TraindbError =>
    new TraindbError(
      'INVALID_INPUT',
      `not a page cursor of this query: '${cursor.slice(0, 80)}${cursor.length > 80 ? '…' : ''}' (${why}); ` +
        `pass the 'next' of the previous page of the same query, or leave it out for the first page`,
    );
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid('not base64url JSON');
  }
  if (typeof value !== 'object' || value === null) throw invalid('not a cursor object');
  const { q, k, id, c } = value as Record<string, unknown>;
  if (typeof q !== 'string' || typeof id !== 'string' || typeof c !== 'string' || !Array.isArray(k))
    throw invalid('missing parts');
  if (c !== hash(JSON.stringify([q, k, id]))) throw invalid('checksum mismatch: altered');
  if (q !== query) throw invalid('made by a different filter, order or includeDeleted');
  if (k.length !== keyCount) throw invalid('wrong number of sort values');
  return { values: k.map((v) => checkValue(v, invalid)), runId: id };
}

function checkValue(v: unknown, invalid: (why: string) => TraindbError): CursorValue {
  if (v === null) return null;
  if (!Array.isArray(v) || v.length !== 2 || typeof v[1] !== 'string') throw invalid('bad sort value');
  const [tag, text] = v as [unknown, string];
  if (tag === 's') return ['s', text];
  if (tag === 'r' && text.trim() !== '' && !Number.isNaN(Number(text))) return ['r', text];
  if (tag === 'i' && /^-?\d{1,19}$/.test(text)) {
    const n = BigInt(text);
    if (n >= INT64_MIN && n <= INT64_MAX) return ['i', text];
  }
  if (tag === 'b' && /^(?:[0-9A-F]{2})*$/i.test(text)) return ['b', text];
  throw invalid('bad sort value');
}
