import { parse as parseYaml } from 'yaml';
import { TraindbError } from '../core/errors.js';
import { isJsonObject, jsonDepth, MAX_JSON_DEPTH, reviveNonFinite, type JsonObject } from '../core/json.js';
import { getPath, unwrapConfig } from '../core/normalize/config.js';
import { launchIdText } from '../core/normalize/run.js';
import type { ExtractionMap } from '../core/normalize/extraction.js';
import { ATTACHMENT_FIELDS, type Attachments, type LaunchOutcome, type RunStore } from '../db/store.js';

export interface LaunchInput {
  /** The launch id; defaults to the config's launch id key. */
  runId?: string | undefined;
  /** The run's config: an object, or YAML/JSON text (W&B's config.yaml form works too). */
  config: unknown;
  host?: string | undefined;
  instanceId?: string | undefined;
  configFilePath?: string | undefined;
  chainOfCustodyId?: string | undefined;
}

export interface LaunchOptions {
  launchIdKey: string;
  extraction?: ExtractionMap;
}

/**
 * Registers a run before W&B knows it: a 'launched' row with what its config implies. The W&B run that
 * later carries the same launch id under `launchIdKey` in its config is linked to this row by the
 * ordinary upsert, not duplicated. Registering the same id again changes nothing.
 */
export async function registerLaunch(
  store: RunStore,
  input: LaunchInput,
  options: LaunchOptions,
): Promise<LaunchOutcome> {
  const config = parseRunConfig(input.config);
  // Surrounding whitespace is not part of a launch id, here and when the W&B run is normalized
  // (`normalizeRun` trims the config's value the same way), so the two always meet on the same row.
  const unwrapped = unwrapDeepChecked(config);
  const fromConfig = launchIdText(getPath(unwrapped, options.launchIdKey));
  const given = input.runId === undefined ? undefined : input.runId.trim();
  if (given === '') throw new TraindbError('INVALID_INPUT', 'the run id is empty (or only whitespace)');
  const runId = given ?? fromConfig;
  if (!runId) {
    throw new TraindbError('INVALID_INPUT', `no run id: give one, or set ${options.launchIdKey} in the run's config`, {
      details: { field: 'run_id' },
    });
  }
  if (fromConfig && given !== undefined && fromConfig !== given) {
    throw new TraindbError(
      'INVALID_INPUT',
      `the run id ${given} differs from the config's ${options.launchIdKey} (${fromConfig}): W&B would link the run by the config's value; make them equal`,
    );
  }
  const text = (v: unknown, name: string): string | undefined => {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' || v.trim() === '')
      throw new TraindbError('INVALID_INPUT', `${name} must be a non-empty string`);
    return v;
  };
  return store.registerLaunch(
    {
      runId,
      config,
      host: text(input.host, 'host') ?? null,
      instanceId: text(input.instanceId, 'instance_id') ?? null,
      configFilePath: text(input.configFilePath, 'config_file_path') ?? null,
      chainOfCustodyId: text(input.chainOfCustodyId, 'chain_of_custody_id') ?? null,
    },
    options.extraction,
  );
}

/** Dotted keys deepen a config (`a.b.c` is three levels): the stored shape is what must fit the limit. */
function unwrapDeepChecked(config: JsonObject): JsonObject {
  let unwrapped: JsonObject;
  try {
    unwrapped = unwrapConfig(config).config;
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw tooDeep();
  }
  if (jsonDepth(unwrapped, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) throw tooDeep();
  return unwrapped;
}

function tooDeep(): TraindbError {
  return new TraindbError(
    'INVALID_INPUT',
    `the run config is nested more than ${MAX_JSON_DEPTH} levels deep (dotted keys count as levels); traindb stores documents up to ${MAX_JSON_DEPTH} levels`,
  );
}

/** POST /runs: `{run_id, config | config_yaml, host, instance_id, config_file_path, chain_of_custody_id}`. */
export function launchInputFromBody(body: Record<string, unknown>): LaunchInput {
  const text = (key: string): string | undefined => {
    const v = body[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw new TraindbError('INVALID_INPUT', `${key} must be a string`);
    return v;
  };
  const known = new Set([
    'run_id',
    'config',
    'config_yaml',
    'host',
    'instance_id',
    'config_file_path',
    'chain_of_custody_id',
  ]);
  const unknown = Object.keys(body).filter((k) => !known.has(k));
  if (unknown.length)
    throw new TraindbError(
      'INVALID_INPUT',
      `unknown field(s) ${unknown.join(', ')}; expected ${[...known].join(', ')}`,
    );
  return {
    runId: text('run_id'),
    config: body['config'] ?? text('config_yaml') ?? {},
    host: text('host'),
    instanceId: text('instance_id'),
    configFilePath: text('config_file_path'),
    chainOfCustodyId: text('chain_of_custody_id'),
  };
}

/** A run config given as an object or as YAML/JSON text; non-finite numbers are kept as W&B writes them. */
export function parseRunConfig(value: unknown): JsonObject {
  let parsed = value;
  if (typeof value === 'string') {
    try {
      // Integers as bigints, so one beyond 2^53 keeps its digits (the others become numbers again).
      parsed = parseYaml(value, { intAsBigInt: true });
    } catch (error) {
      throw new TraindbError('INVALID_INPUT', `the run config is not valid YAML or JSON: ${(error as Error).message}`);
    }
  }
  if (parsed === null || parsed === undefined) parsed = {};
  // Before the copy, which recurses: a hostile body must be a 400, never a stack overflow.
  if (jsonDepth(parsed, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) throw tooDeep();
  const revived = reviveNonFinite(parsed);
  if (!isJsonObject(revived))
    throw new TraindbError('INVALID_INPUT', 'the run config must be a mapping of keys (YAML or a JSON object)');
  return revived;
}

/** Sets attachment columns; unknown fields are refused by name. An empty string or null clears one. */
export async function annotateRun(store: RunStore, runId: string, fields: Record<string, unknown>): Promise<boolean> {
  const attachments: Attachments = {};
  for (const [key, value] of Object.entries(fields)) {
    if (!(ATTACHMENT_FIELDS as readonly string[]).includes(key)) {
      throw new TraindbError('INVALID_INPUT', `${key} is not an attachment; use ${ATTACHMENT_FIELDS.join(', ')}`);
    }
    if (value !== null && typeof value !== 'string')
      throw new TraindbError('INVALID_INPUT', `${key} must be a string or null`);
    attachments[key as keyof Attachments] = value === '' ? null : value;
  }
  if (Object.keys(attachments).length === 0) {
    throw new TraindbError('INVALID_INPUT', `nothing to set: give at least one of ${ATTACHMENT_FIELDS.join(', ')}`);
  }
  return store.setAttachments(runId, attachments);
}
