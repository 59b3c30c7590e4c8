import type { Database } from 'better-sqlite3';

/**
 * Schema v2 (the seed document's "Proposed Schema"), plus what it implies: W&B entity/project and raw
 * state, a status-transition log, and an attribute index that answers a filter on ANY config/summary
 * path from a B-tree instead of parsing every run's JSON.
 *
 * Frozen in time: this file must not import application code. A database in the seed's v1 layout is
 * rebuilt in place (SQLite cannot add UNIQUE constraints or drop them with ALTER TABLE); every v1 column,
 * including ones v2 does not know ("-- ... other fields"), is carried over with its data.
 */
const TRAINING_RUNS_COLUMNS = `
  run_id TEXT PRIMARY KEY,
  run_key INTEGER NOT NULL UNIQUE,
  wandb_run_id TEXT,
  run_name TEXT,
  wandb_entity TEXT,
  wandb_project TEXT,
  created_at TIMESTAMP,
  started_at TIMESTAMP,
  ended_at TIMESTAMP,
  duration_seconds INTEGER,
  heartbeat_at TIMESTAMP,
  wandb_updated_at TIMESTAMP,
  status TEXT DEFAULT 'launched',
  state TEXT,
  host TEXT,
  instance_id TEXT,
  config_file_path TEXT,
  chain_of_custody_id TEXT,
  batch_size INTEGER,
  learning_rate REAL,
  beta REAL,
  gradient_method TEXT,
  num_gpus INTEGER,
  num_objectives INTEGER,
  num_scaffolds INTEGER,
  max_steps INTEGER,
  gradient_accumulation_steps INTEGER,
  max_grad_norm REAL,
  mixed_precision BOOLEAN,
  gradient_checkpointing BOOLEAN,
  enable_moving_targets BOOLEAN,
  n_clusters INTEGER,
  return_groups BOOLEAN,
  final_loss REAL,
  final_grad_norm REAL,
  final_learning_rate REAL,
  total_training_steps INTEGER,
  tags_json TEXT,
  notes TEXT,
  wandb_group TEXT,
  job_type TEXT,
  sweep_name TEXT,
  wandb_user TEXT,
  conversation_s3_key TEXT,
  error_log_s3_key TEXT,
  crash_report_s3_key TEXT,
  crash_analysis_s3_key TEXT,
  blog_post_url TEXT,
  source_hash TEXT,
  deleted_at TIMESTAMP,
  created_at_db TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  updated_at_db TIMESTAMP DEFAULT CURRENT_TIMESTAMP`;

// The large JSON documents come last: SQLite keeps the start of a row on its B-tree page and the rest
// in overflow pages, so reading status or deleted_at never has to walk a run's 8 KB of JSON.
const DOCUMENT_COLUMNS = `
  config_json TEXT,
  final_metrics_json TEXT,
  system_metrics_json TEXT,
  wandb_internal_json TEXT`;

const INDEXES = `
CREATE UNIQUE INDEX idx_wandb_identity ON training_runs(wandb_entity, wandb_project, wandb_run_id);
CREATE INDEX idx_wandb_run_id ON training_runs(wandb_run_id);
CREATE INDEX idx_gradient_method ON training_runs(gradient_method);
CREATE INDEX idx_status ON training_runs(status);
CREATE INDEX idx_host ON training_runs(host);
CREATE INDEX idx_created_at ON training_runs(created_at DESC);
CREATE INDEX idx_batch_size ON training_runs(batch_size);
CREATE INDEX idx_learning_rate ON training_runs(learning_rate);
-- A covering index of the narrow columns: the query engine finds runs through run_objectives or
-- run_attributes and then needs a few columns of each; reading them here costs a tenth of the pages
-- of the rows themselves, and a group comparison scans this instead of the table.
CREATE INDEX idx_runs_narrow ON training_runs(run_key, deleted_at, status, created_at, run_id, gradient_method,
  host, batch_size, learning_rate, beta, num_gpus, num_objectives, num_scaffolds, max_steps,
  gradient_accumulation_steps, max_grad_norm, mixed_precision, gradient_checkpointing, enable_moving_targets,
  n_clusters, return_groups, final_loss, final_grad_norm, final_learning_rate, total_training_steps,
  duration_seconds, wandb_entity, wandb_project, wandb_run_id);

CREATE TABLE run_objectives (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL,
  objective_name TEXT NOT NULL,
  objective_alias TEXT,
  uniprot TEXT,
  weight REAL,
  direction TEXT,
  raw_mean REAL,
  normalized_mean REAL,
  raw_std REAL,
  normalized_std REAL,
  stats_json TEXT,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  -- training_runs.run_key: the compact integer key traindb's queries join on (run_id stays for the seed's SQL).
  run_key INTEGER,
  FOREIGN KEY (run_id) REFERENCES training_runs(run_id) ON DELETE CASCADE ON UPDATE CASCADE
);
-- Rows inserted the seed's way (run_id only) get their run_key here.
CREATE TRIGGER trg_obj_run_key AFTER INSERT ON run_objectives WHEN NEW.run_key IS NULL
BEGIN
  UPDATE run_objectives SET run_key = (SELECT run_key FROM training_runs WHERE run_id = NEW.run_id) WHERE id = NEW.id;
END;
-- The seed's objective indexes, widened so each answers a query with no table lookup: "objective X
-- above a threshold" is one range scan of idx_obj_name (or idx_obj_normalized_mean). The seed's
-- idx_obj_run_id and idx_obj_raw_mean are covered by idx_obj_run_name and idx_obj_name respectively.
CREATE UNIQUE INDEX idx_obj_run_name ON run_objectives(run_id, objective_name);
CREATE INDEX idx_obj_name ON run_objectives(objective_name, raw_mean, run_key);
CREATE INDEX idx_obj_normalized_mean ON run_objectives(objective_name, normalized_mean, run_key);

CREATE TABLE run_scaffolds (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL,
  scaffold_id TEXT NOT NULL,
  scores_json TEXT,
  pareto_rank INTEGER,
  cluster_id INTEGER,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  FOREIGN KEY (run_id) REFERENCES training_runs(run_id) ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE UNIQUE INDEX idx_scaffold_run_scaffold ON run_scaffolds(run_id, scaffold_id);

CREATE TABLE run_status_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL,
  from_status TEXT,
  to_status TEXT NOT NULL,
  observed_at TIMESTAMP NOT NULL,
  source TEXT NOT NULL,
  detail TEXT,
  FOREIGN KEY (run_id) REFERENCES training_runs(run_id) ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX idx_status_events_run ON run_status_events(run_id, observed_at);

-- The attribute index: every scalar leaf of config / summary / system metrics (and tags), one row per
-- (path, value, run). Clustered on (key_id, value, run_key), so "path op value" is one range scan of the
-- table itself and it costs one B-tree, not two. SQLite orders numbers before text, so one value column
-- serves numeric ranges and string equality (NUMERIC affinity stores 64.0 as the integer 64, compactly).
-- An update removes exactly the rows derived from the run's previous JSON (see storedAttributes).
CREATE TABLE attribute_keys (
  key_id INTEGER PRIMARY KEY,
  source TEXT NOT NULL,
  path TEXT NOT NULL,
  UNIQUE (source, path)
);
CREATE TABLE run_attributes (
  key_id INTEGER NOT NULL,
  value NUMERIC NOT NULL,
  run_key INTEGER NOT NULL,
  PRIMARY KEY (key_id, value, run_key)
) WITHOUT ROWID;
`;

interface ColumnInfo {
  name: string;
  type: string;
}

export const version = 1;
export const name = 'v2-schema';

export function up(db: Database): void {
  const existing = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'training_runs'").get();
  if (!existing) {
    db.exec(`CREATE TABLE training_runs (${TRAINING_RUNS_COLUMNS},${DOCUMENT_COLUMNS});${INDEXES}`);
    return;
  }
  upgradeV1(db);
}

function upgradeV1(db: Database): void {
  const v1Columns = db.prepare('PRAGMA table_info(training_runs)').all() as ColumnInfo[];
  const v2Names = new Set(
    [...`${TRAINING_RUNS_COLUMNS},${DOCUMENT_COLUMNS}`.matchAll(/^\s*(\w+)\s/gm)].map((m) => m[1]!),
  );
  const extra = v1Columns.filter((c) => !v2Names.has(c.name));
  const extraDdl = extra.map((c) => `,\n  "${c.name}" ${c.type || ''}`).join('');
  const shared = v1Columns.filter((c) => v2Names.has(c.name) && c.name !== 'run_key').map((c) => `"${c.name}"`);
  const copied = [...shared, ...extra.map((c) => `"${c.name}"`)].join(', ');

  // v1 indexes live on the old table and are dropped with it; v2's are created below.
  db.exec('ALTER TABLE training_runs RENAME TO training_runs_v1');
  for (const table of ['run_objectives', 'run_scaffolds']) {
    const found = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table);
    if (found) db.exec(`ALTER TABLE ${table} RENAME TO ${table}_v1`);
  }
  db.exec(`CREATE TABLE training_runs (${TRAINING_RUNS_COLUMNS}${extraDdl},${DOCUMENT_COLUMNS});`);
  db.exec(
    `INSERT INTO training_runs (run_key, ${copied})
     SELECT row_number() OVER (ORDER BY rowid), ${copied} FROM training_runs_v1`,
  );
  db.exec('DROP TABLE training_runs_v1');
  db.exec(INDEXES);
  carryOver(db, 'run_objectives');
  carryOver(db, 'run_scaffolds');
}

/** A v1 database that already grew a seed-shaped objectives/scaffolds table keeps its rows. */
function carryOver(db: Database, table: string): void {
  const old = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(`${table}_v1`);
  if (!old) return;
  const newCols = new Set((db.prepare(`PRAGMA table_info(${table})`).all() as ColumnInfo[]).map((c) => c.name));
  const common = (db.prepare(`PRAGMA table_info(${table}_v1)`).all() as ColumnInfo[])
    .map((c) => c.name)
    .filter((n) => newCols.has(n))
    .map((n) => `"${n}"`)
    .join(', ');
  db.exec(`INSERT OR IGNORE INTO ${table} (${common}) SELECT ${common} FROM ${table}_v1; DROP TABLE ${table}_v1;`);
}
