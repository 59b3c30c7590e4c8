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
  /** Runs given up on for good (bad data), recorded in sync_failures with the cursor that passes them. */
  failures?: readonly SyncFailure[];
  /** W&B run ids now written: their earlier failure records are cleared (upsertBatch adds its own runs). */
  written?: readonly string[];
}

/** A run a sync could not write and will not retry by itself: its W&B id and why. */
export interface SyncFailure {
  run: string;
  reason: string;
}

/** A row of sync_failures. */
export interface SyncFailureRecord extends SyncFailure {
  kind: string;
  failedAt: string;
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

/** What the daemon needs to know about a stored W&B run to decide whether fetched data is new. */
export interface StoredRunFingerprint {
  wandbRunId: string;
  runId: string;
  status: string | null;
  sourceHash: string | null;
  deletedAt: string | null;
}

/** A run registered at launch, before W&B knows it (the seed's "At Launch" step). */
export interface LaunchRegistration {
  runId: string;
  /** The run's configuration as the training script will log it (plain or W&B-wrapped). */
  config: Record<string, unknown>;
  host?: string | null;
  instanceId?: string | null;
  configFilePath?: string | null;
  chainOfCustodyId?: string | null;
  /** ISO UTC; defaults to now. */
  launchedAt?: string;
}

export interface LaunchOutcome {
  runId: string;
  /** False when the run was already known (registered before, or already synced from W&B). */
  created: boolean;
  status: string | null;
}

/** Attachment columns people and tools set after the fact (sync never overwrites them). */
export const ATTACHMENT_FIELDS = [
  'conversation_s3_key',
  'error_log_s3_key',
  'crash_report_s3_key',
  'crash_analysis_s3_key',
  'blog_post_url',
] as const;

/** Values for attachment columns; null clears one. */
export type Attachments = Partial<Record<(typeof ATTACHMENT_FIELDS)[number], string | null>>;

/** A status change the daemon infers without new W&B data (heartbeat staleness, deletion). */
export interface ObservedChange {
  entity: string;
  project: string;
  wandbRunIds: readonly string[];
  observedAt?: string;
  /** Merged into each event's detail JSON. */
  detail?: Record<string, unknown>;
  /** markRunsStale only: skip a run whose stored heartbeat is at or after this ISO instant. */
  heartbeatBefore?: string;
}

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
  /** Runs of one project recorded as permanently failed by a sync (oldest first). */
  listSyncFailures(entity: string, project: string): Promise<SyncFailureRecord[]>;
  /** Looks up attribute keys by (source, path); missing ones are absent from the result. */
  findAttributeKeys(refs: ReadonlyArray<{ source: AttributeSource; path: string }>): Promise<AttributeKey[]>;
  /** All known attribute paths of one source (for suggestions and `traindb attributes`). */
  listAttributeKeys(source?: AttributeSource): Promise<AttributeKey[]>;
  /** Runs a read-only query compiled by the query engine. Parameters are positional (`?`). */
  all(sql: string, params?: readonly SqlValue[]): Promise<Row[]>;
  /** The database's plan for a query, one line per step. */
  explain(sql: string, params?: readonly SqlValue[]): Promise<string[]>;
  /** W&B run ids of one project: `active` = alive and not deleted, `present` = not deleted, `deleted` = marked deleted. */
  listWandbRunIds(entity: string, project: string, which: 'active' | 'present' | 'deleted'): Promise<string[]>;
  /** Fingerprints of the stored runs among `wandbRunIds` (absent ones are missing from the result). */
  getRunFingerprints(entity: string, project: string, wandbRunIds: readonly string[]): Promise<StoredRunFingerprint[]>;
  /**
   * Marks runs W&B no longer has: sets deleted_at and records one run_status_events row (to 'deleted',
   * source 'reconcile') per run not already marked. Rows are never removed. Returns the runs marked.
   */
  markRunsDeleted(change: ObservedChange): Promise<string[]>;
  /** Clears deleted_at of runs W&B serves again, recording the way back (source 'reconcile'). Returns the runs restored. */
  restoreRuns(change: ObservedChange): Promise<string[]>;
  /**
   * Runs still 'running' whose heartbeat is too old become 'stale' (suspected dead), with one event
   * (source 'heartbeat') each. The status is checked inside the write transaction: exactly once.
   */
  markRunsStale(change: ObservedChange): Promise<string[]>;
  /** Inserts a 'launched' row with the extracted columns and objectives of its config; idempotent. */
  registerLaunch(registration: LaunchRegistration, extraction?: ExtractionMap): Promise<LaunchOutcome>;
  /** Sets attachment columns of one run; false when no such run. */
  setAttachments(runId: string, attachments: Attachments): Promise<boolean>;
  /**
   * Starts a bulk load. Into a database holding fewer than `maxRuns` runs (default 5,000; past that,
   * rebuilding costs more than it saves) the secondary indexes that take random inserts are set aside.
   * Into an empty database, commits also skip fsync until the load ends. Returns whether anything changed;
   * then `endBulkLoad` must follow. Queries stay correct meanwhile, only slower, and a load that dies
   * before ending is healed the next time the database is opened.
   */
  beginBulkLoad(options?: { maxRuns?: number }): Promise<boolean>;
  /** Rebuilds the indexes set aside by `beginBulkLoad` (returns their names) and flushes the files to disk. */
  endBulkLoad(): Promise<string[]>;
  /** Throws unless a write transaction can start now (readiness probe). */
  checkWritable(): Promise<void>;
  /**
   * Rewrites the database densely (SQLite: VACUUM). A big load fills indexes in arrival order and leaves
   * them partly empty; at 100K runs this took the file from 1583 to 1523 MB in 23 s. Needs the database to
   * itself and free disk space for a copy while it runs.
   */
  compact(): Promise<{ beforeBytes: number; afterBytes: number }>;
  close(): Promise<void>;
}
