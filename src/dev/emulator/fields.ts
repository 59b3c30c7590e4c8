/**
 * What a filter or order key addresses in a run. W&B's keys: run attributes (`state`, `createdAt` /
 * `created_at`, ...), `config.<top>[.value][.<sub>...]` and `summary_metrics.<path>`. Dots always
 * separate path segments, so a key that itself contains a dot (a flattened `training.batch_size`
 * config key, an objective named `pIC50.DRD1`) can never be addressed, as on the real server
 * (wandb/wandb#2819, #3087).
 */
import type { WandbRunNode } from '../../core/wandb-run.js';
import { badArgument } from './errors.js';

/** Returned when the addressed value does not exist (distinct from a stored null). */
export const MISSING: unique symbol = Symbol('missing');
export type Lookup = unknown | typeof MISSING;

/** A run plus its config/summary parsed lazily, for the duration of one query evaluation. */
export class RunDoc {
  private configCache: unknown = MISSING;
  private summaryCache: unknown = MISSING;

  constructor(readonly node: WandbRunNode) {}

  get config(): unknown {
    if (this.configCache === MISSING) this.configCache = parseJsonField(this.node.config);
    return this.configCache;
  }

  get summary(): unknown {
    if (this.summaryCache === MISSING) this.summaryCache = parseJsonField(this.node.summaryMetrics);
    return this.summaryCache;
  }
}

function parseJsonField(value: unknown): unknown {
  if (typeof value !== 'string') return value ?? null;
  try {
    return JSON.parse(value);
  } catch {
    return null;
  }
}

export type FieldSpec =
  | { kind: 'attr'; key: string; get: (node: WandbRunNode) => unknown }
  | { kind: 'config'; key: string; top: string; sub: string[] }
  | { kind: 'summary'; key: string; path: string[] };

const ATTRIBUTES: Record<string, (node: WandbRunNode) => unknown> = {
  name: (n) => n.name,
  displayName: (n) => n.displayName,
  display_name: (n) => n.displayName,
  state: (n) => n.state,
  tags: (n) => n.tags,
  group: (n) => n.group,
  jobType: (n) => n.jobType,
  job_type: (n) => n.jobType,
  host: (n) => n.host,
  sweep: (n) => n.sweepName,
  // The project's entity: every run of a project has the same one, so it filters all or nothing.
  entity: (n) => n.project?.entityName,
  sweepName: (n) => n.sweepName,
  username: (n) => n.user?.username,
  createdAt: (n) => n.createdAt,
  created_at: (n) => n.createdAt,
  heartbeatAt: (n) => n.heartbeatAt,
  heartbeat_at: (n) => n.heartbeatAt,
  updatedAt: (n) => n.updatedAt,
  updated_at: (n) => n.updatedAt,
};

export function parseFieldKey(key: string): FieldSpec {
  // Own keys only: "toString" or "__proto__" are not attributes of a run.
  const attr = Object.hasOwn(ATTRIBUTES, key) ? ATTRIBUTES[key] : undefined;
  if (attr) return { kind: 'attr', key, get: attr };
  if (key.startsWith('config.')) {
    const [top, ...sub] = key.slice('config.'.length).split('.');
    if (!top) throw badArgument(`invalid filter key "${key}": expected config.<key>`);
    // `config.<key>.value.<sub>` and `config.<key>.<sub>` address the same thing.
    if (sub[0] === 'value') sub.shift();
    return { kind: 'config', key, top, sub };
  }
  if (key.startsWith('summary_metrics.')) {
    const path = key.slice('summary_metrics.'.length).split('.');
    if (path.some((p) => p === '')) throw badArgument(`invalid filter key "${key}"`);
    return { kind: 'summary', key, path };
  }
  throw badArgument(`unsupported filter key "${key}"`);
}

function walk(value: unknown, path: readonly string[]): Lookup {
  let current = value;
  for (const part of path) {
    if (current === null || typeof current !== 'object') return MISSING;
    if (Array.isArray(current)) {
      if (!/^\d+$/.test(part)) return MISSING;
      current = current[Number(part)];
    } else {
      if (!Object.hasOwn(current, part)) return MISSING;
      current = (current as Record<string, unknown>)[part];
    }
    if (current === undefined) return MISSING;
  }
  return current;
}

/** The value a field key addresses in a run, or MISSING. */
export function lookup(doc: RunDoc, field: FieldSpec): Lookup {
  switch (field.kind) {
    case 'attr': {
      const v = field.get(doc.node);
      return v === undefined ? MISSING : v;
    }
    case 'config': {
      const cfg = doc.config;
      if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg) || !Object.hasOwn(cfg, field.top))
        return MISSING;
      const entry = (cfg as Record<string, unknown>)[field.top];
      // `{"value": v}` and `{"desc": null, "value": v}` wrap the value; a bare value (wandb_version) does not.
      const value =
        entry !== null && typeof entry === 'object' && !Array.isArray(entry) && Object.hasOwn(entry, 'value')
          ? (entry as { value: unknown }).value
          : entry;
      return walk(value, field.sub);
    }
    case 'summary':
      return walk(doc.summary, field.path);
  }
}
