/**
 * JSON as W&B writes it. Files written by the SDK carry bare `NaN`, `Infinity` and `-Infinity` tokens
 * (invalid JSON), and the server sends the strings "NaN", "Infinity", "-Infinity" instead. Both become
 * real non-finite numbers here; `stringifyJson` writes them back as those strings so every stored
 * document stays valid JSON that SQLite's and PostgreSQL's JSON functions accept.
 *
 * Integers beyond 2^53 (seeds, hashes, ids logged as numbers) are read as `bigint`, so the stored JSON
 * keeps the digits W&B sent; only the attribute index holds them as the nearest double.
 */
export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * The deepest nesting of arrays and objects a stored document may have. SQLite's JSON functions stop at
 * 1000 levels (and fail every query that touches such a row); 500 leaves room for PostgreSQL and for the
 * few levels traindb's own paths add.
 */
export const MAX_JSON_DEPTH = 500;

// A Map, not an object literal: a string value such as "constructor" must not find Object's prototype.
const NON_FINITE_STRINGS: ReadonlyMap<string, number> = new Map([
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['-Infinity', Number.NEGATIVE_INFINITY],
]);

// Sentinels that cannot collide with real content (they contain a NUL character).
const SENTINEL_PREFIX = '\u0000traindb-nonfinite:';
const INT_SENTINEL = '\u0000traindb-int:';
// How the integer sentinel reads inside JSON.stringify output (NUL is written as \u0000).
const INT_SENTINEL_IN_TEXT = /"\\u0000traindb-int:(-?\d+)"/g;

// A JSON string literal (kept as it is) or a bare non-finite token (rewritten); one regex pass, not a
// character loop, because this runs on every SDK-written document.
const LITERAL_OR_BARE = /"(?:[^"\\]|\\.)*"|-?Infinity|NaN/g;
// The same, plus whole number tokens: used only when the text holds a run of 16+ digits.
const LITERAL_BARE_OR_NUMBER = /"(?:[^"\\]|\\.)*"|-?Infinity|NaN|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?/g;

function rewriteToken(m: string): string {
  const c = m.charCodeAt(0);
  if (c === 34) return m; // a string literal
  if (c === 78 || c === 73 || (c === 45 && m.charCodeAt(1) === 73)) return JSON.stringify(SENTINEL_PREFIX + m);
  return isUnsafeIntegerText(m) ? JSON.stringify(INT_SENTINEL + m) : m;
}

function isUnsafeIntegerText(m: string): boolean {
  return m.length >= 16 && /^-?\d+$/.test(m) && !Number.isSafeInteger(Number(m));
}

const NON_FINITE_TEXT = /NaN|Infinity/;
// 16 digits not after a decimal point: maybe an integer beyond 2^53 (long fractions are common, and safe).
const LONG_DIGITS = /(?:^|[^\d.])\d{16}/;

/**
 * Parses W&B JSON (either non-finite form). Throws SyntaxError with JSON.parse's message otherwise.
 * Hot path of every ingest: plain JSON.parse, and a second walk only when the text mentions NaN/Infinity
 * or holds a number of 16 digits or more.
 */
export function parseWandbJson(text: string): JsonValue {
  return parseWandbDocument(text).value;
}

/**
 * `parseWandbJson`, also telling whether the text was strict JSON already (no bare NaN/Infinity): such a
 * text can be stored as it is, and re-serialising it (a visible share of ingest time) is skipped.
 */
export function parseWandbDocument(text: string): { value: JsonValue; strict: boolean } {
  const nonFinite = NON_FINITE_TEXT.test(text);
  const longDigits = LONG_DIGITS.test(text);
  if (!nonFinite && !longDigits) return { value: JSON.parse(text) as JsonValue, strict: true };
  let parsed: JsonValue;
  let strict = true;
  if (longDigits) {
    // Valid JSON or not, big integers must be caught before JSON.parse rounds them.
    parsed = JSON.parse(text.replace(LITERAL_BARE_OR_NUMBER, rewriteToken)) as JsonValue;
    strict = !nonFinite || isStrictJson(text);
  } else {
    try {
      // W&B's server sends the quoted forms, which are valid JSON: no rewrite needed, only the revive.
      parsed = JSON.parse(text) as JsonValue;
    } catch {
      parsed = JSON.parse(text.replace(LITERAL_OR_BARE, rewriteToken)) as JsonValue;
      strict = false;
    }
  }
  return { value: reviveInPlace(parsed), strict };
}

/**
 * Parses one JSON value of an export file: strict JSON, plus W&B's bare NaN/Infinity tokens and exact
 * big integers. Unlike `parseWandbJson`, strings stay strings ("NaN" as a display name is text); the
 * documents inside are revived when the run is normalized.
 */
export function parseJsonText(text: string): JsonValue {
  const nonFinite = NON_FINITE_TEXT.test(text);
  const longDigits = LONG_DIGITS.test(text);
  if (!longDigits) {
    try {
      return JSON.parse(text) as JsonValue;
    } catch (error) {
      if (!nonFinite) throw error;
    }
  }
  const rewritten = text.replace(longDigits ? LITERAL_BARE_OR_NUMBER : LITERAL_OR_BARE, rewriteToken);
  return reviveSentinels(JSON.parse(rewritten) as JsonValue);
}

function reviveSentinels(node: JsonValue): JsonValue {
  if (typeof node === 'string') return node.charCodeAt(0) === 0 ? reviveScalar(node) : node;
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) node[i] = reviveSentinels(node[i]!);
  } else if (node !== null && typeof node === 'object') {
    for (const key of Object.keys(node)) node[key] = reviveSentinels(node[key]!);
  }
  return node;
}

function isStrictJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Like `parseWandbJson` but for an already-decoded value (a file or request body that inlined the
 * object): a copy in which "NaN"/"Infinity" strings become numbers and numbers (non-finite ones too)
 * stay as they are. Own keys only, so `__proto__` is copied as data. Check `jsonDepth` first: the copy
 * recurses.
 */
export function reviveNonFinite(value: unknown): JsonValue {
  if (typeof value === 'string') return reviveScalar(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return value;
  // A decoder that reads every integer as a bigint (YAML's intAsBigInt): only the unsafe ones stay bigints.
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value;
  if (Array.isArray(value)) return value.map((item: unknown) => reviveNonFinite(item === undefined ? null : item));
  if (typeof value === 'object') {
    const out: JsonObject = {};
    for (const key of Object.keys(value)) {
      const child = (value as Record<string, unknown>)[key];
      // JSON.stringify drops undefined and function members; so does the copy.
      if (child === undefined || typeof child === 'function' || typeof child === 'symbol') continue;
      setOwn(out, key, reviveNonFinite(child));
    }
    return out;
  }
  return null;
}

/**
 * Nesting depth of a decoded value (a scalar is 0, `{}` and `[]` are 1), counted without recursion so a
 * hostile 200,000-level document cannot overflow the stack. Stops counting once past `limit`.
 */
export function jsonDepth(value: unknown, limit = Number.POSITIVE_INFINITY): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    const d = depth + 1;
    if (d > max) {
      max = d;
      if (max > limit) return max;
    }
    const children = Array.isArray(node) ? node : Object.values(node);
    for (const child of children) if (child !== null && typeof child === 'object') stack.push([child, d]);
  }
  return max;
}

function reviveScalar(value: string): JsonValue {
  if (value.charCodeAt(0) === 0) {
    if (value.startsWith(SENTINEL_PREFIX)) return NON_FINITE_STRINGS.get(value.slice(SENTINEL_PREFIX.length)) ?? value;
    if (value.startsWith(INT_SENTINEL)) return BigInt(value.slice(INT_SENTINEL.length));
  }
  return NON_FINITE_STRINGS.get(value) ?? value;
}

function reviveInPlace(node: JsonValue): JsonValue {
  if (typeof node === 'string') return reviveScalar(node);
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) node[i] = reviveInPlace(node[i]!);
  } else if (node !== null && typeof node === 'object') {
    // Own keys of a JSON.parse result: assigning to an own `__proto__` data property sets the property.
    for (const key of Object.keys(node)) node[key] = reviveInPlace(node[key]!);
  }
  return node;
}

/**
 * JSON.stringify that keeps non-finite numbers as W&B's strings instead of turning them into null, and
 * writes big integers with all their digits.
 */
export function stringifyJson(value: unknown): string {
  const special = containsSpecial(value);
  if (special === 0) return JSON.stringify(value);
  const text = JSON.stringify(value, specialReplacer);
  return special & HAS_BIGINT ? text.replace(INT_SENTINEL_IN_TEXT, '$1') : text;
}

const HAS_NON_FINITE = 1;
const HAS_BIGINT = 2;

function specialReplacer(_key: string, v: unknown): unknown {
  if (typeof v === 'number' && !Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  if (typeof v === 'bigint') return INT_SENTINEL + v.toString();
  return v;
}

function containsSpecial(node: unknown): number {
  if (typeof node === 'number') return Number.isFinite(node) ? 0 : HAS_NON_FINITE;
  if (typeof node === 'bigint') return HAS_BIGINT;
  let found = 0;
  if (Array.isArray(node)) {
    for (const item of node) found |= containsSpecial(item);
  } else if (node !== null && typeof node === 'object') {
    for (const key in node) found |= containsSpecial((node as Record<string, unknown>)[key]);
  }
  return found;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value of an own property, never one inherited from Object.prototype (`constructor`, `__proto__`). */
export function getOwn(object: JsonObject, key: string): JsonValue | undefined {
  return Object.prototype.hasOwnProperty.call(object, key) ? object[key] : undefined;
}

/** Sets an own data property, also for the key `__proto__` (plain assignment would replace the prototype). */
export function setOwn(object: JsonObject, key: string, value: JsonValue): void {
  if (key === '__proto__')
    Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
  else object[key] = value;
}
