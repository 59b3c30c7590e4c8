/**
 * JSON as W&B writes it. Files written by the SDK carry bare `NaN`, `Infinity` and `-Infinity` tokens
 * (invalid JSON), and the server sends the strings "NaN", "Infinity", "-Infinity" instead. Both become
 * real non-finite numbers here; `stringifyJson` writes them back as those strings so every stored
 * document stays valid JSON that SQLite's and PostgreSQL's JSON functions accept.
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

const NON_FINITE_STRINGS: Readonly<Record<string, number>> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  '-Infinity': Number.NEGATIVE_INFINITY,
};

// Sentinels that cannot collide with real content (they contain a NUL character).
const SENTINEL_PREFIX = '\u0000traindb-nonfinite:';

/** Rewrites bare NaN/Infinity tokens outside string literals into sentinel strings. */
function quoteBareNonFinite(text: string): string {
  if (!/NaN|Infinity/.test(text)) return text;
  let out = '';
  let inString = false;
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (inString) {
      if (ch === '\\') {
        out += text.slice(i, i + 2);
        i += 2;
        continue;
      }
      if (ch === '"') inString = false;
      out += ch;
      i++;
      continue;
    }
    if (ch === '"') inString = true;
    const token = BARE_TOKENS.find((t) => text.startsWith(t, i));
    if (token) {
      out += JSON.stringify(SENTINEL_PREFIX + token);
      i += token.length;
      continue;
    }
    out += ch;
    i++;
  }
  return out;
}

const BARE_TOKENS = ['-Infinity', 'Infinity', 'NaN'] as const;

function revive(_key: string, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (value.startsWith(SENTINEL_PREFIX)) return NON_FINITE_STRINGS[value.slice(SENTINEL_PREFIX.length)];
  const nonFinite = NON_FINITE_STRINGS[value];
  return nonFinite === undefined ? value : nonFinite;
}

/** Parses W&B JSON (either non-finite form). Throws SyntaxError with JSON.parse's message otherwise. */
export function parseWandbJson(text: string): JsonValue {
  return JSON.parse(quoteBareNonFinite(text), revive) as JsonValue;
}

/** Like `parseWandbJson` but for an already-decoded value (a file that inlined the object). */
export function reviveNonFinite(value: unknown): JsonValue {
  return JSON.parse(JSON.stringify(value), revive) as JsonValue;
}

/** JSON.stringify that keeps non-finite numbers as W&B's strings instead of turning them into null. */
export function stringifyJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'number' && !Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
    return v;
  });
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
