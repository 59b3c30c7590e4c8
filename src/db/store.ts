import type { NormalizedRun } from '../core/normalize/run.js';
import type { SqlValue } from '../core/columns.js';
import type { AttributeSource } from '../core/normalize/attributes.js';
import type { ExtractionMap } from '../core/normalize/extraction.js';

export type Dialect = 'sqlite' | 'postgres';

/** What happened to one run on ingest. */
export type UpsertResult = 'inserted' | 'updated' | 'unchanged' | 'stale';

export interface UpsertOutcome {
  runId: string;
  wandbRunId: string;
  result: UpsertResult;
  /** The status transition recorded for this write, if any. */
  transition: { from: string | null; to: string } | null;
  warnings: string[];
}

export interface UpsertOptions {
  /** Who observed this version (run_status_events.source): 'wandb' for sync, 'reconcile', ... */
  source?: string;
  /** When it was observed (ISO UTC); defaults to now. */
  observedAt?: string;
  /** Extra cursor to commit in the same transaction as the runs. */
  syncState?: SyncStateUpdate;
}

export interface SyncStateUpdate {
  entity: string;
  project: string;
  kind: string;
  cursor?: string | null;
  watermark?: string | null;
  detail?: string | null;
}

export interface SyncState {
  cursor: string | null;
  watermark: string | null;
  detail: string | null;
  updatedAt: string;
}

export interface AttributeKey {
  keyId: number;
  source: AttributeSource;
  path: string;
}

export type Row = Record<string, SqlValue>;

/**
 * The seam between traindb and its database. Everything above it (ingest, backfill, daemon, query
 * engine) talks to this interface; each dialect implements it once.
 */
export interface RunStore {
  readonly dialect: Dialect;
  /** Writes each run in its own transaction (a savepoint when batched); one failure does not undo the others. */
  upsertRun(run: NormalizedRun, options?: UpsertOptions): Promise<UpsertOutcome>;
  /** Writes a batch of runs and an optional cursor atomically: all or nothing, for resumable copies. */
  upsertBatch(runs: readonly NormalizedRun[], options?: UpsertOptions): Promise<UpsertOutcome[]>;
  /** Indexes rows written outside sync (seed-v1 rows, launch registrations) from their stored JSON. */
  indexStoredRuns(extraction?: ExtractionMap): Promise<number>;
  getSyncState(entity: string, project: string, kind: string): Promise<SyncState | null>;
  setSyncState(update: SyncStateUpdate): Promise<void>;
  /** Looks up attribute keys by (source, path); missing ones are absent from the result. */
  findAttributeKeys(refs: ReadonlyArray<{ source: AttributeSource; path: string }>): Promise<AttributeKey[]>;
  /** All known attribute paths of one source (for suggestions and `traindb attributes`). */
  listAttributeKeys(source?: AttributeSource): Promise<AttributeKey[]>;
  /** Runs a read-only query compiled by the query engine. Parameters are positional (`?`). */
  all(sql: string, params?: readonly SqlValue[]): Promise<Row[]>;
  /** The database's plan for a query, one line per step. */
  explain(sql: string, params?: readonly SqlValue[]): Promise<string[]>;
  close(): Promise<void>;
}
