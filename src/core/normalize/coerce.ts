import type { JsonValue } from '../json.js';

/** PyYAML reads `1e-4` (no dot before the exponent) as a string; a number-shaped string is a number. */
const NUMBER_SHAPED = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

export function toNumber(value: JsonValue | undefined): number | null {
  if (typeof value === 'number') return Number.isNaN(value) ? null : value;
  // An integer beyond 2^53: the nearest double (the JSON column keeps the exact digits).
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string' && NUMBER_SHAPED.test(value.trim())) return Number(value.trim());
  return null;
}

export function toInteger(value: JsonValue | undefined): number | null {
  const n = toNumber(value);
  return n !== null && Number.isInteger(n) ? n : null;
}

export function toBoolean(value: JsonValue | undefined): number | null {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value === 0 || value === 1) return value;
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if (['true', 'yes', 'on', '1'].includes(v)) return 1;
    if (['false', 'no', 'off', '0'].includes(v)) return 0;
  }
  return null;
}

export function toText(value: JsonValue | undefined): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return null;
}

/** A number-shaped string stays a string in config_json (fidelity) but compares as a number when indexed. */
export function indexableScalar(value: JsonValue): number | string | null {
  if (typeof value === 'number') return Number.isNaN(value) ? null : value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string') return NUMBER_SHAPED.test(value.trim()) ? Number(value.trim()) : value;
  return null;
}
