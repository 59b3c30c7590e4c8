import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openStore } from '../../src/db/open-store.js';
import { ingestNodes } from '../../src/jobs/ingest.js';
import { tempDir } from '../helpers/db.js';
import { makeRun } from '../helpers/runs.js';

// The seed's "Current Schema (v1)", plus two of its "-- ... other fields" as a real v1 would have.
const V1 = `CREATE TABLE training_runs (
  run_id TEXT PRIMARY KEY,
  wandb_run_id TEXT UNIQUE,
  batch_size INTEGER,
  learning_rate REAL,
  beta REAL,
  gradient_method TEXT,
  num_gpus INTEGER,
  num_objectives INTEGER,
  num_scaffolds INTEGER,
  config_json TEXT,
  final_metrics_json TEXT,
  status TEXT,
  owner_note TEXT
);`;

let cleanup = (): void => {};
afterEach(() => cleanup());

describe('a seed-v1 database', () => {
  it('upgrades in place with every row and column kept, then answers v2 queries', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const path = join(t.dir, 'v1.sqlite');
    const v1 = new Database(path);
    v1.exec(V1);
    v1.prepare(
      `INSERT INTO training_runs VALUES ('launch-1', 'w1', 64, 0.001, 0.05, 'mgda', 4, 3, 100, ?, ?, 'completed', 'keep me')`,
    ).run(
      JSON.stringify({
        training: { batch_size: 64, gradient_accumulation_steps: 8 },
        objectives: [{ name: 'DRD5_activity', direction: 'maximize' }],
      }),
      JSON.stringify({ 'objectives/DRD5_activity_maximize/raw_mean': 0.91, 'train/loss': 0.2 }),
    );
    v1.prepare(`INSERT INTO training_runs (run_id, gradient_method) VALUES ('launch-2', 'pcgrad')`).run();
    v1.close();

    const { store, migration } = await openStore(path);
    try {
      expect(migration).toMatchObject({ from: 0, upgradedFromV1: true });
      const rows = await store.all(
        'SELECT run_id, wandb_run_id, batch_size, gradient_method, status, owner_note FROM training_runs ORDER BY run_id',
      );
      expect(rows).toEqual([
        {
          run_id: 'launch-1',
          wandb_run_id: 'w1',
          batch_size: 64,
          gradient_method: 'mgda',
          status: 'completed',
          owner_note: 'keep me',
        },
        {
          run_id: 'launch-2',
          wandb_run_id: null,
          batch_size: null,
          gradient_method: 'pcgrad',
          status: null,
          owner_note: null,
        },
      ]);
      // The seed's v2 objective query works on the upgraded file (objectives rebuilt from stored JSON).
      const high = await store.all(
        `SELECT r.run_id FROM training_runs r JOIN run_objectives o ON r.run_id = o.run_id
         WHERE o.objective_name = 'DRD5_activity' AND o.raw_mean > 0.8`,
      );
      expect(high).toEqual([{ run_id: 'launch-1' }]);
      const { findRuns } = await import('../../src/query/find-runs.js');
      const viaIndex = await findRuns(store, {
        where: 'config.training.gradient_accumulation_steps > 4',
        columns: ['run_id'],
      });
      expect(viaIndex).toEqual([{ run_id: 'launch-1' }]);
    } finally {
      await store.close();
    }
    // Opening again applies nothing.
    const second = await openStore(path);
    expect(second.migration.applied).toEqual([]);
    await second.store.close();
  });

  it('re-ingesting everything after the upgrade changes nothing', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const path = join(t.dir, 'v1.sqlite');
    const v1 = new Database(path);
    v1.exec(V1);
    v1.close();
    const nodes = [makeRun({ name: 'w1', launchId: 'launch-1' }), makeRun({ name: 'w2' })];
    const { store } = await openStore(path);
    try {
      await ingestNodes(store, nodes);
      const snap = async () =>
        store.all('SELECT * FROM training_runs ORDER BY run_id').then((r) => r.map(({ updated_at_db: _u, ...x }) => x));
      const before = await snap();
      const again = await ingestNodes(store, nodes);
      expect(again.unchanged).toBe(2);
      expect(await snap()).toEqual(before);
    } finally {
      await store.close();
    }
  });
});
