import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { TraindbError } from '../core/errors.js';
import { resolveExtraction } from '../core/normalize/extraction.js';
import { DEFAULT_DATABASE, DEFAULT_WANDB_BASE_URL, type TraindbConfig } from './config.js';
import { resolveDaemonSettings, type DaemonFlags } from './daemon.js';

export interface ConfigSources {
  /** Path of the YAML file (`--config`, else TRAINDB_CONFIG); absent means defaults only. */
  file?: string | undefined;
  /** Command-line overrides; undefined never overrides. */
  flags?: { database?: string | undefined; projects?: readonly string[] | undefined; daemon?: DaemonFlags };
  env: Readonly<Record<string, string | undefined>>;
}

const FILE_KEYS = new Set(['database', 'launch_id_key', 'extract', 'wandb', 'projects', 'daemon']);
const WANDB_KEYS = new Set(['base_url', 'page_size', 'requests_per_second', 'timeout_seconds']);

/**
 * The one place configuration is read: defaults ← YAML file ← environment ← flags. Errors name the
 * key and the fix. Secrets come only from the environment (a key in the file is refused).
 */
export function loadConfig(sources: ConfigSources): TraindbConfig {
  const path = sources.file ?? sources.env['TRAINDB_CONFIG'];
  const file = path ? readYaml(path) : {};
  for (const key of Object.keys(file)) {
    if (!FILE_KEYS.has(key)) fail(path, key, `unknown key; expected one of ${[...FILE_KEYS].join(', ')}`);
  }
  const wandbFile = objectAt(file, 'wandb', path);
  for (const key of Object.keys(wandbFile)) {
    if (key === 'api_key')
      fail(path, 'wandb.api_key', 'secrets do not belong in the file: set WANDB_API_KEY in the environment');
    if (!WANDB_KEYS.has(key)) fail(path, `wandb.${key}`, `unknown key; expected one of ${[...WANDB_KEYS].join(', ')}`);
  }
  let extraction;
  try {
    extraction = resolveExtraction(objectAt(file, 'extract', path));
  } catch (error) {
    throw new TraindbError('INVALID_CONFIG', `${path}: ${(error as Error).message}`);
  }
  const config: TraindbConfig = {
    database:
      sources.flags?.database ?? sources.env['DATABASE_URL'] ?? stringAt(file, 'database', path) ?? DEFAULT_DATABASE,
    launchIdKey: stringAt(file, 'launch_id_key', path) ?? 'run_id',
    extraction,
    wandb: {
      baseUrl: (
        sources.env['WANDB_BASE_URL'] ??
        stringAt(wandbFile, 'base_url', path, 'wandb.') ??
        DEFAULT_WANDB_BASE_URL
      ).replace(/\/+$/, ''),
      apiKey: sources.env['WANDB_API_KEY'] || undefined,
      pageSize: positive(wandbFile, 'page_size', path, 100),
      requestsPerSecond: positive(wandbFile, 'requests_per_second', path, 2),
      timeoutMs: positive(wandbFile, 'timeout_seconds', path, 30) * 1000,
    },
    projects: sources.flags?.projects?.length
      ? sources.flags.projects.map((p) => parseProjectRef(p))
      : projectsAt(file, path),
    daemon: resolveDaemonSettings(
      objectAt(file, 'daemon', path),
      sources.env,
      sources.flags?.daemon ?? {},
      (key, fix) => (key.startsWith('daemon.') ? fail(path, key, fix) : failFlag(key, fix)),
    ),
  };
  return Object.freeze(config);
}

/** Parses `entity/project`; the error says what a valid one looks like. */
export function parseProjectRef(text: string, where = '--project'): { entity: string; project: string } {
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(text.trim());
  if (!m)
    throw new TraindbError('INVALID_CONFIG', `${where}: '${text}' is not ENTITY/PROJECT (e.g. my-team/molecule-rl)`);
  return { entity: m[1]!, project: m[2]! };
}

function readYaml(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new TraindbError(
      'INVALID_CONFIG',
      `cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    throw new TraindbError('INVALID_CONFIG', `${path} is not valid YAML: ${(error as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) fail(path, '(top level)', 'must be a mapping of keys');
  return parsed as Record<string, unknown>;
}

/** A bad flag or environment variable: named as typed, without the file path. */
function failFlag(key: string, fix: string): never {
  throw new TraindbError('INVALID_CONFIG', `${key}: ${fix}`);
}

function fail(path: string | undefined, key: string, fix: string): never {
  throw new TraindbError('INVALID_CONFIG', `${path ?? 'config'}: ${key}: ${fix}`);
}

function objectAt(obj: Record<string, unknown>, key: string, path: string | undefined): Record<string, unknown> {
  const v = obj[key];
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) fail(path, key, `must be a mapping, got ${JSON.stringify(v)}`);
  return v as Record<string, unknown>;
}

function stringAt(
  obj: Record<string, unknown>,
  key: string,
  path: string | undefined,
  prefix = '',
): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v === '')
    fail(path, prefix + key, `must be a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}

function positive(obj: Record<string, unknown>, key: string, path: string | undefined, fallback: number): number {
  const v = obj[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !(v > 0))
    fail(path, `wandb.${key}`, `must be a positive number, got ${JSON.stringify(v)}`);
  return v;
}

function projectsAt(file: Record<string, unknown>, path: string | undefined): TraindbConfig['projects'] {
  const v = file['projects'];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(path, 'projects', 'must be a list of "entity/project" strings');
  return v.map((p, i) => {
    if (typeof p !== 'string') fail(path, `projects[${i}]`, 'must be an "entity/project" string');
    return parseProjectRef(p, `${path}: projects[${i}]`);
  });
}
