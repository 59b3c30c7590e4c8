import type { Database } from 'better-sqlite3';
import type { SqlValue } from '../../core/columns.js';
import type { NormalizedRun } from '../../core/normalize/run.js';
import type { AttributeSource } from '../../core/normalize/attributes.js';
import type {
  AttributeKey,
  Row,
  RunStore,
  SyncState,
  SyncStateUpdate,
  UpsertOptions,
  UpsertOutcome,
} from '../store.js';
import { SqliteRunWriter } from './run-writer.js';
import type { ExtractionMap } from '../../core/normalize/extraction.js';

/**
 * The SQLite dialect of RunStore. better-sqlite3 is synchronous; the async surface exists so the same
 * callers work with PostgreSQL. Every write is one `BEGIN IMMEDIATE` transaction: a deferred one that
 * reads before it writes fails at once with SQLITE_BUSY when another process wrote in between.
 */
export class SqliteStore implements RunStore {
  readonly dialect = 'sqlite' as const;
  private readonly writer: SqliteRunWriter;
  private closed = false;

  constructor(readonly db: Database) {
    this.writer = new SqliteRunWriter(db);
  }

  async upsertRun(run: NormalizedRun, options: UpsertOptions = {}): Promise<UpsertOutcome> {
    const [outcome] = await this.upsertBatch([run], options);
    return outcome!;
  }

  async upsertBatch(runs: readonly NormalizedRun[], options: UpsertOptions = {}): Promise<UpsertOutcome[]> {
    const tx = this.db.transaction(() => {
      const outcomes = runs.map((run) => this.writer.write(run, options));
      if (options.syncState) this.writeSyncState(options.syncState);
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
    const tx = this.db.transaction(() => this.writer.indexStoredRuns(this.db, extraction));
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
      .run(u.entity, u.project, u.kind, u.cursor ?? null, u.watermark ?? null, u.detail ?? null, new Date().toISOString());
  }

  async findAttributeKeys(refs: ReadonlyArray<{ source: AttributeSource; path: string }>): Promise<AttributeKey[]> {
    const stmt = this.db.prepare('SELECT key_id AS keyId, source, path FROM attribute_keys WHERE source = ? AND path = ?');
    return refs.flatMap((r) => {
      const row = stmt.get(r.source, r.path) as AttributeKey | undefined;
      return row ? [row] : [];
    });
  }

  async listAttributeKeys(source?: AttributeSource): Promise<AttributeKey[]> {
    const sql = 'SELECT key_id AS keyId, source, path FROM attribute_keys';
    return (source
      ? this.db.prepare(`${sql} WHERE source = ? ORDER BY path`).all(source)
      : this.db.prepare(`${sql} ORDER BY source, path`).all()) as AttributeKey[];
  }

  async all(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    return this.db.prepare(sql).all(...params) as Row[];
  }

  async explain(sql: string, params: readonly SqlValue[] = []): Promise<string[]> {
    const rows = this.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ id: number; parent: number; detail: string }>;
    const depth = new Map<number, number>();
    return rows.map((r) => {
      const d = (depth.get(r.parent) ?? -1) + 1;
      depth.set(r.id, d);
      return `${'  '.repeat(d)}${r.detail}`;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}
