import type { WandbRunNode } from '../core/wandb-run.js';

/**
 * The daemon's job names and payloads, in one place. Processors are plain `(payload, ctx)` functions;
 * src/worker adapts BullMQ jobs to them, so they also run inline from a test or the CLI with no Redis.
 */
export const JOB = {
  poll: 'poll-project',
  reconcile: 'reconcile-project',
  syncRun: 'sync-run',
} as const;

export interface ProjectPayload {
  entity: string;
  project: string;
}

/** One run's fetched W&B data: the job carries it, so processing makes no request. */
export interface SyncRunPayload extends ProjectPayload {
  node: WandbRunNode;
  /** run_status_events.source for a transition this data reveals. */
  source: 'wandb' | 'reconcile';
}

export interface JobPayloads {
  'poll-project': ProjectPayload;
  'reconcile-project': ProjectPayload;
  'sync-run': SyncRunPayload;
}

/** pino-compatible subset, so jobs/ needs no logger package. */
export interface JobLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface JobContext {
  log: JobLogger;
  signal?: AbortSignal;
}

/** A sync job to add, with what its deterministic id is made of. */
export interface SyncRunItem {
  payload: SyncRunPayload;
  /** The data's W&B version: max(updatedAt, heartbeatAt), epoch ms. */
  versionMs: number;
  /** Fingerprint of the fetched node: same run, same data → same job id → added once. */
  contentHash: string;
  /** Set when this data cannot be normalized: the job will fail with this reason and is kept for `traindb jobs failed`. */
  poison?: string;
}

/** How processors hand work to the queue (implemented over BullMQ in src/worker/queues.ts). */
export interface JobEnqueuer {
  /** Adds sync jobs; one already queued, running or kept as failed under the same id is not added again. */
  syncRuns(items: readonly SyncRunItem[]): Promise<void>;
  /** Adds a reconcile of one project unless one for the same period exists. */
  reconcile(payload: ProjectPayload, periodStartMs: number): Promise<void>;
}

export const SILENT_LOGGER: JobLogger = { debug() {}, info() {}, warn() {}, error() {} };
