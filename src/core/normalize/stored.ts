import { isJsonObject, parseWandbJson, type JsonObject } from '../json.js';
import type { RunColumn } from '../columns.js';
import { flattenAttributes, type Attribute } from './attributes.js';
import { unwrapConfig } from './config.js';
import { DEFAULT_EXTRACTION, extractColumns, type ExtractionMap } from './extraction.js';
import { buildObjectives, type ObjectiveRow } from './objectives.js';

/** What can be derived from a row that did not come from W&B sync: a seed-v1 row, or a launch registration. */
export interface DerivedFromStored {
  attributes: Attribute[];
  objectives: ObjectiveRow[];
  /** Extracted column values; the caller fills only columns that are still empty. */
  values: Partial<Record<RunColumn, string | number | null>>;
}

export function deriveFromStored(
  stored: { config_json: unknown; final_metrics_json: unknown },
  extraction: ExtractionMap = DEFAULT_EXTRACTION,
): DerivedFromStored {
  // Stored configs are usually plain dicts; unwrapConfig also handles one saved in W&B's wire form.
  const { config } = unwrapConfig(parseObject(stored.config_json));
  const summary = parseObject(stored.final_metrics_json);
  return {
    attributes: [...flattenAttributes('config', config), ...flattenAttributes('summary', summary)],
    objectives: buildObjectives(config, summary),
    values: extractColumns(extraction, { config, summary, wandb: {} }).values,
  };
}

function parseObject(text: unknown): JsonObject {
  if (typeof text !== 'string' || text.trim() === '') return {};
  try {
    const parsed = parseWandbJson(text);
    return isJsonObject(parsed) ? parsed : {};
  } catch {
    // An unreadable document stays as it is in its column; it just cannot be indexed.
    return {};
  }
}
