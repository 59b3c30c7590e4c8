/**
 * W&B's timestamp form: UTC, second precision, no zone designator ("2023-11-05T17:46:35"). Filters
 * compare these as strings on the server, so everything the emulator stores or returns uses exactly
 * this form (see shared/wandb/API.md, "Timestamps").
 */

export function formatWandbTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

/**
 * Parses a W&B timestamp (zone-less means UTC) or any ISO 8601 string with a zone. Returns NaN when
 * the text is not a timestamp.
 */
export function parseWandbTime(text: string): number {
  const zoned = /[zZ]$|[+-]\d\d:?\d\d$/.test(text);
  return Date.parse(zoned ? text : `${text}Z`);
}

/** Normalises any ISO-ish timestamp to W&B's form; returns the input unchanged when it cannot be parsed. */
export function toWandbTime(text: string): string {
  const ms = parseWandbTime(text);
  return Number.isNaN(ms) ? text : formatWandbTime(ms);
}
