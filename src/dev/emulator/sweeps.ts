/**
 * Sweeps as the emulator serves them (`Project.sweep`, `Project.sweeps`, `Run.sweep`). A sweep exists
 * for every `sweepName` a project's runs carry, and for every sweep seeded explicitly; what a seed leaves
 * out is derived from the sweep's runs (counts, times, state) or given a neutral default (method
 * `random`, a config with no parameters).
 */
import { stringify } from 'yaml';
import type { WandbRunNode } from '../../core/wandb-run.js';
import { toWandbTime } from '../wandb-time.js';
import { badArgument } from './errors.js';
import type { Lookup } from './fields.js';
import { MISSING } from './fields.js';
import type { KeyResolver } from './filters.js';

/** A sweep to seed: everything but the name is optional. */
export interface SweepSeed {
  /** The sweep id, e.g. "k3x9q2ab": what runs carry as `sweepName`. */
  name: string;
  displayName?: string | null;
  /** grid | random | bayes; default: the config's `method`, else "random". */
  method?: string;
  /** PENDING | RUNNING | PAUSED | CANCELED | FINISHED; default RUNNING while a run is alive, else FINISHED. */
  state?: string;
  description?: string | null;
  /** YAML text, as W&B stores it; an object is rendered as YAML. */
  config?: string | Record<string, unknown>;
  bestLoss?: number | null;
  /** null: no limit. */
  runCountExpected?: number | null;
  createdAt?: string;
  updatedAt?: string | null;
}

/** A sweep with every field the schema has, as resolvers hand it out. */
export interface SweepRecord {
  name: string;
  displayName: string | null;
  method: string;
  state: string;
  description: string | null;
  bestLoss: number | null;
  config: string;
  createdAt: string;
  updatedAt: string | null;
  runCount: number;
  runCountExpected: number | null;
}

const ALIVE = new Set(['running', 'pending', 'preempting']);

/** Validates and normalises a seed (times in W&B's form, config as YAML text). */
export function normalizeSweepSeed(seed: SweepSeed): SweepSeed {
  if (!seed || typeof seed.name !== 'string' || seed.name === '')
    throw new TypeError('a sweep needs a non-empty string name');
  const out: SweepSeed = { ...seed };
  if (seed.config !== undefined && typeof seed.config !== 'string') out.config = stringify(seed.config);
  if (seed.createdAt !== undefined) out.createdAt = toWandbTime(seed.createdAt);
  if (typeof seed.updatedAt === 'string') out.updatedAt = toWandbTime(seed.updatedAt);
  return out;
}

function configMethod(yamlText: string | undefined): string | undefined {
  const m = yamlText === undefined ? null : /^method:\s*["']?([A-Za-z_]+)["']?\s*$/m.exec(yamlText);
  return m?.[1];
}

/**
 * Every sweep of a project: seeded ones first in seeding order, then those only runs name, in the order
 * their first run appears. `projectCreatedAt` dates a seeded sweep that has neither a time nor runs.
 */
export function collectSweeps(
  seeds: ReadonlyMap<string, SweepSeed>,
  runs: Iterable<WandbRunNode>,
  projectCreatedAt: string,
): SweepRecord[] {
  const byName = new Map<string, WandbRunNode[]>();
  for (const name of seeds.keys()) byName.set(name, []);
  for (const run of runs) {
    const s = run.sweepName;
    if (!s) continue;
    let list = byName.get(s);
    if (!list) byName.set(s, (list = []));
    list.push(run);
  }
  const out: SweepRecord[] = [];
  for (const [name, members] of byName) {
    const seed = seeds.get(name);
    let first: string | undefined;
    let last: string | undefined;
    for (const r of members) {
      if (r.createdAt && (first === undefined || r.createdAt < first)) first = r.createdAt;
      const u = r.updatedAt ?? r.createdAt;
      if (u && (last === undefined || u > last)) last = u;
    }
    const alive = members.some((r) => ALIVE.has(r.state ?? ''));
    const method = seed?.method ?? configMethod(seed?.config as string | undefined) ?? 'random';
    const createdAt = seed?.createdAt ?? first ?? projectCreatedAt;
    out.push({
      name,
      displayName: seed?.displayName ?? null,
      method,
      state: seed?.state ?? (alive ? 'RUNNING' : 'FINISHED'),
      description: seed?.description ?? null,
      bestLoss: seed?.bestLoss ?? null,
      config: (seed?.config as string | undefined) ?? stringify({ method, parameters: {} }),
      createdAt,
      updatedAt: seed?.updatedAt !== undefined ? seed.updatedAt : (last ?? createdAt),
      runCount: members.length,
      runCountExpected: seed?.runCountExpected ?? null,
    });
  }
  return out;
}

const SWEEP_KEYS: Record<string, (s: SweepRecord) => unknown> = {
  name: (s) => s.name,
  displayName: (s) => s.displayName,
  display_name: (s) => s.displayName,
  state: (s) => s.state,
  method: (s) => s.method,
  createdAt: (s) => s.createdAt,
  created_at: (s) => s.createdAt,
  updatedAt: (s) => s.updatedAt,
  updated_at: (s) => s.updatedAt,
};

/** Filter keys of `Project.sweeps(filters)`. */
export const sweepKey: KeyResolver<SweepRecord> = (key) => {
  const get = Object.hasOwn(SWEEP_KEYS, key) ? SWEEP_KEYS[key] : undefined;
  if (!get)
    throw badArgument(`unsupported sweep filter key "${key}": use one of ${Object.keys(SWEEP_KEYS).join(', ')}`);
  return (s): Lookup => {
    const v = get(s);
    return v === undefined ? MISSING : v;
  };
};
