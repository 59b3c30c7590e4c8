import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openStore } from '../../src/db/open-store.js';
import { SQLITE_MIGRATIONS } from '../../src/db/sqlite/migrations/index.js';
import { findRuns } from '../../src/query/find-runs.js';
import { tempDir } from '../helpers/db.js';

let cleanup = (): void => {};
afterEach(() => cleanup());

describe('a database written before the attribute index had buckets (schema 3)', () => {
  it('keeps every attribute row, gives each its bucket, and answers filters after the upgrade', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const path = join(t.dir, 'v3.sqlite');
    // Schema 3 exactly as that release left it: migrations 1-3, then rows in the old layout.
    const old = new Database(path);
    old.exec(
      'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMP NOT NULL)',
    );
    for (const m of SQLITE_MIGRATIONS.filter((m) => m.version <= 3)) {
      m.up(old);
      old.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(m.version, m.name, '2026-11-01T00:00:00Z');
    }
    const insertRun = old.prepare(
      "INSERT INTO training_runs (run_id, run_key, wandb_entity, wandb_project, wandb_run_id, status, source_hash) VALUES (?, ?, 'e', 'p', ?, 'completed', 'x')",
    );
    old.prepare("INSERT INTO attribute_keys (key_id, source, path) VALUES (1, 'config', 'training.batch_size')").run();
    const insertAttr = old.prepare('INSERT INTO run_attributes (key_id, value, run_key) VALUES (1, ?, ?)');
    const keys = [1, 2, 4095, 4096, 9000, 13000];
    for (const k of keys) {
      insertRun.run(`run-${k}`, k, `w${k}`);
      insertAttr.run(k % 2 === 0 ? 64 : 32, k);
    }
    old.close();

    const { store, migration } = await openStore(path);
    try {
      expect(migration.applied).toContain('4-bucketed-attributes');
      expect(migration.applied).toContain('7-smaller-run-buckets');
      expect(await store.all('SELECT key_id, value, run_key, run_bucket FROM run_attributes ORDER BY run_key')).toEqual(
        keys.map((k) => ({ key_id: 1, value: k % 2 === 0 ? 64 : 32, run_key: k, run_bucket: k >> 9 })),
      );
      expect(await store.all('SELECT count(*) AS n FROM run_buckets')).toEqual([{ n: (13000 >> 9) + 1 }]);
      const found = await findRuns(store, {
        where: 'config.training.batch_size = 64',
        columns: ['run_id'],
        order: ['run_id'],
      });
      expect(found.map((r) => r['run_id'])).toEqual(['run-13000', 'run-2', 'run-4096', 'run-9000']);
    } finally {
      await store.close();
    }
  });
});
