import type { Database, Statement } from 'better-sqlite3';
import { RUN_COLUMNS, type RunColumn, type SqlValue } from '../../core/columns.js';
import type { NormalizedRun } from '../../core/normalize/run.js';
import type { ObjectiveRow } from '../../core/normalize/objectives.js';
import {
  deriveFromStored,
  launchConfigJson,
  storedAttributes,
  type DerivedFromStored,
  type StoredDocuments,
} from '../../core/normalize/stored.js';
import type { Attribute } from '../../core/normalize/attributes.js';
import type { ExtractionMap } from '../../core/normalize/extraction.js';
import type { LaunchOutcome, LaunchRegistration, UpsertOptions, UpsertOutcome } from '../store.js';
import { EXTRACTABLE_COLUMNS } from '../../core/normalize/extraction.js';
import { AttributeKeyCache } from './attribute-keys.js';

// Filled by launch registration or people; a sync that lacks them must not erase them.
const KEEP_WHEN_MISSING: ReadonlySet<string> = new Set([
  'host',
  'instance_id',
  'config_file_path',
  'chain_of_custody_id',
  'status',
]);

interface ExistingRun {
  run_id: string;
  run_key: number;
  status: string | null;
  version: string | null;
  source_hash: string | null;
  wandb_entity: string | null;
  wandb_project: string | null;
  wandb_run_id: string | null;
  deleted_at: string | null;
}

/**
 * Writes one normalized run: the run row, its objectives, scaffolds, attribute index rows and, when
 * its status changed, one run_status_events row. Statements are prepared once per connection.
 * Callers wrap `write` in a transaction (see sqlite-store.ts); nothing here commits.
 */
export class SqliteRunWriter {
  private readonly keys: AttributeKeyCache;
  private readonly s: Record<string, Statement>;
  private readonly columns = Object.keys(RUN_COLUMNS) as RunColumn[];
  private readonly chunkStatements = new Map<number, Statement>();
  /** Queued attribute rows by key id (a sparse array: key ids are small integers). */
  private pending: Array<{ values: Array<number | string>; runKeys: number[] } | undefined> = [];

  constructor(private readonly db: Database) {
    this.keys = new AttributeKeyCache(db);
    const cols = this.columns;
    const updates = cols
      .filter((c) => c !== 'run_id')
      .map((c) =>
        KEEP_WHEN_MISSING.has(c) ? `${c} = coalesce(excluded.${c}, training_runs.${c})` : `${c} = excluded.${c}`,
      );
    const existingCols = `run_id, run_key, status, source_hash, wandb_entity, wandb_project, wandb_run_id, deleted_at,
      coalesce(wandb_updated_at, heartbeat_at, created_at) AS version`;
    this.s = {
      byWandb: db.prepare(
        `SELECT ${existingCols} FROM training_runs WHERE wandb_entity = ? AND wandb_project = ? AND wandb_run_id = ?`,
      ),
      byId: db.prepare(`SELECT ${existingCols} FROM training_runs WHERE run_id = ?`),
      nextKey: db.prepare('SELECT coalesce(max(run_key), 0) + 1 AS k FROM training_runs'),
      upsertRun: db.prepare(
        `INSERT INTO training_runs (${cols.join(', ')}, run_key, source_hash, deleted_at, created_at_db, updated_at_db)
         VALUES (${cols.map(() => '?').join(', ')}, ?, ?, NULL, ?, ?)
         ON CONFLICT (run_id) DO UPDATE SET ${updates.join(', ')}, source_hash = excluded.source_hash,
           deleted_at = NULL, updated_at_db = excluded.updated_at_db`,
      ),
      // A new run is a plain INSERT: an upsert on a table with UPDATE triggers (migration 009) costs more
      // even when it inserts (15 µs per 9 KB row in isolation, about 60 µs per traindb run).
      insertRun: db.prepare(
        `INSERT INTO training_runs (${cols.join(', ')}, run_key, source_hash, deleted_at, created_at_db, updated_at_db)
         VALUES (${cols.map(() => '?').join(', ')}, ?, ?, NULL, ?, ?)`,
      ),
      objectiveNames: db.prepare('SELECT objective_name FROM run_objectives WHERE run_id = ?'),
      deleteObjective: db.prepare('DELETE FROM run_objectives WHERE run_id = ? AND objective_name = ?'),
      upsertObjective: db.prepare(
        `INSERT INTO run_objectives (run_id, objective_name, objective_alias, uniprot, weight, direction,
           raw_mean, normalized_mean, raw_std, normalized_std, stats_json, created_at, run_key)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (run_id, objective_name) DO UPDATE SET objective_alias = coalesce(excluded.objective_alias, objective_alias),
           uniprot = coalesce(excluded.uniprot, uniprot), weight = coalesce(excluded.weight, weight),
           direction = coalesce(excluded.direction, direction), raw_mean = excluded.raw_mean,
           normalized_mean = excluded.normalized_mean, raw_std = excluded.raw_std,
           normalized_std = excluded.normalized_std, stats_json = excluded.stats_json`,
      ),
      scaffoldIds: db.prepare('SELECT scaffold_id FROM run_scaffolds WHERE run_id = ?'),
      deleteScaffold: db.prepare('DELETE FROM run_scaffolds WHERE run_id = ? AND scaffold_id = ?'),
      upsertScaffold: db.prepare(
        `INSERT INTO run_scaffolds (run_id, scaffold_id, scores_json, pareto_rank, cluster_id, created_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (run_id, scaffold_id) DO UPDATE SET scores_json = excluded.scores_json,
           pareto_rank = excluded.pareto_rank, cluster_id = excluded.cluster_id`,
      ),
      oldDocs: db.prepare(
        'SELECT config_json, final_metrics_json, system_metrics_json, tags_json FROM training_runs WHERE run_id = ?',
      ),
      deleteAttr: db.prepare(
        'DELETE FROM run_attributes WHERE key_id = ? AND run_bucket = ? AND value = ? AND run_key = ?',
      ),
      insertAttr: db.prepare(
        'INSERT OR IGNORE INTO run_attributes (key_id, value, run_key, run_bucket) VALUES (?, ?, ?, ?)',
      ),

      event: db.prepare(
        `INSERT INTO run_status_events (run_id, from_status, to_status, observed_at, source, detail)
         VALUES (?, ?, ?, ?, ?, ?)`,
      ),
    };
  }

  /**
   * Indexes rows that did not come through sync (a seed-v1 upgrade, a launch registration): attributes,
   * objectives and empty extracted columns are derived from their stored JSON. Existing values win.
   * Returns how many rows were indexed.
   */
  indexStoredRuns(db: Database, extraction?: ExtractionMap): number {
    const rows = db
      .prepare(
        `SELECT run_id, run_key, config_json, final_metrics_json FROM training_runs r
         WHERE source_hash IS NULL`,
      )
      .all() as Array<{ run_id: string; run_key: number; config_json: unknown; final_metrics_json: unknown }>;
    for (const row of rows) {
      const derived = deriveFromStored(row, extraction);
      const existing = new Set(
        (this.s.objectiveNames!.all(row.run_id) as Array<{ objective_name: string }>).map((o) => o.objective_name),
      );
      const now = new Date().toISOString();
      for (const o of derived.objectives) {
        if (existing.has(o.objective_name) && o.raw_mean === null) continue;
        this.upsertObjective(row.run_id, row.run_key, o, now);
      }
      for (const a of derived.attributes)
        this.s.insertAttr!.run(this.keys.idFor(a.source, a.path), a.value, row.run_key, runBucket(row.run_key));
      this.fillEmptyColumns(db, row.run_id, derived.values);
    }
    // Marked so a later call does not index them twice; a W&B sync of the run replaces the mark.
    db.prepare("UPDATE training_runs SET source_hash = 'derived' WHERE source_hash IS NULL").run();
    return rows.length;
  }

  private queueStatements: Record<'pending' | 'queued' | 'run' | 'done' | 'failed', Statement> | undefined;

  /**
   * Indexes up to `limit` runs queued by migration 009's triggers (runs written by plain SQL): removes the
   * index rows derived from the documents the index last saw, adds those of the stored row (if it still
   * exists) and fills its empty extracted columns. Objectives are left to the SQL writer, who writes them
   * (deriving them here would make its own `insert_objective` collide). A run whose documents cannot be
   * indexed keeps its queue row with the reason. Call inside a write transaction; returns the runs taken.
   */
  indexQueuedRuns(limit: number, extraction?: ExtractionMap): number {
    const db = this.db;
    this.queueStatements ??= {
      pending: db.prepare('SELECT 1 FROM run_index_queue WHERE failed IS NULL LIMIT 1'),
      queued: db.prepare(
        `SELECT run_key, indexed, config_json, final_metrics_json, system_metrics_json, tags_json
         FROM run_index_queue WHERE failed IS NULL ORDER BY run_key LIMIT ?`,
      ),
      run: db.prepare(
        `SELECT run_id, config_json, final_metrics_json, system_metrics_json, tags_json
         FROM training_runs WHERE run_key = ?`,
      ),
      done: db.prepare('DELETE FROM run_index_queue WHERE run_key = ?'),
      failed: db.prepare('UPDATE run_index_queue SET failed = ? WHERE run_key = ?'),
    };
    const q = this.queueStatements;
    if (!q.pending.get()) return 0;
    const queued = q.queued.all(limit) as Array<StoredDocuments & { run_key: number; indexed: number }>;
    for (const entry of queued) {
      const runKey = entry.run_key;
      const row = q.run.get(runKey) as (StoredDocuments & { run_id: string }) | undefined;
      let previous: Attribute[];
      let derived: DerivedFromStored | undefined;
      try {
        previous = entry.indexed ? storedAttributes(entry) : [];
        derived = row ? deriveFromStored(row, extraction) : undefined;
      } catch (error) {
        q.failed.run(`cannot index run_key ${runKey}: ${(error as Error).message}`, runKey);
        continue;
      }
      // Deletes before this run's inserts are queued; other runs' queued rows have other run keys.
      for (const a of previous)
        this.s.deleteAttr!.run(this.keys.idFor(a.source, a.path), runBucket(runKey), a.value, runKey);
      if (row && derived) {
        for (const a of derived.attributes) this.queueAttribute(this.keys.idFor(a.source, a.path), a.value, runKey);
        this.fillEmptyColumns(db, row.run_id, derived.values);
      }
      q.done.run(runKey);
    }
    this.flushAttributes();
    return queued.length;
  }

  /**
   * The seed's "At Launch" step: a 'launched' row with the columns, objectives and attribute index
   * derived from the run's config, and one status event (source 'launch'). When the W&B run appears
   * carrying the same launch id, `write` links it to this row. A run already known is left as it is,
   * except that custody columns it lacks (host, instance id, ...) are filled in.
   */
  registerLaunch(db: Database, reg: LaunchRegistration, extraction?: ExtractionMap): LaunchOutcome {
    const now = new Date().toISOString();
    const custody: Record<string, string | null> = {
      host: reg.host ?? null,
      instance_id: reg.instanceId ?? null,
      config_file_path: reg.configFilePath ?? null,
      chain_of_custody_id: reg.chainOfCustodyId ?? null,
    };
    const existing = this.s.byId!.get(reg.runId) as ExistingRun | undefined;
    if (existing) {
      db.prepare(
        `UPDATE training_runs SET host = coalesce(host, ?), instance_id = coalesce(instance_id, ?),
           config_file_path = coalesce(config_file_path, ?), chain_of_custody_id = coalesce(chain_of_custody_id, ?)
         WHERE run_id = ?`,
      ).run(
        custody['host'],
        custody['instance_id'],
        custody['config_file_path'],
        custody['chain_of_custody_id'],
        reg.runId,
      );
      return { runId: reg.runId, created: false, status: existing.status };
    }
    const configJson = launchConfigJson(reg.config);
    const runKey = (this.s.nextKey!.get() as { k: number }).k;
    const launchedAt = reg.launchedAt ?? now;
    db.prepare(
      `INSERT INTO training_runs (run_id, run_key, status, created_at, host, instance_id, config_file_path,
         chain_of_custody_id, config_json, created_at_db, updated_at_db)
       VALUES (?, ?, 'launched', ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      reg.runId,
      runKey,
      launchedAt,
      custody['host'],
      custody['instance_id'],
      custody['config_file_path'],
      custody['chain_of_custody_id'],
      configJson,
      now,
      now,
    );
    // Migration 009 queues a row inserted without source_hash; this one is indexed right here.
    db.prepare('DELETE FROM run_index_queue WHERE run_key = ?').run(runKey);

    const derived = deriveFromStored({ config_json: configJson, final_metrics_json: null }, extraction);
    // What the launcher said (custody) wins over the config.
    this.fillEmptyColumns(db, reg.runId, derived.values);
    for (const o of derived.objectives) {
      this.upsertObjective(reg.runId, runKey, o, now);
    }
    for (const a of derived.attributes)
      this.s.insertAttr!.run(this.keys.idFor(a.source, a.path), a.value, runKey, runBucket(runKey));
    const detail = JSON.stringify(Object.fromEntries(Object.entries(custody).filter(([, v]) => v !== null)));
    this.s.event!.run(reg.runId, null, 'launched', now, 'launch', detail);
    return { runId: reg.runId, created: true, status: 'launched' };
  }

  private upsertObjective(runId: string, runKey: number, o: ObjectiveRow, now: string): void {
    this.s.upsertObjective!.run(
      runId,
      o.objective_name,
      o.objective_alias,
      o.uniprot,
      o.weight,
      o.direction,
      o.raw_mean,
      o.normalized_mean,
      o.raw_std,
      o.normalized_std,
      o.stats_json,
      now,
      runKey,
    );
  }

  /** Sets extracted columns that are still empty; only known extracted column names ever reach the SQL. */
  private fillEmptyColumns(
    db: Database,
    runId: string,
    values: Partial<Record<RunColumn, SqlValue | undefined>>,
  ): void {
    for (const [column, value] of Object.entries(values)) {
      if (value === null || value === undefined || !EXTRACTABLE_COLUMNS.has(column as RunColumn)) continue;
      db.prepare(`UPDATE training_runs SET ${column} = ? WHERE run_id = ? AND ${column} IS NULL`).run(value, runId);
    }
  }

  /** Call after a rolled-back transaction: key ids allocated inside it no longer exist. */
  forgetUncommittedKeys(): void {
    this.keys.reset();
    this.pending = [];
  }

  write(n: NormalizedRun, options: UpsertOptions = {}): UpsertOutcome {
    const now = options.observedAt ?? new Date().toISOString();
    const warnings = [...n.warnings];
    const r = n.run;
    const byWandb = this.s.byWandb!.get(r.wandb_entity, r.wandb_project, r.wandb_run_id) as ExistingRun | undefined;
    let existing = byWandb;
    let runId = byWandb?.run_id ?? (r.run_id as string);
    if (!existing) {
      const byId = this.s.byId!.get(runId) as ExistingRun | undefined;
      if (byId && byId.wandb_run_id !== null) {
        // Two W&B runs carry the same launch id (a re-run of one config file): keep both, apart.
        const fallback = `${r.wandb_entity}/${r.wandb_project}/${r.wandb_run_id}`;
        warnings.push(
          `launch id ${runId} already belongs to W&B run ${byId.wandb_entity}/${byId.wandb_project}/${byId.wandb_run_id}; stored as ${fallback}`,
        );
        runId = fallback;
        existing = this.s.byId!.get(runId) as ExistingRun | undefined;
      } else existing = byId;
    }
    const base = { runId, wandbRunId: r.wandb_run_id as string, warnings };

    // Only a version that came from W&B can be newer; a launch row's timestamps are another clock.
    if (existing?.wandb_run_id && existing.version && n.version && n.version < existing.version) {
      return { ...base, result: 'stale', transition: null };
    }
    if (existing && existing.source_hash === n.hash && existing.run_id === runId) {
      return { ...base, result: 'unchanged', transition: null };
    }

    const runKey = existing?.run_key ?? (this.s.nextKey!.get() as { k: number }).k;
    // Read before the row is overwritten: the index rows to remove are derived from the previous JSON.
    const previous = existing ? (this.s.oldDocs!.get(existing.run_id) as StoredDocuments | undefined) : undefined;
    const values: SqlValue[] = this.columns.map((c) => (c === 'run_id' ? runId : r[c]));
    (existing ? this.s.upsertRun! : this.s.insertRun!).run(...values, runKey, n.hash, now, now);
    this.writeObjectives(runId, runKey, n, now, existing !== undefined);
    this.writeScaffolds(runId, n, now, existing !== undefined);
    this.writeAttributes(runKey, n, previous);

    let transition: UpsertOutcome['transition'] = null;
    const from = existing?.status ?? null;
    const detail = { state: r.state, heartbeatAt: r.heartbeat_at, updatedAt: r.wandb_updated_at };
    if (existing && existing.deleted_at !== null) {
      // The write cleared deleted_at: the way back is an event, to the status the run has now (the
      // deletion event recorded the one it had before).
      const to = (r.status as string | null) ?? from ?? UNKNOWN_STATUS;
      transition = { from: 'deleted', to };
      this.s.event!.run(
        runId,
        'deleted',
        to,
        now,
        options.source ?? 'wandb',
        JSON.stringify({ ...detail, reason: 'written again with changed data', deletedAt: existing.deleted_at }),
      );
    } else if (r.status !== null && r.status !== from) {
      transition = { from, to: r.status as string };
      this.s.event!.run(runId, from, r.status, now, options.source ?? 'wandb', JSON.stringify(detail));
    }
    return { ...base, result: existing ? 'updated' : 'inserted', transition };
  }

  /** `existed`: only a run already stored can have objectives (or scaffolds) that must now go. */
  private writeObjectives(runId: string, runKey: number, n: NormalizedRun, now: string, existed: boolean): void {
    const keep = new Set(n.objectives.map((o) => o.objective_name));
    const stored = existed ? (this.s.objectiveNames!.all(runId) as Array<{ objective_name: string }>) : [];
    for (const { objective_name } of stored) {
      if (!keep.has(objective_name)) this.s.deleteObjective!.run(runId, objective_name);
    }
    for (const o of n.objectives) {
      this.upsertObjective(runId, runKey, o, now);
    }
  }

  private writeScaffolds(runId: string, n: NormalizedRun, now: string, existed: boolean): void {
    const keep = new Set(n.scaffolds.map((s) => s.scaffold_id));
    const stored = existed ? (this.s.scaffoldIds!.all(runId) as Array<{ scaffold_id: string }>) : [];
    for (const { scaffold_id } of stored) {
      if (!keep.has(scaffold_id)) this.s.deleteScaffold!.run(runId, scaffold_id);
    }
    for (const s of n.scaffolds)
      this.s.upsertScaffold!.run(runId, s.scaffold_id, s.scores_json, s.pareto_rank, s.cluster_id, now);
  }

  /** Applies only the difference, so a summary update touching three keys writes three rows. */
  private writeAttributes(runKey: number, n: NormalizedRun, previous: StoredDocuments | undefined): void {
    if (!previous) {
      for (const a of n.attributes) this.queueAttribute(this.keys.idFor(a.source, a.path), a.value, runKey);
      return;
    }
    // Deletes below must see every row queued so far (the same run may occur twice in one batch).
    this.flushAttributes();
    const wanted = new Map<string, [number, number | string]>();
    for (const a of n.attributes) {
      const keyId = this.keys.idFor(a.source, a.path);
      wanted.set(attrKey(keyId, a.value), [keyId, a.value]);
    }
    for (const a of storedAttributes(previous)) {
      const keyId = this.keys.idFor(a.source, a.path);
      const k = attrKey(keyId, a.value);
      if (wanted.has(k)) wanted.delete(k);
      else this.s.deleteAttr!.run(keyId, runBucket(runKey), a.value, runKey);
    }
    for (const [keyId, value] of wanted.values()) this.queueAttribute(keyId, value, runKey);
  }

  /**
   * Attribute rows are queued and written by `flushAttributes` at the end of the transaction, grouped by
   * key: a run's ~200 attributes belong to ~200 different keys, each a separate region of the clustered
   * index, and writing a whole batch key by key visits each region once. Within a key the rows stay in run
   * order: they all land in the newest bucket of 512 runs (a few pages), and sorting them by value as well
   * cost more JavaScript time (~100 µs/run) than it saved in SQLite.
   */
  private queueAttribute(keyId: number, value: number | string, runKey: number): void {
    let group = this.pending[keyId];
    if (!group) {
      group = { values: [], runKeys: [] };
      this.pending[keyId] = group;
    }
    group.values.push(value);
    group.runKeys.push(runKey);
  }

  /** Writes queued attribute rows; call inside the same transaction as `write`. */
  flushAttributes(): void {
    const groups = this.pending;
    this.pending = [];
    // Multi-row INSERTs: per-statement overhead dominated when each attribute was its own statement.
    let params: Array<number | string> = [];
    let rows = 0;
    for (let keyId = 0; keyId < groups.length; keyId++) {
      const group = groups[keyId];
      if (!group) continue;
      const { values, runKeys } = group;
      for (let i = 0; i < values.length; i++) {
        const runKey = runKeys[i]!;
        params.push(keyId, values[i]!, runKey, runBucket(runKey));
        if (++rows === ATTR_CHUNK) {
          this.insertStatement(rows).run(params);
          params = [];
          rows = 0;
        }
      }
    }
    if (rows > 0) this.insertStatement(rows).run(params);
  }

  /** Drops queued rows of a transaction that rolled back. */
  discardPending(): void {
    this.pending = [];
  }

  private insertStatement(rows: number): Statement {
    let stmt = this.chunkStatements.get(rows);
    if (!stmt) {
      stmt = this.db.prepare(
        `INSERT OR IGNORE INTO run_attributes (key_id, value, run_key, run_bucket) VALUES ${Array.from({ length: rows }, () => '(?, ?, ?, ?)').join(', ')}`,
      );
      this.chunkStatements.set(rows, stmt);
    }
    return stmt;
  }
}

const ATTR_CHUNK = 100;

/**
 * The `to_status` of a restore event for a run that never had a status (a hand-made export without
 * `state`): the column needs a value, and this one says that no status is known.
 */
export const UNKNOWN_STATUS = 'unknown';

/** Must equal the shift in migration 007 (`run_bucket = run_key >> 9`): blocks of 512 runs. */
const RUN_BUCKET_SIZE = 512;

function runBucket(runKey: number): number {
  return Math.floor(runKey / RUN_BUCKET_SIZE);
}

function attrKey(keyId: number, value: number | string): string {
  return `${keyId}\u0000${typeof value}\u0000${value}`;
}
