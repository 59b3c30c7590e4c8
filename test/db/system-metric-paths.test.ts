import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { normalizeRun } from '../../src/core/normalize/run.js';
import { openStore } from '../../src/db/open-store.js';
import { SQLITE_MIGRATIONS } from '../../src/db/sqlite/migrations/index.js';
import { findRuns } from '../../src/query/find-runs.js';
import { tempDir } from '../helpers/db.js';

// Issue 12 item 15: W&B's `system.cpu` is the filter path `system.cpu`, not `system.system.cpu`.
let cleanup = (): void => {};
afterEach(() => cleanup());

const node = (name: string, system: Record<string, number>) => ({
  name,
  state: 'finished',
  project: { name: 'p', entityName: 'e' },
  systemMetrics: JSON.stringify(system),
});

describe('system metric paths', () => {
  it('are indexed without the system. prefix and read back from the JSON W&B sent', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const { store } = await openStore(join(t.dir, 'db.sqlite'), { create: true });
    try {
      await store.upsertRun(normalizeRun(node('a', { 'system.cpu': 50, 'system.gpu.0.temp': 70 })));
      await store.upsertRun(normalizeRun(node('b', { 'system.cpu': 5, 'system.gpu.0.temp': 40 })));
      const keys = await store.all("SELECT path FROM attribute_keys WHERE source = 'system' ORDER BY path");
      expect(keys.map((k) => k['path'])).toEqual(['cpu', 'gpu.0.temp']);
      const rows = await findRuns(store, {
        where: 'system.cpu > 10',
        columns: ['run_id', 'system.cpu', 'system.gpu.0.temp'],
      });
      expect(rows).toEqual([{ run_id: 'e/p/a', 'system.cpu': 50, 'system.gpu.0.temp': 70 }]);
      const json = await store.all('SELECT system_metrics_json FROM training_runs ORDER BY run_id');
      expect(json[0]!['system_metrics_json']).toBe('{"system.cpu":50,"system.gpu.0.temp":70}');
    } finally {
      await store.close();
    }
  });

  it('migration 010 renames the keys of a database written by the previous release', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const path = join(t.dir, 'v8.sqlite');
    // Schema 8 as the previous release left it: `system.cpu` indexed under the source `system`; run c
    // also logged an unprefixed `disk`, so both spellings of it exist.
    const old = new Database(path);
    old.exec(
      'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMP NOT NULL)',
    );
    for (const m of SQLITE_MIGRATIONS.filter((m) => m.version <= 8)) {
      m.up(old);
      old.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(m.version, m.name, '2026-11-01T00:00:00Z');
    }
    const insertRun = old.prepare(
      "INSERT INTO training_runs (run_id, run_key, wandb_entity, wandb_project, wandb_run_id, status, source_hash, system_metrics_json) VALUES (?, ?, 'e', 'p', ?, 'completed', 'x', ?)",
    );
    insertRun.run('e/p/a', 1, 'a', '{"system.cpu": 50, "system.disk": 10}');
    insertRun.run('e/p/c', 2, 'c', '{"system.cpu": 7, "disk": 20}');
    const key = old.prepare('INSERT INTO attribute_keys (key_id, source, path) VALUES (?, ?, ?)');
    key.run(1, 'system', 'system.cpu');
    key.run(2, 'system', 'system.disk');
    key.run(3, 'system', 'disk');
    key.run(4, 'config', 'system.cpu');
    const attr = old.prepare('INSERT INTO run_attributes (key_id, value, run_key, run_bucket) VALUES (?, ?, ?, 0)');
    attr.run(1, 50, 1);
    attr.run(2, 10, 1);
    attr.run(1, 7, 2);
    attr.run(3, 20, 2);
    attr.run(4, 1, 2);
    old.close();

    const { store, migration } = await openStore(path);
    try {
      expect(migration.applied).toContain('10-system-metric-paths');
      const keys = await store.all('SELECT source, path FROM attribute_keys ORDER BY source, path');
      expect(keys.map((k) => `${k['source']}:${k['path']}`)).toEqual([
        'config:system.cpu',
        'system:cpu',
        'system:disk',
      ]);
      const ids = async (where: string) =>
        (await findRuns(store, { where, columns: ['run_id'], order: ['run_id'] })).map((r) => r['run_id']);
      expect(await ids('system.cpu > 5')).toEqual(['e/p/a', 'e/p/c']);
      expect(await ids('system.disk >= 10')).toEqual(['e/p/a', 'e/p/c']);
      expect(await ids('config.system.cpu = 1')).toEqual(['e/p/c']);
      const rows = await findRuns(store, { columns: ['run_id', 'system.disk'], order: ['run_id'] });
      expect(rows.map((r) => r['system.disk'])).toEqual([10, 20]);
    } finally {
      await store.close();
    }
  });
});
