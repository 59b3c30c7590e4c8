import { closeSync, fsyncSync, openSync } from 'node:fs';
import type { Database } from 'better-sqlite3';
import type { SqlValue } from '../../core/columns.js';
import type { NormalizedRun } from '../../core/normalize/run.js';
import type { AttributeSource } from '../../core/normalize/attributes.js';
import type {
  Attachments,
  AttributeKey,
  LaunchOutcome,
  LaunchRegistration,
  ObservedChange,
  Row,
  RunStore,
  StoredRunFingerprint,
  SyncFailureRecord,
  SyncState,
  SyncStateUpdate,
  UpsertOptions,
  UpsertOutcome,
} from '../store.js';
import type { Statement } from 'better-sqlite3';
import { SqliteRunWriter, UNKNOWN_STATUS } from './run-writer.js';
import { RowReader } from './read-rows.js';
import { abandonedIndexes, deferIndexes, restoreIndexes } from './deferred-indexes.js';
import type { ExtractionMap } from '../../core/normalize/extraction.js';
import { TraindbError } from '../../core/errors.js';
import { openSqliteFile } from './open.js';
import { ATTACHMENT_FIELDS } from '../store.js';

/**
 * The SQLite dialect of RunStore. better-sqlite3 is synchronous; the async surface exists so the same
 * callers work with PostgreSQL. Every write is one `BEGIN IMMEDIATE` transaction: a deferred one that
 * reads before it writes fails at once with SQLITE_BUSY when another process wrote in between.
 */
export class SqliteStore implements RunStore {
  readonly dialect = 'sqlite' as const;
  private readonly writer: SqliteRunWriter;
  private readonly reader: RowReader;
  private closed = false;
  /** True between beginBulkLoad into an empty database and endBulkLoad: commits skip fsync. */
  private unsynced = false;

  private readonly extraction: ExtractionMap | undefined;

  constructor(
    readonly db: Database,
    options: { extraction?: ExtractionMap } = {},
  ) {
    this.writer = new SqliteRunWriter(db);
    this.reader = new RowReader(db);
    this.extraction = options.extraction;
  }

  async upsertRun(run: NormalizedRun, options: UpsertOptions = {}): Promise<UpsertOutcome> {
    const [outcome] = await this.upsertBatch([run], options);
    return outcome!;
  }

  async upsertBatch(runs: readonly NormalizedRun[], options: UpsertOptions = {}): Promise<UpsertOutcome[]> {
    const tx = this.db.transaction(() => {
      // A run written by SQL and now by sync must be indexed first: the writer diffs against its stored JSON.
      this.indexSqlWritesNow();
      const outcomes = runs.map((run) => this.writer.write(run, options));
      this.writer.flushAttributes();
      if (options.syncState) {
        const written = [...(options.syncState.written ?? []), ...outcomes.map((o) => o.wandbRunId)];
        this.writeSyncState({ ...options.syncState, written });
      }
      return outcomes;
    });
    try {
      return tx.immediate();
    } catch (error) {
      this.writer.forgetUncommittedKeys();
      throw error;
    }
  }

  /** See SqliteRunWriter.indexStoredRuns. */
  async indexStoredRuns(extraction?: ExtractionMap): Promise<number> {
    const tx = this.db.transaction(() => {
      this.indexSqlWritesNow();
      return this.writer.indexStoredRuns(this.db, extraction);
    });
    try {
      return tx.immediate();
    } catch (error) {
      this.writer.forgetUncommittedKeys();
      throw error;
    }
  }

  async getSyncState(entity: string, project: string, kind: string): Promise<SyncState | null> {
    const row = this.db
      .prepare(
        `SELECT cursor, watermark, detail, updated_at AS updatedAt FROM sync_state
         WHERE wandb_entity = ? AND wandb_project = ? AND kind = ?`,
      )
      .get(entity, project, kind) as SyncState | undefined;
    return row ?? null;
  }

  async setSyncState(update: SyncStateUpdate): Promise<void> {
    this.db.transaction(() => this.writeSyncState(update)).immediate();
  }

  private writeSyncState(u: SyncStateUpdate): void {
    this.db
      .prepare(
        `INSERT INTO sync_state (wandb_entity, wandb_project, kind, cursor, watermark, detail, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (wandb_entity, wandb_project, kind) DO UPDATE SET
           cursor = excluded.cursor, watermark = excluded.watermark, detail = excluded.detail,
           updated_at = excluded.updated_at`,
      )
      .run(
        u.entity,
        u.project,
        u.kind,
        u.cursor ?? null,
        u.watermark ?? null,
        u.detail ?? null,
        new Date().toISOString(),
      );
    if (u.written?.length) {
      const clear = this.stmt(
        'DELETE FROM sync_failures WHERE wandb_entity = ? AND wandb_project = ? AND wandb_run_id = ?',
      );
      for (const run of u.written) clear.run(u.entity, u.project, run);
    }
    if (u.failures?.length) {
      const record = this.stmt(
        `INSERT INTO sync_failures (wandb_entity, wandb_project, wandb_run_id, kind, reason, failed_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (wandb_entity, wandb_project, wandb_run_id) DO UPDATE SET
           kind = excluded.kind, reason = excluded.reason, failed_at = excluded.failed_at`,
      );
      const at = new Date().toISOString();
      for (const f of u.failures) record.run(u.entity, u.project, f.run, u.kind, f.reason, at);
    }
  }

  async listSyncFailures(entity: string, project: string): Promise<SyncFailureRecord[]> {
    return this.stmt(
      `SELECT wandb_run_id AS run, kind, reason, failed_at AS failedAt FROM sync_failures
       WHERE wandb_entity = ? AND wandb_project = ? ORDER BY failed_at, wandb_run_id`,
    ).all(entity, project) as SyncFailureRecord[];
  }

  async findAttributeKeys(refs: ReadonlyArray<{ source: AttributeSource; path: string }>): Promise<AttributeKey[]> {
    this.indexSqlWrites();
    const stmt = this.db.prepare(
      'SELECT key_id AS keyId, source, path FROM attribute_keys WHERE source = ? AND path = ?',
    );
    return refs.flatMap((r) => {
      const row = stmt.get(r.source, r.path) as AttributeKey | undefined;
      return row ? [row] : [];
    });
  }

  async listAttributeKeys(source?: AttributeSource): Promise<AttributeKey[]> {
    this.indexSqlWrites();
    const sql = 'SELECT key_id AS keyId, source, path FROM attribute_keys';
    return (
      source
        ? this.db.prepare(`${sql} WHERE source = ? ORDER BY path`).all(source)
        : this.db.prepare(`${sql} ORDER BY source, path`).all()
    ) as AttributeKey[];
  }

  async all(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    this.indexSqlWrites();
    return this.reader.all(sql, params);
  }

  async explain(sql: string, params: readonly SqlValue[] = []): Promise<string[]> {
    const rows = this.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{
      id: number;
      parent: number;
      detail: string;
    }>;
    const depth = new Map<number, number>();
    return rows.map((r) => {
      const d = (depth.get(r.parent) ?? -1) + 1;
      depth.set(r.id, d);
      return `${'  '.repeat(d)}${r.detail}`;
    });
  }

  async listWandbRunIds(entity: string, project: string, which: 'active' | 'present' | 'deleted'): Promise<string[]> {
    // The 'active' WHERE clause repeats migration 003's partial index verbatim so SQLite uses it.
    const where = {
      active: `status NOT IN ('completed', 'failed', 'crashed', 'killed', 'preempted') AND deleted_at IS NULL`,
      present: 'deleted_at IS NULL',
      deleted: 'deleted_at IS NOT NULL',
    }[which];
    const rows = this.stmt(
      `SELECT wandb_run_id AS id FROM training_runs
       WHERE wandb_entity = ? AND wandb_project = ? AND wandb_run_id IS NOT NULL AND ${where} ORDER BY wandb_run_id`,
    ).all(entity, project) as Array<{ id: string }>;
    return rows.map((r) => r.id);
  }

  async getRunFingerprints(
    entity: string,
    project: string,
    wandbRunIds: readonly string[],
  ): Promise<StoredRunFingerprint[]> {
    const stmt = this.stmt(
      `SELECT wandb_run_id AS wandbRunId, run_id AS runId, status, source_hash AS sourceHash, deleted_at AS deletedAt
       FROM training_runs WHERE wandb_entity = ? AND wandb_project = ? AND wandb_run_id = ?`,
    );
    return wandbRunIds.flatMap((id) => {
      const row = stmt.get(entity, project, id) as StoredRunFingerprint | undefined;
      return row ? [row] : [];
    });
  }

  async markRunsDeleted(change: ObservedChange): Promise<string[]> {
    return this.observe(change, (row, at) => {
      if (row.deleted_at !== null) return null;
      this.stmt('UPDATE training_runs SET deleted_at = ?, updated_at_db = ? WHERE run_id = ?').run(at, at, row.run_id);
      return { from: row.status, to: 'deleted', source: 'reconcile', detail: { reason: 'not served by W&B any more' } };
    });
  }

  async restoreRuns(change: ObservedChange): Promise<string[]> {
    return this.observe(change, (row, at) => {
      if (row.deleted_at === null) return null;
      this.stmt('UPDATE training_runs SET deleted_at = NULL, updated_at_db = ? WHERE run_id = ?').run(at, row.run_id);
      return {
        from: 'deleted',
        // The status the run had when it was deleted, which it has again (never an invented one).
        to: row.status ?? UNKNOWN_STATUS,
        source: 'reconcile',
        detail: { reason: 'served by W&B again', deletedAt: row.deleted_at },
      };
    });
  }

  async markRunsStale(change: ObservedChange): Promise<string[]> {
    return this.observe(change, (row, at) => {
      if (row.status !== 'running' || row.deleted_at !== null) return null;
      if (
        change.heartbeatBefore !== undefined &&
        row.heartbeat_at !== null &&
        row.heartbeat_at >= change.heartbeatBefore
      )
        return null;
      this.stmt(`UPDATE training_runs SET status = 'stale', updated_at_db = ? WHERE run_id = ?`).run(at, row.run_id);
      return { from: 'running', to: 'stale', source: 'heartbeat', detail: { heartbeatAt: row.heartbeat_at } };
    });
  }

  /**
   * One IMMEDIATE transaction over the named runs: `apply` sees each stored row and returns the event
   * to record (or null for no change). Reading and deciding inside the write lock is what makes each
   * inferred transition happen exactly once, however many pollers race.
   */
  private async observe(
    change: ObservedChange,
    apply: (
      row: ObservedRow,
      at: string,
    ) => { from: string | null; to: string; source: string; detail: Record<string, unknown> } | null,
  ): Promise<string[]> {
    const at = change.observedAt ?? new Date().toISOString();
    const select = this.stmt(
      `SELECT run_id, status, deleted_at, heartbeat_at FROM training_runs
       WHERE wandb_entity = ? AND wandb_project = ? AND wandb_run_id = ?`,
    );
    const event = this.stmt(
      `INSERT INTO run_status_events (run_id, from_status, to_status, observed_at, source, detail) VALUES (?, ?, ?, ?, ?, ?)`,
    );
    const tx = this.db.transaction(() => {
      const changed: string[] = [];
      for (const id of change.wandbRunIds) {
        const row = select.get(change.entity, change.project, id) as ObservedRow | undefined;
        if (!row) continue;
        const e = apply(row, at);
        if (!e) continue;
        event.run(row.run_id, e.from, e.to, at, e.source, JSON.stringify({ ...e.detail, ...change.detail }));
        changed.push(row.run_id);
      }
      return changed;
    });
    return tx.immediate();
  }

  async registerLaunch(registration: LaunchRegistration, extraction?: ExtractionMap): Promise<LaunchOutcome> {
    const tx = this.db.transaction(() => {
      this.indexSqlWritesNow();
      return this.writer.registerLaunch(this.db, registration, extraction);
    });
    try {
      return tx.immediate();
    } catch (error) {
      this.writer.forgetUncommittedKeys();
      throw error;
    }
  }

  async setAttachments(runId: string, attachments: Attachments): Promise<boolean> {
    const allowed: readonly string[] = ATTACHMENT_FIELDS;
    const entries = Object.entries(attachments).filter(([k, v]) => allowed.includes(k) && v !== undefined);
    const exists = this.stmt('SELECT 1 FROM training_runs WHERE run_id = ?');
    const tx = this.db.transaction(() => {
      if (!exists.get(runId)) return false;
      if (entries.length === 0) return true;
      const sets = entries.map(([k]) => `${k} = ?`).join(', ');
      this.db
        .prepare(`UPDATE training_runs SET ${sets}, updated_at_db = ? WHERE run_id = ?`)
        .run(...entries.map(([, v]) => v ?? null), new Date().toISOString(), runId);
      return true;
    });
    return tx.immediate();
  }

  async checkWritable(): Promise<void> {
    // Takes the write lock and releases it: fails on a read-only file, a full disk's lock, or a stuck writer.
    this.db.transaction(() => undefined).immediate();
  }

  /**
   * Indexes the runs that plain SQL wrote since the last call (migration 009 queues them), so a query
   * sees them like any other run. Called before every read that depends on the index and inside every
   * write transaction; with nothing queued it is one lookup of an empty table. A store on a read-only
   * connection (a query thread) indexes through a write connection of its own, opened on first need, so
   * the wait for the write lock stays on that thread. Returns the runs indexed.
   */
  indexSqlWrites(): number {
    if (!this.sqlWritesQueued()) return 0;
    let target: { db: Database; writer: SqliteRunWriter };
    try {
      target = this.indexingConnection();
    } catch (error) {
      throw new TraindbError(
        'UNAVAILABLE',
        `runs written by another program wait to be indexed, and ${this.db.name} cannot be opened for writing: ${(error as Error).message}`,
        { cause: error, transient: false },
      );
    }
    // One transaction per step: a large import by SQL does not hold the write lock for its whole indexing.
    const step = target.db.transaction(() => target.writer.indexQueuedRuns(SQL_WRITES_PER_STEP, this.extraction));
    let total = 0;
    try {
      for (let n; (n = step.immediate()) > 0;) total += n;
      return total;
    } catch (error) {
      target.writer.forgetUncommittedKeys();
      const code = (error as { code?: unknown }).code;
      if (code === 'SQLITE_BUSY' || code === 'SQLITE_READONLY') {
        throw new TraindbError(
          'UNAVAILABLE',
          code === 'SQLITE_BUSY'
            ? 'runs written by another program wait to be indexed, and another process holds the write lock: try again'
            : `runs written by another program wait to be indexed, and ${this.db.name} is read-only`,
          { cause: error, transient: code === 'SQLITE_BUSY' },
        );
      }
      throw error;
    }
  }

  private sqlWritesQueued(): boolean {
    try {
      return this.stmt('SELECT 1 FROM run_index_queue WHERE failed IS NULL LIMIT 1').get() !== undefined;
    } catch (error) {
      // A database not yet migrated to version 9 (a read-only store does not migrate): nothing is queued.
      if (/no such table/i.test((error as Error).message)) return false;
      throw error;
    }
  }

  private sideConnection: { db: Database; writer: SqliteRunWriter } | undefined;
  private indexingConnection(): { db: Database; writer: SqliteRunWriter } {
    if (!this.db.readonly) return { db: this.db, writer: this.writer };
    if (!this.sideConnection) {
      const db = openSqliteFile(this.db.name);
      this.sideConnection = { db, writer: new SqliteRunWriter(db) };
    }
    return this.sideConnection;
  }

  /** The body of indexSqlWrites; call inside a write transaction. */
  private indexSqlWritesNow(): number {
    let total = 0;
    for (let n; (n = this.writer.indexQueuedRuns(SQL_WRITES_PER_STEP, this.extraction)) > 0;) total += n;
    return total;
  }

  private readonly statements = new Map<string, Statement>();
  private stmt(sql: string): Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  async beginBulkLoad(options: { maxRuns?: number } = {}): Promise<boolean> {
    const maxRuns = options.maxRuns ?? 5000;
    const { deferred, empty } = this.db
      .transaction(() => {
        const { n } = this.db.prepare('SELECT count(*) AS n FROM training_runs').get() as { n: number };
        return { deferred: n < maxRuns && deferIndexes(this.db, new Date().toISOString()).length > 0, empty: n === 0 };
      })
      .immediate();
    // Into an empty database, nothing committed before the load can be lost, so commits and checkpoints
    // skip fsync until endBulkLoad: 1,340 -> 1,720 runs/s at 100K runs (the checkpoints' fsyncs of
    // scattered index pages grew with the file). A crashed process loses nothing (the OS holds the
    // writes); only an OS crash or power loss during the load can damage the file, which the load rewrites.
    if (empty && !this.db.memory) {
      this.db.pragma('synchronous = OFF');
      this.unsynced = true;
    }
    return deferred || this.unsynced;
  }

  async endBulkLoad(): Promise<string[]> {
    try {
      return this.rebuildDeferredIndexes();
    } finally {
      // Even when the rebuild failed: later commits must be durable again.
      if (this.unsynced) {
        this.unsynced = false;
        this.db.pragma('synchronous = NORMAL');
        this.db.pragma('wal_checkpoint(TRUNCATE)');
        // Pages checkpointed while fsync was off may still be only in the OS cache: flush both files now.
        fsyncIfExists(this.db.name);
        fsyncIfExists(`${this.db.name}-wal`);
      }
    }
  }

  /** Rebuilds indexes set aside by a bulk load whose process died; a live load is left alone. */
  async healDeferredIndexes(): Promise<string[]> {
    return abandonedIndexes(this.db) ? this.rebuildDeferredIndexes() : [];
  }

  private rebuildDeferredIndexes(): string[] {
    return this.db.transaction(() => restoreIndexes(this.db)).immediate();
  }

  async compact(): Promise<{ beforeBytes: number; afterBytes: number }> {
    // Pages still in the WAL are part of the database: fold them in before measuring.
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    const beforeBytes = this.sizeBytes();
    this.db.exec('VACUUM');
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    return { beforeBytes, afterBytes: this.sizeBytes() };
  }

  private sizeBytes(): number {
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    return pages * (this.db.pragma('page_size', { simple: true }) as number);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.sideConnection?.db.close();
    this.db.close();
  }
}

/** Queued runs indexed per step (see indexSqlWrites). */
const SQL_WRITES_PER_STEP = 500;

interface ObservedRow {
  run_id: string;
  status: string | null;
  deleted_at: string | null;
  heartbeat_at: string | null;
}

function fsyncIfExists(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
