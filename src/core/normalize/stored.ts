import { isJsonObject, parseWandbJson, reviveNonFinite, stringifyJson, type JsonObject } from '../json.js';
import type { RunColumn } from '../columns.js';
import { flattenAttributes, systemAttributes, type Attribute } from './attributes.js';
import { expandDottedKeys, unwrapConfig } from './config.js';
import { DEFAULT_EXTRACTION, extractColumns, type ExtractionMap } from './extraction.js';
import { buildObjectives, type ObjectiveRow } from './objectives.js';

/** The JSON columns of a training_runs row, as stored. */
export interface StoredDocuments {
  config_json: unknown;
  final_metrics_json: unknown;
  system_metrics_json?: unknown;
  tags_json?: unknown;
}

/**
 * The attribute-index rows of a stored run, derived from its JSON columns alone. The writer uses it to
 * find which index rows an update must remove, so it must give exactly what `normalizeRun` produced for
 * the same row (a test holds the two together).
 */
export function storedAttributes(row: StoredDocuments): Attribute[] {
  const tags = parseValue(row.tags_json);
  return [
    ...flattenAttributes('config', expandDottedKeys(parseObject(row.config_json))),
    ...flattenAttributes('summary', parseObject(row.final_metrics_json)),
    ...systemAttributes(parseObject(row.system_metrics_json)),
    ...flattenAttributes('meta', { tags: Array.isArray(tags) ? tags : [] }),
  ];
}

/** What can be derived from a row that did not come from W&B sync: a seed-v1 row, or a launch registration. */
export interface DerivedFromStored {
  attributes: Attribute[];
  objectives: ObjectiveRow[];
  /** Extracted column values; the caller fills only columns that are still empty. */
  values: Partial<Record<RunColumn, string | number | null>>;
}

/** Stored configs are plain dicts (the seed's launcher saves `yaml.safe_load` output), not W&B's wire form. */
export function deriveFromStored(
  row: StoredDocuments,
  extraction: ExtractionMap = DEFAULT_EXTRACTION,
): DerivedFromStored {
  const config = expandDottedKeys(parseObject(row.config_json));
  const summary = parseObject(row.final_metrics_json);
  const configObject = isJsonObject(config) ? config : {};
  return {
    attributes: storedAttributes(row),
    objectives: buildObjectives(configObject, summary),
    values: extractColumns(extraction, { config: configObject, summary, wandb: {} }).values,
  };
}

/**
 * The config_json a launch registration stores: the config as the training script will log it, with
 * W&B's value wrappers and SDK internals removed, non-finite numbers revived and dotted keys expanded,
 * so the W&B run that later carries it normalizes to the same document.
 */
export function launchConfigJson(config: unknown): string {
  const revived = reviveNonFinite(config);
  return stringifyJson(unwrapConfig(isJsonObject(revived) ? revived : {}).config);
}

function parseObject(text: unknown): JsonObject {
  const parsed = parseValue(text);
  return isJsonObject(parsed) ? parsed : {};
}

function parseValue(text: unknown): unknown {
  if (typeof text !== 'string' || text.trim() === '') return null;
  try {
    return parseWandbJson(text);
  } catch {
    // An unreadable document stays as it is in its column; it just cannot be indexed.
    return null;
  }
}
