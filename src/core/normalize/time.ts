/**
 * W&B timestamps are UTC without a zone designator ("2023-11-05T17:46:35"); read naively they would be
 * taken as local time. Everything traindb stores is ISO 8601 UTC with a `Z`.
 */
const HAS_ZONE = /(Z|[+-]\d{2}:?\d{2})$/i;

export function toUtcIso(value: unknown): string | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'number') return fromEpoch(value);
  if (typeof value !== 'string') return null;
  const text = value.trim();
  const normalized = HAS_ZONE.test(text) ? text : `${text.replace(' ', 'T')}Z`;
  return isoOrNull(Date.parse(normalized));
}

/** Unix seconds (W&B's `_timestamp`) or milliseconds → ISO. */
function fromEpoch(value: number): string | null {
  if (!Number.isFinite(value)) return null;
  return isoOrNull(value < 1e11 ? value * 1000 : value);
}

/** Null when the result falls outside the dates JavaScript can represent (±273,790 years). */
export function addSeconds(iso: string, seconds: number): string | null {
  return isoOrNull(Date.parse(iso) + seconds * 1000);
}

function isoOrNull(ms: number): string | null {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}
