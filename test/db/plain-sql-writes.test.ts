import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { ingestNodes } from '../../src/jobs/ingest.js';
import { findRuns } from '../../src/query/find-runs.js';
import { openStore } from '../../src/db/open-store.js';
import { migrateSqlite } from '../../src/db/sqlite/migrate.js';
import { openSqliteFile } from '../../src/db/sqlite/open.js';
import { SqliteStore } from '../../src/db/sqlite/sqlite-store.js';
import { SQLITE_MIGRATIONS } from '../../src/db/sqlite/migrations/index.js';
import type { RunStore } from '../../src/db/store.js';
import { tempDir, tempStore } from '../helpers/db.js';
import { makeRun } from '../helpers/runs.js';
import { indexProblems } from './index-consistency.js';
import { join } from 'node:path';

/**
 * Writes by another program's plain SQL (migration 009). The "other program" is a bare better-sqlite3
 * connection with foreign keys off and none of traindb's SQL functions: what Python's sqlite3 gives.
 */
describe('plain SQL writes into a traindb database', () => {
  let store: RunStore;
  let path: string;
  let cleanup: () => Promise<void>;
  let sql: Database.Database;

  const ids = async (where: string): Promise<string[]> =>
    (await findRuns(store, { where, columns: ['run_id'], limit: 1000, order: ['run_id'] })).map((r) =>
      String(r['run_id']),
    );
  const config = (o: Record<string, unknown>) => JSON.stringify(o);

  beforeAll(async () => {
    ({ store, path, cleanup } = await tempStore());
    const summary = await ingestNodes(store, [
      makeRun({ name: 'w1', gradient_method: 'pcgrad', objectives: { COMT_activity: ['maximize', 0.9] } }),
      makeRun({ name: 'w2', gradient_method: 'mgda', objectives: { COMT_activity: ['maximize', 0.2] } }),
    ]);
    expect(summary.failed).toEqual([]);
    sql = new Database(path);
    sql.pragma('foreign_keys = OFF');
  });
  afterAll(async () => {
    sql.close();
    await cleanup();
  });
  beforeEach(async () => {
    // Every test starts from, and ends checked against, a consistent index.
    await store.all('SELECT 1');
    expect(indexProblems(sql)).toEqual([]);
  });

  it('assigns run_key to a run inserted with run_id only, and indexes its config before the next query', async () => {
    sql
      .prepare('INSERT INTO training_runs (run_id, config_json) VALUES (?, ?)')
      .run('s1', config({ training: { warmup_ratio: 0.07 } }));
    const { run_key } = sql.prepare('SELECT run_key FROM training_runs WHERE run_id = ?').get('s1') as {
      run_key: number;
    };
    const max = sql.prepare("SELECT max(run_key) AS m FROM training_runs WHERE run_id != 's1'").get() as { m: number };
    expect(run_key).toBe(max.m + 1);
    expect(await ids('config.training.warmup_ratio = 0.07')).toEqual(['s1']);
    expect(indexProblems(sql)).toEqual([]);
  });

  it('follows an UPDATE of config_json, final_metrics_json and tags_json by SQL', async () => {
    sql.prepare('INSERT INTO training_runs (run_id, config_json) VALUES (?, ?)').run('s2', config({ lr: 0.1 }));
    expect(await ids('config.lr = 0.1')).toEqual(['s2']);
    sql
      .prepare('UPDATE training_runs SET config_json = ?, final_metrics_json = ?, tags_json = ? WHERE run_id = ?')
      .run(config({ lr: 0.2 }), config({ 'eval/acc': 0.93 }), JSON.stringify(['sqlwritten']), 's2');
    expect(await ids('config.lr = 0.1')).toEqual([]);
    expect(await ids('config.lr = 0.2 and summary."eval/acc" > 0.9 and tags = \'sqlwritten\'')).toEqual(['s2']);
    // A run traindb wrote, edited by SQL: its old values leave the index too.
    sql
      .prepare('UPDATE training_runs SET config_json = json_set(config_json, ?, ?) WHERE run_id = ?')
      .run('$.gradient_method', 'edited', 'lab/molecule-rl/w1');
    expect(await ids("config.gradient_method = 'pcgrad'")).toEqual([]);
    expect(await ids("config.gradient_method = 'edited'")).toEqual(['lab/molecule-rl/w1']);
    expect(indexProblems(sql)).toEqual([]);
  });

  it('a DELETE by SQL removes the run from the index and its objectives, scaffolds and events', async () => {
    sql.prepare('INSERT INTO training_runs (run_id, config_json) VALUES (?, ?)').run('s3', config({ doomed: 1 }));
    sql
      .prepare("INSERT INTO run_objectives (run_id, objective_name, raw_mean) VALUES ('s3', 'COMT_activity', 0.95)")
      .run();
    expect(await ids('config.doomed = 1 and objective.COMT_activity > 0.9')).toEqual(['s3']);
    sql.prepare("DELETE FROM training_runs WHERE run_id = 's3'").run();
    sql.prepare("DELETE FROM training_runs WHERE run_id = 'lab/molecule-rl/w2'").run();
    expect(await ids('config.doomed = 1')).toEqual([]);
    expect(await ids("gradient_method = 'mgda'")).toEqual([]);
    for (const table of ['run_objectives', 'run_scaffolds', 'run_status_events']) {
      const { n } = sql
        .prepare(`SELECT count(*) AS n FROM ${table} WHERE run_id IN ('s3', 'lab/molecule-rl/w2')`)
        .get() as { n: number };
      expect(n, table).toBe(0);
    }
    expect(indexProblems(sql)).toEqual([]);
  });

  it('INSERT OR REPLACE by SQL leaves no index rows of the replaced row', async () => {
    sql.prepare('INSERT INTO training_runs (run_id, config_json) VALUES (?, ?)').run('s4', config({ v: 'old' }));
    sql.prepare("INSERT INTO run_objectives (run_id, objective_name, raw_mean) VALUES ('s4', 'QED', 0.5)").run();
    expect(await ids("config.v = 'old'")).toEqual(['s4']);
    sql
      .prepare('INSERT OR REPLACE INTO training_runs (run_id, config_json) VALUES (?, ?)')
      .run('s4', config({ v: 'new' }));
    expect(await ids("config.v = 'old'")).toEqual([]);
    expect(await ids("config.v = 'new' and objective.QED = 0.5")).toEqual(['s4']);
    expect(indexProblems(sql)).toEqual([]);
  });

  it('an objective inserted before its run gets the run_key when the run arrives', async () => {
    sql
      .prepare("INSERT INTO run_objectives (run_id, objective_name, raw_mean) VALUES ('s5', 'DRD5_activity', 0.77)")
      .run();
    sql.prepare('INSERT INTO training_runs (run_id, config_json) VALUES (?, ?)').run('s5', config({}));
    expect(await ids('objective.DRD5_activity = 0.77')).toEqual(['s5']);
    expect(indexProblems(sql)).toEqual([]);
  });

  it('renaming a run by SQL keeps its objectives (no foreign keys needed)', async () => {
    sql.prepare('INSERT INTO training_runs (run_id, config_json) VALUES (?, ?)').run('s6', config({ r: 6 }));
    sql.prepare("INSERT INTO run_objectives (run_id, objective_name, raw_mean) VALUES ('s6', 'QED', 0.66)").run();
    sql.prepare("UPDATE training_runs SET run_id = 's6-renamed' WHERE run_id = 's6'").run();
    expect(await ids('objective.QED = 0.66 and config.r = 6')).toEqual(['s6-renamed']);
    expect(indexProblems(sql)).toEqual([]);
  });

  it('refuses to change a run_key, and traindb re-syncing a run edited by SQL keeps the index exact', async () => {
    expect(() =>
      sql.prepare("UPDATE training_runs SET run_key = 999 WHERE run_id = 'lab/molecule-rl/w1'").run(),
    ).toThrow(/run_key is assigned by the database/);
    sql
      .prepare("UPDATE training_runs SET config_json = json_set(config_json, '$.sql_only', 1) WHERE run_id = ?")
      .run('lab/molecule-rl/w1');
    // The writer diffs against the stored JSON: the SQL edit is indexed first, then replaced by the sync.
    const summary = await ingestNodes(store, [
      makeRun({ name: 'w1', gradient_method: 'imtlg', updatedAt: '2026-03-02T00:00:00' }),
    ]);
    expect(summary.updated).toBe(1);
    expect(await ids('config.sql_only = 1')).toEqual([]);
    expect(await ids("config.gradient_method = 'imtlg'")).toEqual(['lab/molecule-rl/w1']);
    expect(indexProblems(sql)).toEqual([]);
  });

  it('a store on a read-only connection (a query thread) finds runs written by SQL too', async () => {
    const reader = new SqliteStore(openSqliteFile(path, { readonly: true }));
    try {
      sql.prepare('INSERT INTO training_runs (run_id, config_json) VALUES (?, ?)').run('s7', config({ ro: 7 }));
      const rows = await findRuns(reader, { where: 'config.ro = 7', columns: ['run_id'] });
      expect(rows.map((r) => r['run_id'])).toEqual(['s7']);
      expect(indexProblems(sql)).toEqual([]);
    } finally {
      await reader.close();
    }
  });

  it('a launch registered by traindb and deleted by SQL before any read leaves no index rows', async () => {
    await store.registerLaunch({ runId: 'l1', config: { launch_only: { k: 1 } } });
    const { n } = sql.prepare('SELECT count(*) AS n FROM run_index_queue').get() as { n: number };
    expect(n).toBe(0);
    sql.prepare("DELETE FROM training_runs WHERE run_id = 'l1'").run();
    expect(await ids('config.launch_only.k = 1')).toEqual([]);
    expect(indexProblems(sql)).toEqual([]);
  });

  it('a run whose JSON cannot be indexed fails alone, with its run_key and the reason', async () => {
    const deep = '{"a":'.repeat(5000) + '1' + '}'.repeat(5000);
    sql.prepare('INSERT INTO training_runs (run_id, config_json) VALUES (?, ?)').run('deep', deep);
    sql.prepare('INSERT INTO training_runs (run_id, config_json) VALUES (?, ?)').run('s8', config({ ok: 8 }));
    expect(await ids('config.ok = 8')).toEqual(['s8']);
    const failed = sql.prepare('SELECT run_key, failed FROM run_index_queue').all() as Array<{
      run_key: number;
      failed: string;
    }>;
    expect(failed).toHaveLength(1);
    expect(failed[0]!.failed).toMatch(new RegExp(`^cannot index run_key ${failed[0]!.run_key}: .+`));
    // Written again (here: deleted), it is retried and leaves nothing behind.
    sql.prepare("DELETE FROM training_runs WHERE run_id = 'deep'").run();
    await store.all('SELECT 1');
    expect(sql.prepare('SELECT count(*) AS n FROM run_index_queue').get()).toEqual({ n: 0 });
  });

  it('live_runs holds the runs not marked deleted', async () => {
    sql.prepare("UPDATE training_runs SET deleted_at = '2026-04-01' WHERE run_id = 's1'").run();
    const live = sql.prepare('SELECT run_id FROM live_runs').all() as Array<{ run_id: string }>;
    const all = sql.prepare('SELECT run_id FROM training_runs WHERE deleted_at IS NULL').all() as typeof live;
    expect(live.map((r) => r.run_id).sort()).toEqual(all.map((r) => r.run_id).sort());
    expect(live.map((r) => r.run_id)).not.toContain('s1');
  });
});

describe('migration 009 on a database that already holds runs', () => {
  it('keeps the rows and every other connection sees run_key become optional', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const path = join(dir, 'v8.sqlite');
      const db = new Database(path);
      db.pragma('journal_mode = WAL');
      const upTo8 = SQLITE_MIGRATIONS.filter((m) => m.version <= 8);
      for (const m of upTo8) m.up(db);
      db.exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMP NOT NULL);
        INSERT INTO schema_migrations SELECT 8, 'run-order-index', 'then';
        INSERT INTO training_runs (run_id, run_key, config_json) VALUES ('old', 1, '{"a": 1}');`);
      // A connection opened before the migration (a Python process, a running daemon).
      const before = new Database(path);
      expect(() => before.prepare("INSERT INTO training_runs (run_id) VALUES ('x')").run()).toThrow(/NOT NULL/);
      expect(migrateSqlite(db).applied).toContain('9-plain-sql-writes');
      db.close();
      before.prepare("INSERT INTO training_runs (run_id, config_json) VALUES ('new', '{\"a\": 2}')").run();
      const rows = before.prepare('SELECT run_id, run_key FROM training_runs ORDER BY run_key').all();
      expect(rows).toEqual([
        { run_id: 'old', run_key: 1 },
        { run_id: 'new', run_key: 2 },
      ]);
      expect(before.pragma('integrity_check', { simple: true })).toBe('ok');
      before.close();
      // Neither run was indexed by traindb before; the new one is queued, and is found once traindb reads.
      const { store } = await openStore(path);
      try {
        expect((await findRuns(store, { where: 'config.a = 2', columns: ['run_id'] })).map((r) => r['run_id'])).toEqual(
          ['new'],
        );
      } finally {
        await store.close();
      }
    } finally {
      cleanup();
    }
  });
});
