import type Database from 'better-sqlite3';
import { storedAttributes, type StoredDocuments } from '../../src/core/normalize/stored.js';

/**
 * What a correct database holds, checked from outside: every run's attribute-index rows are exactly those
 * derived from its stored JSON, no index or objective row belongs to a run that is gone, and every
 * objective row carries its run's run_key. Returns the differences (empty when consistent).
 */
export function indexProblems(db: Database.Database): string[] {
  const problems: string[] = [];
  const runs = db
    .prepare(
      'SELECT run_id, run_key, config_json, final_metrics_json, system_metrics_json, tags_json FROM training_runs',
    )
    .all() as Array<StoredDocuments & { run_id: string; run_key: number | null }>;
  const indexed = new Map<number, Set<string>>();
  const rows = db
    .prepare(
      `SELECT a.run_key, k.source, k.path, a.value, typeof(a.value) AS t
       FROM run_attributes a JOIN attribute_keys k USING (key_id)`,
    )
    .all() as Array<{ run_key: number; source: string; path: string; value: number | string; t: string }>;
  for (const r of rows) {
    const set = indexed.get(r.run_key) ?? new Set<string>();
    set.add(`${r.source}:${r.path}=${typeof r.value}:${r.value}`);
    indexed.set(r.run_key, set);
  }
  const keys = new Set<number>();
  for (const run of runs) {
    if (run.run_key === null) {
      problems.push(`${run.run_id}: no run_key`);
      continue;
    }
    keys.add(run.run_key);
    const want = new Set(storedAttributes(run).map((a) => `${a.source}:${a.path}=${typeof a.value}:${a.value}`));
    const have = indexed.get(run.run_key) ?? new Set<string>();
    for (const w of want) if (!have.has(w)) problems.push(`${run.run_id}: missing ${w}`);
    for (const h of have) if (!want.has(h)) problems.push(`${run.run_id}: stale ${h}`);
  }
  for (const k of indexed.keys()) if (!keys.has(k)) problems.push(`run_key ${k}: index rows of no run`);
  const objectives = db
    .prepare(
      `SELECT o.run_id, o.objective_name, o.run_key, r.run_key AS expected
       FROM run_objectives o LEFT JOIN training_runs r ON r.run_id = o.run_id`,
    )
    .all() as Array<{ run_id: string; objective_name: string; run_key: number | null; expected: number | null }>;
  for (const o of objectives) {
    if (o.expected === null) problems.push(`objective ${o.run_id}/${o.objective_name}: no such run`);
    else if (o.run_key !== o.expected)
      problems.push(`objective ${o.run_id}/${o.objective_name}: run_key ${o.run_key}, run has ${o.expected}`);
  }
  return problems;
}
