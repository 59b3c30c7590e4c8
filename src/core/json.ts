/**
 * JSON as W&B writes it. Files written by the SDK carry bare `NaN`, `Infinity` and `-Infinity` tokens
 * (invalid JSON), and the server sends the strings "NaN", "Infinity", "-Infinity" instead. Both become
 * real non-finite numbers here; `stringifyJson` writes them back as those strings so every stored
 * document stays valid JSON that SQLite's and PostgreSQL's JSON functions accept.
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

// A Map, not an object literal: a string value such as "constructor" must not find Object's prototype.
const NON_FINITE_STRINGS: ReadonlyMap<string, number> = new Map([
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['-Infinity', Number.NEGATIVE_INFINITY],
]);

// Sentinels that cannot collide with real content (they contain a NUL character).
const SENTINEL_PREFIX = '\u0000traindb-nonfinite:';

// A JSON string literal (kept as it is) or a bare non-finite token (rewritten); one regex pass, not a
// character loop, because this runs on every SDK-written document.
const LITERAL_OR_BARE = /"(?:[^"\\]|\\.)*"|-?Infinity|NaN/g;

/** Rewrites bare NaN/Infinity tokens outside string literals into sentinel strings. */
function quoteBareNonFinite(text: string): string {
  return text.replace(LITERAL_OR_BARE, (m) => (m.charCodeAt(0) === 34 ? m : JSON.stringify(SENTINEL_PREFIX + m)));
}

const NON_FINITE_TEXT = /NaN|Infinity/;

/**
 * Parses W&B JSON (either non-finite form). Throws SyntaxError with JSON.parse's message otherwise.
 * Hot path of every ingest: plain JSON.parse, and a second walk only when the text mentions NaN/Infinity.
 */
export function parseWandbJson(text: string): JsonValue {
  return parseWandbDocument(text).value;
}

/**
 * `parseWandbJson`, also telling whether the text was strict JSON already (no bare NaN/Infinity): such a
 * text can be stored as it is, and re-serialising it (a visible share of ingest time) is skipped.
 */
export function parseWandbDocument(text: string): { value: JsonValue; strict: boolean } {
  if (!NON_FINITE_TEXT.test(text)) return { value: JSON.parse(text) as JsonValue, strict: true };
  let parsed: JsonValue;
  let strict = true;
  try {
    // W&B's server sends the quoted forms, which are valid JSON: no rewrite needed, only the revive.
    parsed = JSON.parse(text) as JsonValue;
  } catch {
    parsed = JSON.parse(quoteBareNonFinite(text)) as JsonValue;
    strict = false;
  }
  return { value: reviveInPlace(parsed), strict };
}

/** Like `parseWandbJson` but for an already-decoded value (a file that inlined the object). */
export function reviveNonFinite(value: unknown): JsonValue {
  return reviveInPlace(JSON.parse(JSON.stringify(value)) as JsonValue);
}

function reviveScalar(value: string): JsonValue {
  if (value.startsWith(SENTINEL_PREFIX)) return NON_FINITE_STRINGS.get(value.slice(SENTINEL_PREFIX.length)) ?? value;
  return NON_FINITE_STRINGS.get(value) ?? value;
}

function reviveInPlace(node: JsonValue): JsonValue {
  if (typeof node === 'string') return reviveScalar(node);
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) node[i] = reviveInPlace(node[i]!);
  } else if (node !== null && typeof node === 'object') {
    for (const key of Object.keys(node)) node[key] = reviveInPlace(node[key]!);
  }
  return node;
}

/** JSON.stringify that keeps non-finite numbers as W&B's strings instead of turning them into null. */
export function stringifyJson(value: unknown): string {
  return containsNonFinite(value) ? JSON.stringify(value, nonFiniteReplacer) : JSON.stringify(value);
}

function nonFiniteReplacer(_key: string, v: unknown): unknown {
  if (typeof v === 'number' && !Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  return v;
}

function containsNonFinite(node: unknown): boolean {
  if (typeof node === 'number') return !Number.isFinite(node);
  if (Array.isArray(node)) return node.some(containsNonFinite);
  if (node !== null && typeof node === 'object') {
    for (const key in node) if (containsNonFinite((node as Record<string, unknown>)[key])) return true;
  }
  return false;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
