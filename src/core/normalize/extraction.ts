import { getOwn, isJsonObject, stringifyJson, type JsonObject, type JsonValue } from '../json.js';
import { RUN_COLUMNS, type RunColumn } from '../columns.js';
import { TraindbError } from '../errors.js';
import { toBoolean, toInteger, toNumber, toText } from './coerce.js';
import { getPath } from './config.js';
import { countConfiguredObjectives } from './objectives.js';

/**
 * Which config/summary value fills which extracted column. Sources are tried in order; the first
 * present value wins. Source syntax:
 *   `config.<dotted.path>`   a config value (nested or dotted, same thing)
 *   `summary.<key>`          a summary key, verbatim first (`summary.train/loss`), then as a nested path
 *   `wandb.<field>`          a field of the W&B run itself (`wandb.host`)
 *   `count:config.<path>`    the number of items of a list or map (`count:config.objectives`)
 */
export type ExtractionMap = Readonly<Partial<Record<RunColumn, readonly string[]>>>;

export const DEFAULT_EXTRACTION: ExtractionMap = {
  batch_size: ['config.training.batch_size', 'config.batch_size'],
  learning_rate: ['config.training.learning_rate', 'config.learning_rate'],
  beta: ['config.reward.beta', 'config.beta'],
  gradient_method: ['config.gradient_method', 'config.training.gradient_method'],
  num_gpus: ['config.num_gpus', 'config.training.num_gpus', 'config.resources.num_gpus'],
  num_objectives: ['count:config.objectives', 'config.num_objectives'],
  num_scaffolds: ['config.num_scaffolds', 'config.data.num_scaffolds'],
  max_steps: ['config.training.max_steps', 'config.max_steps'],
  gradient_accumulation_steps: ['config.training.gradient_accumulation_steps', 'config.gradient_accumulation_steps'],
  max_grad_norm: ['config.training.max_grad_norm', 'config.max_grad_norm'],
  mixed_precision: ['config.training.mixed_precision', 'config.mixed_precision'],
  gradient_checkpointing: ['config.training.gradient_checkpointing', 'config.gradient_checkpointing'],
  enable_moving_targets: ['config.reward.enable_moving_targets', 'config.enable_moving_targets'],
  n_clusters: ['config.clustering.n_clusters', 'config.n_clusters'],
  return_groups: ['config.clustering.return_groups', 'config.return_groups'],
  final_loss: ['summary.train/loss', 'summary.loss'],
  final_grad_norm: ['summary.train/grad_norm', 'summary.grad_norm'],
  final_learning_rate: ['summary.train/learning_rate', 'summary.train/lr', 'summary.learning_rate'],
  total_training_steps: ['summary._step'],
  host: ['config.host', 'wandb.host'],
  instance_id: ['config.instance_id'],
  config_file_path: ['config.config_file_path', 'config.config_path'],
  chain_of_custody_id: ['config.chain_of_custody_id'],
};

/** Columns the mapping may fill: the extracted ones, not identity, status or JSON storage. */
export const EXTRACTABLE_COLUMNS: ReadonlySet<RunColumn> = new Set(Object.keys(DEFAULT_EXTRACTION) as RunColumn[]);

const SOURCE_SYNTAX = /^(count:config\.|config\.|summary\.|wandb\.)./;

/** Validates a user-supplied mapping (from the config file) and merges it over the defaults. */
export function resolveExtraction(overrides: Readonly<Record<string, unknown>> | undefined): ExtractionMap {
  const out: Partial<Record<RunColumn, readonly string[]>> = { ...DEFAULT_EXTRACTION };
  for (const [column, sources] of Object.entries(overrides ?? {})) {
    if (!EXTRACTABLE_COLUMNS.has(column as RunColumn)) {
      throw new TraindbError(
        'INVALID_CONFIG',
        `extract.${column}: not an extracted column of training_runs; use one of ${[...EXTRACTABLE_COLUMNS].join(', ')}`,
      );
    }
    const list = typeof sources === 'string' ? [sources] : sources;
    if (!Array.isArray(list) || list.some((s) => typeof s !== 'string' || !SOURCE_SYNTAX.test(s))) {
      throw new TraindbError(
        'INVALID_CONFIG',
        `extract.${column}: ${JSON.stringify(sources)} is not a list of sources like "config.training.batch_size", "summary.train/loss", "wandb.host" or "count:config.objectives"`,
      );
    }
    out[column as RunColumn] = list as string[];
  }
  return out;
}

export interface ExtractionInput {
  config: JsonObject;
  summary: JsonObject;
  wandb: Readonly<Record<string, unknown>>;
}

export interface ExtractionResult {
  values: Partial<Record<RunColumn, string | number | null>>;
  /** Values present but of the wrong shape for their column (e.g. batch_size "large"). */
  warnings: string[];
}

export function extractColumns(map: ExtractionMap, input: ExtractionInput): ExtractionResult {
  const values: Partial<Record<RunColumn, string | number | null>> = {};
  const warnings: string[] = [];
  for (const [column, sources] of Object.entries(map) as Array<[RunColumn, readonly string[]]>) {
    values[column] = null;
    for (const source of sources) {
      const raw = lookup(source, input);
      if (raw === undefined || raw === null) continue;
      const coerced = coerce(RUN_COLUMNS[column], raw);
      if (coerced === null) {
        // NaN is a real outcome (a diverged loss), not a malformed value: the column stays empty quietly.
        if (typeof raw === 'number' && Number.isNaN(raw)) break;
        warnings.push(
          `${column}: ${source} = ${stringifyJson(raw).slice(0, 200)} is not a valid ${RUN_COLUMNS[column]}; left empty`,
        );
        continue;
      }
      values[column] = coerced;
      break;
    }
  }
  return { values, warnings };
}

function lookup(source: string, input: ExtractionInput): JsonValue | undefined {
  if (source.startsWith('count:config.')) {
    const path = source.slice('count:config.'.length);
    return path === 'objectives' ? countConfiguredObjectives(input.config) : countOf(getPath(input.config, path));
  }
  if (source.startsWith('config.')) return getPath(input.config, source.slice('config.'.length));
  if (source.startsWith('summary.')) {
    const key = source.slice('summary.'.length);
    const value = getOwn(input.summary, key) ?? getPath(input.summary, key);
    // A `define_metric(summary=...)` value is {min, max, last, ...}: the final value is `last`.
    return isJsonObject(value) && getOwn(value, 'last') !== undefined ? value['last'] : value;
  }
  if (source.startsWith('wandb.')) {
    const field = source.slice('wandb.'.length);
    const value = Object.prototype.hasOwnProperty.call(input.wandb, field) ? input.wandb[field] : undefined;
    // Only scalars: a node is outside input, and an object here would reach a SQL parameter.
    return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? value : undefined;
  }
  return undefined;
}

function countOf(value: JsonValue | undefined): number | null {
  if (Array.isArray(value)) return value.length;
  if (isJsonObject(value)) return Object.keys(value).length;
  return null;
}

function coerce(type: string, value: JsonValue): string | number | null {
  switch (type) {
    case 'integer':
      return toInteger(value);
    case 'real':
      return toNumber(value);
    case 'boolean':
      return toBoolean(value);
    default:
      return toText(value);
  }
}
