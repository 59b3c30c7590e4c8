import type { Database } from 'better-sqlite3';

/**
 * Plain SQL writes (the seed's Python `insert_run`, `insert_objective`, `update_objective_metric`, or any
 * sqlite3 client) stay correct. Everything here is plain SQL: a connection without traindb's functions
 * (Python's sqlite3) runs these triggers too.
 *
 * - run_key: NOT NULL is dropped from the column and an AFTER INSERT trigger assigns max(run_key) + 1, as
 *   traindb's writer does. SQLite cannot drop a constraint with ALTER TABLE; removing a NOT NULL by editing
 *   the stored CREATE TABLE text is the procedure SQLite documents for changes that leave the file's
 *   content as it is (https://sqlite.org/lang_altertable.html#otheralter), and it costs nothing where a
 *   rebuild would copy every run. The key never changes once assigned (a trigger refuses it).
 * - The attribute index (run_attributes) is derived in TypeScript from the stored JSON, which triggers
 *   cannot do. They queue the run instead: `run_index_queue` holds each run written by SQL with, when the
 *   index held something for it, the JSON documents it was derived from (the first version since the last
 *   catch-up). traindb's next read or write indexes the queue before it answers (SqliteStore).
 * - traindb's own writer is told apart by its columns, with no per-connection state: it always sets
 *   run_key and source_hash on insert and a new source_hash on every update of the JSON documents. A plain
 *   SQL statement leaves source_hash as it was. A launch registration (run_key set, no source_hash) is
 *   queued too; indexing it again adds nothing.
 * - Without `PRAGMA foreign_keys = ON` (Python's default) SQLite ignores ON DELETE/UPDATE CASCADE: the
 *   triggers do what the foreign keys declare, so a deleted run leaves no objective or attribute rows.
 * - INSERT OR REPLACE deletes the old row without firing delete triggers: a BEFORE INSERT trigger queues the
 *   row that would be replaced, with its documents, so its index rows go too.
 *
 * Frozen in time: the document column names are spelled out here, not imported.
 */
export const version = 9;
export const name = 'plain-sql-writes';

const NOT_NULL_KEY = 'run_key INTEGER NOT NULL UNIQUE';
const NULLABLE_KEY = 'run_key INTEGER UNIQUE';

export function up(db: Database): void {
  dropRunKeyNotNull(db);
  db.exec(`
CREATE TABLE run_index_queue (
  run_key INTEGER PRIMARY KEY,
  -- 1: the documents below are what run_attributes holds for this run_key; 0: it holds nothing for it.
  indexed INTEGER NOT NULL,
  config_json TEXT,
  final_metrics_json TEXT,
  system_metrics_json TEXT,
  tags_json TEXT,
  queued_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  -- Why traindb could not index the run (it is retried when the run is written again).
  failed TEXT
);

CREATE TRIGGER trg_runs_key_fixed BEFORE UPDATE OF run_key ON training_runs
  WHEN OLD.run_key IS NOT NULL AND NEW.run_key IS NOT OLD.run_key
BEGIN
  SELECT RAISE(ABORT, 'training_runs.run_key is assigned by the database and cannot be changed');
END;

-- A row this INSERT may replace (INSERT OR REPLACE, or an upsert's DO UPDATE) is queued with its documents.
-- A plain INSERT that conflicts fails, and this is rolled back with it.
CREATE TRIGGER trg_runs_sql_replace BEFORE INSERT ON training_runs
  WHEN NEW.source_hash IS NULL OR NEW.run_key IS NULL
BEGIN
  INSERT INTO run_index_queue (run_key, indexed, config_json, final_metrics_json, system_metrics_json, tags_json)
    SELECT run_key, 1, config_json, final_metrics_json, system_metrics_json, tags_json FROM training_runs
    WHERE run_id = NEW.run_id OR run_key = NEW.run_key
       OR (wandb_entity = NEW.wandb_entity AND wandb_project = NEW.wandb_project AND wandb_run_id = NEW.wandb_run_id)
    ON CONFLICT (run_key) DO UPDATE SET failed = NULL;
END;

CREATE TRIGGER trg_runs_sql_insert AFTER INSERT ON training_runs
  WHEN NEW.source_hash IS NULL OR NEW.run_key IS NULL
BEGIN
  UPDATE training_runs SET run_key = (SELECT coalesce(max(run_key), 0) + 1 FROM training_runs)
    WHERE rowid = NEW.rowid AND run_key IS NULL;
  -- Objectives inserted before their run, or left by a replaced row, follow the run's key.
  UPDATE run_objectives SET run_key = (SELECT run_key FROM training_runs WHERE rowid = NEW.rowid)
    WHERE run_id = NEW.run_id AND run_key IS NOT (SELECT run_key FROM training_runs WHERE rowid = NEW.rowid);
  INSERT INTO run_index_queue (run_key, indexed) SELECT run_key, 0 FROM training_runs WHERE rowid = NEW.rowid
    ON CONFLICT (run_key) DO UPDATE SET failed = NULL;
END;

-- BEFORE, reading the documents from the row, not OLD.config_json: a trigger that names OLD.<column> makes
-- every UPDATE load that column, and traindb's writer would read each run's old JSON for nothing.
CREATE TRIGGER trg_runs_sql_update BEFORE UPDATE OF config_json, final_metrics_json, system_metrics_json, tags_json
  ON training_runs WHEN NEW.source_hash IS OLD.source_hash
BEGIN
  INSERT INTO run_index_queue (run_key, indexed, config_json, final_metrics_json, system_metrics_json, tags_json)
    SELECT run_key, 1, config_json, final_metrics_json, system_metrics_json, tags_json FROM training_runs
    WHERE rowid = OLD.rowid
    ON CONFLICT (run_key) DO UPDATE SET failed = NULL;
END;

CREATE TRIGGER trg_runs_sql_delete AFTER DELETE ON training_runs
BEGIN
  INSERT INTO run_index_queue (run_key, indexed, config_json, final_metrics_json, system_metrics_json, tags_json)
    VALUES (OLD.run_key, 1, OLD.config_json, OLD.final_metrics_json, OLD.system_metrics_json, OLD.tags_json)
    ON CONFLICT (run_key) DO UPDATE SET failed = NULL;
  DELETE FROM run_objectives WHERE run_id = OLD.run_id;
  DELETE FROM run_scaffolds WHERE run_id = OLD.run_id;
  DELETE FROM run_status_events WHERE run_id = OLD.run_id;
END;

CREATE TRIGGER trg_runs_run_id AFTER UPDATE OF run_id ON training_runs WHEN NEW.run_id IS NOT OLD.run_id
BEGIN
  UPDATE run_objectives SET run_id = NEW.run_id WHERE run_id = OLD.run_id;
  UPDATE run_scaffolds SET run_id = NEW.run_id WHERE run_id = OLD.run_id;
  UPDATE run_status_events SET run_id = NEW.run_id WHERE run_id = OLD.run_id;
END;

CREATE TRIGGER trg_obj_run_id AFTER UPDATE OF run_id ON run_objectives
BEGIN
  UPDATE run_objectives SET run_key = (SELECT run_key FROM training_runs WHERE run_id = NEW.run_id) WHERE id = NEW.id;
END;

-- The runs traindb shows by default: those W&B still serves.
CREATE VIEW live_runs AS SELECT * FROM training_runs WHERE deleted_at IS NULL;
`);
}

function dropRunKeyNotNull(db: Database): void {
  const { sql } = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'training_runs'").get() as {
    sql: string;
  };
  if (sql.split(NOT_NULL_KEY).length !== 2) {
    throw new Error(`training_runs is not as migration 001 created it (expected one '${NOT_NULL_KEY}')`);
  }
  const schemaVersion = db.pragma('schema_version', { simple: true }) as number;
  // Defensive mode (better-sqlite3's default) forbids writing the schema table; off for these statements only.
  db.unsafeMode(true);
  try {
    db.pragma('writable_schema = ON');
    db.prepare("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'training_runs'").run(
      sql.replace(NOT_NULL_KEY, NULLABLE_KEY),
    );
    // Other connections (a daemon, a Python process) reload the schema when its version changes.
    db.pragma(`schema_version = ${schemaVersion + 1}`);
  } finally {
    db.pragma('writable_schema = RESET');
    db.unsafeMode(false);
  }
}
