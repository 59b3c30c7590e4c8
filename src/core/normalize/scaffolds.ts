import { isJsonObject, setOwn, stringifyJson, type JsonObject, type JsonValue } from '../json.js';
import { toInteger } from './coerce.js';

export interface ScaffoldRow {
  scaffold_id: string;
  scores_json: string;
  pareto_rank: number | null;
  cluster_id: number | null;
}

const SUMMARY_KEY = /^scaffolds\/([^/]+)\/([^/]+)$/;

/**
 * Per-scaffold results logged as `scaffolds/<scaffold_id>/<metric>` summary keys (flat or nested).
 * `pareto_rank` and `cluster_id` have columns; every other metric is a score in scores_json.
 */
export function buildScaffolds(summary: JsonObject): ScaffoldRow[] {
  const byId = new Map<string, Map<string, JsonValue>>();
  const add = (key: string, value: JsonValue): void => {
    if (isJsonObject(value) && !('_type' in value)) {
      for (const [k, v] of Object.entries(value)) add(`${key}/${k}`, v);
      return;
    }
    const match = SUMMARY_KEY.exec(key);
    if (!match) return;
    const [, id, metric] = match as unknown as [string, string, string];
    const metrics = byId.get(id) ?? new Map<string, JsonValue>();
    metrics.set(metric, value);
    byId.set(id, metrics);
  };
  for (const [key, value] of Object.entries(summary)) {
    if (key === 'scaffolds' || key.startsWith('scaffolds/')) add(key, value);
  }
  return [...byId]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([scaffold_id, metrics]) => {
      const scores: JsonObject = {};
      for (const [metric, value] of [...metrics].sort(([a], [b]) => a.localeCompare(b))) {
        if (metric !== 'pareto_rank' && metric !== 'cluster_id') setOwn(scores, metric, value);
      }
      return {
        scaffold_id,
        scores_json: stringifyJson(scores),
        pareto_rank: toInteger(metrics.get('pareto_rank')),
        cluster_id: toInteger(metrics.get('cluster_id')),
      };
    });
}
