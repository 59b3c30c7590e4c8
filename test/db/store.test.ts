import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { normalizeRun } from '../../src/core/normalize/run.js';
import { ingestNodes } from '../../src/jobs/ingest.js';
import type { RunStore } from '../../src/db/store.js';
import { tempStore } from '../helpers/db.js';
import { makeRun } from '../helpers/runs.js';
import { findRuns } from '../../src/query/find-runs.js';

let store: RunStore;
let cleanup: () => Promise<void>;
let path: string;
beforeEach(async () => ({ store, cleanup, path } = await tempStore()));
afterEach(async () => cleanup());

/** Every row of every traindb table except audit timestamps: a row-level snapshot. */
async function snapshot(s: RunStore) {
  const tables = {
    training_runs: 'SELECT * FROM training_runs ORDER BY run_id',
    run_objectives: 'SELECT * FROM run_objectives ORDER BY run_id, objective_name',
    run_scaffolds: 'SELECT * FROM run_scaffolds ORDER BY run_id, scaffold_id',
    run_status_events: 'SELECT run_id, from_status, to_status, source FROM run_status_events ORDER BY id',
    run_attributes: 'SELECT * FROM run_attributes ORDER BY run_key, key_id, value',
    attribute_keys: 'SELECT * FROM attribute_keys ORDER BY key_id',
  };
  const out: Record<string, unknown[]> = {};
  for (const [name, sql] of Object.entries(tables)) {
    out[name] = (await s.all(sql)).map((r) => {
      const { updated_at_db: _u, created_at_db: _c, ...rest } = r;
      return rest;
    });
  }
  return out;
}

describe('upsert', () => {
  it('is idempotent: ingesting the same runs twice changes no row', async () => {
    const nodes = [
      makeRun({ name: 'a', objectives: { QED: ['maximize', 0.5] } }),
      makeRun({ name: 'b', launchId: 'L1' }),
    ];
    await ingestNodes(store, nodes);
    const before = await snapshot(store);
    const again = await ingestNodes(store, nodes);
    expect(again).toMatchObject({ inserted: 0, updated: 0, unchanged: 2 });
    expect(await snapshot(store)).toEqual(before);
  });

  it('never lets an older version of a run overwrite a newer one', async () => {
    const older = makeRun({ name: 'a', state: 'running', loss: 0.9, updatedAt: '2026-03-01T10:00:00' });
    const newer = makeRun({ name: 'a', state: 'finished', loss: 0.2, updatedAt: '2026-03-01T12:00:00' });
    await ingestNodes(store, [newer]);
    const before = await snapshot(store);
    const result = await ingestNodes(store, [older]);
    expect(result.stale).toBe(1);
    expect(await snapshot(store)).toEqual(before);
    const [row] = await store.all('SELECT status, final_loss FROM training_runs');
    expect(row).toEqual({ status: 'completed', final_loss: 0.2 });
  });

  it('records each status transition exactly once, however often a run is re-processed', async () => {
    const v1 = makeRun({ name: 'a', state: 'running', updatedAt: '2026-03-01T10:00:00' });
    const v2 = makeRun({ name: 'a', state: 'crashed', updatedAt: '2026-03-01T10:10:00' });
    for (const n of [v1, v1, v2, v2, v1, v2]) await store.upsertRun(normalizeRun(n));
    const events = await store.all('SELECT from_status, to_status, source FROM run_status_events ORDER BY id');
    expect(events).toEqual([
      { from_status: null, to_status: 'running', source: 'wandb' },
      { from_status: 'running', to_status: 'crashed', source: 'wandb' },
    ]);
  });

  it('updates only the attribute rows that changed, and drops objectives that disappeared', async () => {
    await store.upsertRun(
      normalizeRun(
        makeRun({
          name: 'a',
          kl: 0.3,
          objectives: { QED: ['maximize', 0.5], logP: ['maximize', 2] },
          updatedAt: '2026-03-01T10:00:00',
        }),
      ),
    );
    await store.upsertRun(
      normalizeRun(
        makeRun({ name: 'a', kl: 0.1, objectives: { QED: ['maximize', 0.6] }, updatedAt: '2026-03-01T11:00:00' }),
      ),
    );
    const kl = await store.all(
      `SELECT a.value FROM run_attributes a JOIN attribute_keys k USING (key_id) WHERE k.source = 'summary' AND k.path = 'train/kl'`,
    );
    expect(kl).toEqual([{ value: 0.1 }]);
    expect(await store.all('SELECT objective_name, raw_mean FROM run_objectives')).toEqual([
      { objective_name: 'QED', raw_mean: 0.6 },
    ]);
  });

  it('links a W&B run to the row registered at launch instead of duplicating it', async () => {
    // A row as the seed's launch_ec2.py inserts it, through a plain connection.
    const raw = new Database(path);
    raw.exec(`INSERT INTO training_runs (run_id, run_key, status, host, instance_id, config_file_path)
              VALUES ('launch-7', 1, 'launched', 'ec2', 'i-0abc', 's3://cfg/run.yaml')`);
    raw.close();
    await store.upsertRun(
      normalizeRun(makeRun({ name: 'w7', launchId: 'launch-7', state: 'running', host: undefined })),
    );
    const rows = await store.all(
      'SELECT run_id, wandb_run_id, status, instance_id, config_file_path FROM training_runs',
    );
    expect(rows).toEqual([
      {
        run_id: 'launch-7',
        wandb_run_id: 'w7',
        status: 'running',
        instance_id: 'i-0abc',
        config_file_path: 's3://cfg/run.yaml',
      },
    ]);
    const events = await store.all('SELECT from_status, to_status FROM run_status_events');
    expect(events).toEqual([{ from_status: 'launched', to_status: 'running' }]);
  });

  it("finds objectives inserted the seed's way (run_id only) through the query engine", async () => {
    const { findRuns } = await import('../../src/query/find-runs.js');
    const raw = new Database(path);
    raw.exec(`INSERT INTO training_runs (run_id, run_key, status) VALUES ('seed-run', 1, 'launched')`);
    // The seed's insert_objective, then its update_objective_metric.
    raw
      .prepare(
        `INSERT INTO run_objectives (run_id, objective_name, objective_alias, uniprot, weight, direction)
                 VALUES (?, ?, ?, ?, ?, ?)`,
      )
      .run('seed-run', 'DRD5_activity', 'DRD5_activity_maximize', 'P21918', 1.0, 'maximize');
    raw
      .prepare('UPDATE run_objectives SET raw_mean = ? WHERE run_id = ? AND objective_name = ?')
      .run(0.93, 'seed-run', 'DRD5_activity');
    raw.close();
    const rows = await findRuns(store, {
      where: 'objective.DRD5_activity > 0.9',
      columns: ['run_id', 'objective.DRD5_activity'],
    });
    expect(rows).toEqual([{ run_id: 'seed-run', 'objective.DRD5_activity': 0.93 }]);
  });

  it('keeps two W&B runs that carry the same launch id apart, with a warning', async () => {
    const summary = await ingestNodes(store, [
      makeRun({ name: 'w1', launchId: 'L' }),
      makeRun({ name: 'w2', launchId: 'L' }),
    ]);
    expect(summary.inserted).toBe(2);
    expect(summary.warnings.join()).toMatch(/launch id L already belongs to W&B run lab\/molecule-rl\/w1/);
    expect((await store.all('SELECT run_id FROM training_runs ORDER BY run_id')).map((r) => r['run_id'])).toEqual([
      'L',
      'lab/molecule-rl/w2',
    ]);
  });

  it('holds the same run id from two projects as two runs', async () => {
    await ingestNodes(store, [makeRun({ name: 'same', project: 'p1' }), makeRun({ name: 'same', project: 'p2' })]);
    expect(await store.all('SELECT wandb_project FROM training_runs ORDER BY 1')).toEqual([
      { wandb_project: 'p1' },
      { wandb_project: 'p2' },
    ]);
  });

  it('reports a malformed run with its id and reason and writes all the others', async () => {
    const bad = { ...makeRun({ name: 'bad1' }), summaryMetrics: '{"x": ' };
    const summary = await ingestNodes(store, [makeRun({ name: 'ok1' }), bad, { nope: true }, makeRun({ name: 'ok2' })]);
    expect(summary.inserted).toBe(2);
    expect(summary.failed).toEqual([
      { run: 'bad1', reason: expect.stringMatching(/summaryMetrics is not valid JSON/) },
      { run: '(no name)', reason: expect.stringMatching(/no "name"/) },
    ]);
  });

  it('writes a batch and its cursor atomically', async () => {
    const runs = [normalizeRun(makeRun({ name: 'a' }))];
    await store.upsertBatch(runs, {
      syncState: { entity: 'lab', project: 'molecule-rl', kind: 'backfill', cursor: 'c1' },
    });
    expect(await store.getSyncState('lab', 'molecule-rl', 'backfill')).toMatchObject({ cursor: 'c1' });
  });
});

describe('the attribute index is clustered in buckets of 512 run keys', () => {
  it('finds, updates and deletes rows in every bucket, and each row carries run_key >> 9', async () => {
    await ingestNodes(store, [makeRun({ name: 'low', gas: 8, kl: 0.05 })]);
    // A run key far ahead, as in a database with ~1,100 runs: the next runs land in bucket 2.
    const raw = new Database(path);
    raw.exec("INSERT INTO training_runs (run_id, run_key, status) VALUES ('placeholder', 1100, 'launched')");
    raw.close();
    await ingestNodes(store, [
      makeRun({ name: 'high', gas: 8, kl: 0.05, updatedAt: '2026-03-01T10:00:00' }),
      makeRun({ name: 'other', gas: 2, kl: 0.5 }),
    ]);
    const buckets = await store.all('SELECT DISTINCT run_key, run_bucket FROM run_attributes ORDER BY run_key');
    expect(buckets).toEqual([
      { run_key: 1, run_bucket: 0 },
      { run_key: 1101, run_bucket: 2 },
      { run_key: 1102, run_bucket: 2 },
    ]);
    expect(await store.all('SELECT run_bucket FROM run_buckets')).toEqual([
      { run_bucket: 0 },
      { run_bucket: 1 },
      { run_bucket: 2 },
    ]);
    const ids = async (where: string) =>
      (await findRuns(store, { where, columns: ['wandb_run_id'], limit: 100 })).map((r) => r['wandb_run_id']).sort();
    expect(await ids('config.training.gradient_accumulation_steps > 4')).toEqual(['high', 'low']);
    expect(await ids('summary."train/kl" < 0.1')).toEqual(['high', 'low']);

    // An update in bucket 2 removes the old value there.
    await ingestNodes(store, [makeRun({ name: 'high', gas: 8, kl: 0.9, updatedAt: '2026-03-01T11:00:00' })]);
    expect(await ids('summary."train/kl" < 0.1')).toEqual(['low']);
    expect(await ids('summary."train/kl" > 0.8')).toEqual(['high']);
  });
});
