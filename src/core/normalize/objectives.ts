import { isJsonObject, stringifyJson, type JsonObject, type JsonValue } from '../json.js';
import { toNumber, toText } from './coerce.js';

/** The statistics that have their own column in run_objectives; every other one lands in stats_json. */
export const OBJECTIVE_STAT_COLUMNS = ['raw_mean', 'normalized_mean', 'raw_std', 'normalized_std'] as const;
export type ObjectiveStatColumn = (typeof OBJECTIVE_STAT_COLUMNS)[number];

export interface ObjectiveRow {
  objective_name: string;
  objective_alias: string | null;
  uniprot: string | null;
  weight: number | null;
  direction: string | null;
  raw_mean: number | null;
  normalized_mean: number | null;
  raw_std: number | null;
  normalized_std: number | null;
  /** The statistics beyond the four columns (e.g. pass_rate), as JSON; null when there are none. */
  stats_json: string | null;
}

// `objectives/<name>_<maximize|minimize>/<stat>`: the direction suffix is stripped only at the end of the
// middle segment, so names keep their own underscores, dashes, dots and digits (`5-HT2A_activity`).
const SUMMARY_KEY = /^objectives\/(.+?)(?:_(maximize|minimize))?\/([^/]+)$/;

interface SummaryObjective {
  direction: string | null;
  alias: string;
  stats: Map<string, number | string>;
}

export function buildObjectives(config: JsonObject, summary: JsonObject): ObjectiveRow[] {
  const configured = configuredObjectives(config);
  const measured = summaryObjectives(summary);
  const rows = new Map<string, ObjectiveRow>();

  for (const spec of configured) rows.set(spec.objective_name, spec);
  for (const [name, found] of measured) {
    // A summary objective may be spelled with the configured alias (`DRD5_activity_maximize`).
    const byAlias = [...rows.values()].find((r) => r.objective_alias === found.alias && r.objective_name !== name);
    const row = rows.get(name) ?? byAlias ?? emptyRow(name, found);
    applyStats(row, found);
    rows.set(row.objective_name, row);
  }
  return [...rows.values()].sort((a, b) => a.objective_name.localeCompare(b.objective_name));
}

function emptyRow(name: string, found: SummaryObjective): ObjectiveRow {
  return {
    objective_name: name,
    objective_alias: found.direction ? found.alias : null,
    uniprot: null,
    weight: null,
    direction: found.direction,
    raw_mean: null,
    normalized_mean: null,
    raw_std: null,
    normalized_std: null,
    stats_json: null,
  };
}

function applyStats(row: ObjectiveRow, found: SummaryObjective): void {
  row.direction ??= found.direction;
  for (const column of OBJECTIVE_STAT_COLUMNS) {
    const value = found.stats.get(column);
    // NaN cannot be compared or stored in a REAL column; ±Infinity can and stays. (final_metrics_json keeps all.)
    row[column] = typeof value === 'number' && !Number.isNaN(value) ? value : null;
  }
  const extra = [...found.stats]
    .filter(([key]) => !(OBJECTIVE_STAT_COLUMNS as readonly string[]).includes(key))
    .sort(([a], [b]) => a.localeCompare(b));
  row.stats_json = extra.length === 0 ? null : stringifyJson(Object.fromEntries(extra));
}

/** The config's `objectives`: a list of `{name, alias, weight, direction, params: {uniprot}}`, or a map by name. */
export function configuredObjectives(config: JsonObject): ObjectiveRow[] {
  const raw = config['objectives'];
  const specs: Array<[string | null, JsonValue]> = Array.isArray(raw)
    ? raw.map((item) => [null, item])
    : isJsonObject(raw)
      ? Object.entries(raw)
      : [];
  const rows: ObjectiveRow[] = [];
  for (const [key, spec] of specs) {
    const obj = isJsonObject(spec) ? spec : {};
    const name = toText(obj['name']) ?? key ?? (typeof spec === 'string' ? spec : null);
    if (!name) continue;
    const params = isJsonObject(obj['params']) ? obj['params'] : {};
    const direction = toText(obj['direction'])?.toLowerCase() ?? directionFromAlias(toText(obj['alias']));
    rows.push({
      objective_name: name,
      objective_alias: toText(obj['alias']),
      uniprot: toText(params['uniprot']) ?? toText(obj['uniprot']),
      weight: toNumber(obj['weight']),
      direction,
      raw_mean: null,
      normalized_mean: null,
      raw_std: null,
      normalized_std: null,
      stats_json: null,
    });
  }
  return rows;
}

export function countConfiguredObjectives(config: JsonObject): number | null {
  const raw = config['objectives'];
  if (Array.isArray(raw)) return raw.length;
  if (isJsonObject(raw)) return Object.keys(raw).length;
  return null;
}

function directionFromAlias(alias: string | null): string | null {
  const match = alias?.match(/_(maximize|minimize)$/);
  return match?.[1] ?? null;
}

/** Collects `objectives/<name>_<dir>/<stat>` keys, whether logged flat (with slashes) or as nested dicts. */
function summaryObjectives(summary: JsonObject): Map<string, SummaryObjective> {
  const out = new Map<string, SummaryObjective>();
  const visit = (key: string, value: JsonValue): void => {
    if (isJsonObject(value) && !('_type' in value)) {
      for (const [k, v] of Object.entries(value)) visit(`${key}/${k}`, v);
      return;
    }
    const match = SUMMARY_KEY.exec(key);
    if (!match) return;
    const [, name, direction, stat] = match as unknown as [string, string, string | undefined, string];
    const scalar = typeof value === 'number' ? value : toNumber(value);
    if (scalar === null && typeof value !== 'string') return;
    const entry = out.get(name) ?? {
      direction: direction ?? null,
      alias: `${name}_${direction ?? ''}`,
      stats: new Map(),
    };
    entry.stats.set(stat, scalar ?? (value as string));
    out.set(name, entry);
  };
  for (const [key, value] of Object.entries(summary)) {
    if (key === 'objectives' || key.startsWith('objectives/')) visit(key, value);
  }
  return out;
}
