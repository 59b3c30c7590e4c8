import {
  isJsonObject,
  jsonDepth,
  MAX_JSON_DEPTH,
  parseWandbDocument,
  reviveNonFinite,
  stringifyJson,
  type JsonObject,
  type JsonValue,
} from '../json.js';
import type { RunRow } from '../columns.js';
import { TraindbError } from '../errors.js';
import { hash53 } from '../hash.js';
import type { WandbRunNode } from '../wandb-run.js';
import { flattenAttributes, systemAttributes, type Attribute } from './attributes.js';
import { getPath, unwrapConfig } from './config.js';
import { toText } from './coerce.js';
import { DEFAULT_EXTRACTION, extractColumns, type ExtractionMap } from './extraction.js';
import { buildObjectives, type ObjectiveRow } from './objectives.js';
import { buildScaffolds, type ScaffoldRow } from './scaffolds.js';
import { isTerminalStatus, statusFromState } from './status.js';
import { addSeconds, toUtcIso } from './time.js';

/** Everything traindb stores about one run, derived from one W&B run node with no I/O. */
export interface NormalizedRun {
  run: RunRow;
  objectives: ObjectiveRow[];
  scaffolds: ScaffoldRow[];
  attributes: Attribute[];
  /** Values that were present but unusable (kept in the JSON, not extracted). */
  warnings: string[];
  /** The W&B version of this data (updatedAt, else heartbeatAt, else createdAt): an older one never overwrites a newer one. */
  version: string | null;
  /** Content fingerprint: equal hashes mean re-ingesting changes nothing. */
  hash: string;
}

export interface NormalizeOptions {
  /** Column ← source mapping (defaults from the seed document). */
  extraction?: ExtractionMap;
  /** Config key holding the launch id that becomes run_id (default `run_id`). */
  launchIdKey?: string;
  /** Used when the node does not say which project it belongs to (e.g. a bare export file). */
  entity?: string | undefined;
  project?: string | undefined;
}

export function normalizeRun(node: WandbRunNode, options: NormalizeOptions = {}): NormalizedRun {
  try {
    return normalizeNode(node, options);
  } catch (error) {
    // The depth checks come first, but a shape they do not measure (a key of 100,000 dots merged with
    // another) may still exhaust the stack: that run fails alone like any other invalid run.
    if (error instanceof RangeError) {
      const name = typeof node?.name === 'string' && node.name !== '' ? node.name : '?';
      throw invalid(
        name,
        `too deeply nested to read (${error.message}); documents may be nested up to ${MAX_JSON_DEPTH} levels`,
        error,
      );
    }
    throw error;
  }
}

function normalizeNode(node: WandbRunNode, options: NormalizeOptions): NormalizedRun {
  if (!node || typeof node !== 'object' || Array.isArray(node))
    throw invalid('?', `expected a W&B run object, got ${preview(node)}`);
  const name = typeof node.name === 'string' && node.name.trim() !== '' ? node.name : null;
  if (!name) throw invalid('?', `the run has no "name" (W&B's run id); got ${preview(node.name)}`);
  const text = (field: keyof WandbRunNode): string | null => optionalText(name, node, field);

  const projectRef = node.project;
  if (projectRef !== undefined && projectRef !== null && !isJsonObject(projectRef))
    throw invalid(name, `"project" must be an object {name, entityName}, got ${preview(projectRef)}`);
  const entity = optionalText(name, projectRef ?? {}, 'entityName', 'project.entityName') ?? options.entity;
  const project = optionalText(name, projectRef ?? {}, 'name', 'project.name') ?? options.project;
  if (!entity || !project) {
    // No door's flag named here: the CLI and HTTP add their own hint.
    throw invalid(name, 'no entity/project: the node has no project {name entityName} and none was given');
  }
  const state = text('state');
  const user = isJsonObject(node.user) ? (node.user as Record<string, unknown>) : {};

  const rawConfig = parseDocument(name, 'config', node.config).value;
  const { value: summary, text: summaryText } = parseDocument(name, 'summaryMetrics', node.summaryMetrics);
  const { value: system, text: systemText } = parseDocument(name, 'systemMetrics', node.systemMetrics);
  const { config, internals } = unwrapConfig(rawConfig);
  // Dotted keys deepen the config (`a.b.c` is three levels): its final shape is what the database reads.
  checkDepth(name, 'config', config);

  const launchIdKey = options.launchIdKey ?? 'run_id';
  const runId = launchIdText(getPath(config, launchIdKey)) ?? `${entity}/${project}/${name}`;

  const extracted = extractColumns(options.extraction ?? DEFAULT_EXTRACTION, {
    config,
    summary,
    wandb: node as unknown as Record<string, unknown>,
  });
  const objectives = buildObjectives(config, summary);
  const status = statusFromState(state);
  const createdAt = toUtcIso(node.createdAt);
  const heartbeatAt = toUtcIso(node.heartbeatAt);
  const updatedAt = toUtcIso(node.updatedAt);
  const runtime =
    typeof summary['_runtime'] === 'number' && Number.isFinite(summary['_runtime']) ? summary['_runtime'] : null;
  const duration =
    runtime ??
    (typeof node.computeSeconds === 'number' && Number.isFinite(node.computeSeconds) ? node.computeSeconds : null);
  const endedAt = isTerminalStatus(status)
    ? (heartbeatAt ?? (createdAt && duration !== null ? addSeconds(createdAt, duration) : null))
    : null;
  const tags = Array.isArray(node.tags) ? node.tags.filter((t): t is string => typeof t === 'string') : [];

  const run: RunRow = {
    run_id: runId,
    wandb_run_id: name,
    run_name: text('displayName'),
    wandb_entity: entity,
    wandb_project: project,
    created_at: createdAt,
    started_at: createdAt,
    ended_at: endedAt,
    duration_seconds: duration === null ? null : Math.round(duration),
    heartbeat_at: heartbeatAt,
    wandb_updated_at: updatedAt,
    status,
    state,
    host: null,
    instance_id: null,
    config_file_path: null,
    chain_of_custody_id: null,
    batch_size: null,
    learning_rate: null,
    beta: null,
    gradient_method: null,
    num_gpus: null,
    num_objectives: null,
    num_scaffolds: null,
    max_steps: null,
    gradient_accumulation_steps: null,
    max_grad_norm: null,
    mixed_precision: null,
    gradient_checkpointing: null,
    enable_moving_targets: null,
    n_clusters: null,
    return_groups: null,
    final_loss: null,
    final_grad_norm: null,
    final_learning_rate: null,
    total_training_steps: null,
    ...extracted.values,
    tags_json: JSON.stringify(tags),
    notes: text('notes'),
    wandb_group: text('group'),
    job_type: text('jobType'),
    sweep_name: text('sweepName'),
    wandb_user: optionalText(name, user, 'username', 'user.username') ?? optionalText(name, user, 'name', 'user.name'),
    config_json: stringifyJson(config),
    final_metrics_json: summaryText ?? stringifyJson(summary),
    system_metrics_json: systemText ?? stringifyJson(system),
    wandb_internal_json: stringifyJson(internals),
  };

  const scaffolds = buildScaffolds(summary);
  const attributes = [
    ...flattenAttributes('config', config),
    ...flattenAttributes('summary', summary),
    ...systemAttributes(system),
    ...flattenAttributes('meta', { tags }),
  ];
  return {
    run,
    objectives,
    scaffolds,
    attributes,
    warnings: extracted.warnings,
    version: updatedAt ?? heartbeatAt ?? createdAt,
    hash: contentHash(run, objectives, scaffolds),
  };
}

/**
 * The launch id a config carries, without surrounding whitespace (as `traindb launch` registers it), or
 * null when there is none.
 */
export function launchIdText(value: JsonValue | undefined): string | null {
  const text = toText(value ?? null)?.trim();
  return text ? text : null;
}

/** Joins column values with a separator no JSON text contains, rather than re-serialising large JSON strings. */
function contentHash(run: RunRow, objectives: ObjectiveRow[], scaffolds: ScaffoldRow[]): string {
  const parts: string[] = [];
  const push = (row: object): void => {
    for (const value of Object.values(row)) parts.push(value === null ? '\u0002' : String(value));
    parts.push('\u0003');
  };
  push(run);
  objectives.forEach(push);
  scaffolds.forEach(push);
  return hash53(parts.join('\u0001'));
}

/**
 * `text` is the document as W&B sent it when that is already strict JSON holding an object: stored as it
 * is instead of being serialised again. The config is always re-serialised (it is unwrapped first).
 */
function parseDocument(
  run: string,
  field: string,
  value: WandbRunNode['config'],
): { value: JsonObject; text: string | null } {
  if (value === null || value === undefined || value === '') return { value: {}, text: null };
  let parsed: unknown;
  let strict = false;
  if (typeof value === 'string') {
    try {
      ({ value: parsed, strict } = parseWandbDocument(value));
    } catch (error) {
      if (error instanceof RangeError) throw error; // valid but too deep: reported as such by normalizeRun
      throw invalid(run, `${field} is not valid JSON (${(error as Error).message})`, error);
    }
    checkDepth(run, field, parsed);
  } else if (typeof value === 'object') {
    // Checked before the copy, which recurses.
    checkDepth(run, field, value);
    parsed = reviveNonFinite(value);
  } else parsed = value;
  if (!isJsonObject(parsed)) throw invalid(run, `${field} must be a JSON object, got ${preview(parsed)}`);
  return { value: parsed, text: strict && typeof value === 'string' ? value : null };
}

/** A document deeper than the database's JSON functions can read fails its run alone, before it is stored. */
function checkDepth(run: string, field: string, value: unknown): void {
  const depth = jsonDepth(value, MAX_JSON_DEPTH);
  if (depth > MAX_JSON_DEPTH)
    throw invalid(
      run,
      `${field} is nested more than ${MAX_JSON_DEPTH} levels deep; traindb stores documents up to ${MAX_JSON_DEPTH} levels (SQLite's JSON functions stop at 1000)`,
    );
}

/** A string field of the node, or null when absent; any other type fails the run with the field's name. */
function optionalText(run: string, object: object, field: string, label = field): string | null {
  const value = Object.prototype.hasOwnProperty.call(object, field) ? (object as Record<string, unknown>)[field] : null;
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') throw invalid(run, `"${label}" must be a string, got ${preview(value)}`);
  return value;
}

/** A short rendering of a bad value for a message (never throws, whatever the value). */
function preview(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'object' && value !== null ? stringifyJson(value) : String(value);
  } catch {
    text = Array.isArray(value) ? 'an array' : typeof value;
  }
  if (typeof value === 'string') text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

function invalid(run: string, reason: string, cause?: unknown): TraindbError {
  return new TraindbError('INVALID_RUN', `run ${run}: ${reason}`, cause === undefined ? undefined : { cause });
}
