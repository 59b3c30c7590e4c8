import type { WandbRunNode } from '../core/wandb-run.js';
import type { NormalizeOptions } from '../core/normalize/run.js';
import type { RunStore, SyncStateUpdate } from '../db/store.js';
import { emptySummary, ingestNodes, type IngestSummary } from './ingest.js';
import { withWriteRetries, type WriteRetryOptions } from './write-retry.js';

/** A page of runs fetched from W&B, carried whole so processing makes no request per run. */
export interface SyncRunsPayload {
  entity: string;
  project: string;
  nodes: readonly WandbRunNode[];
  /** Cursor/watermark to commit together with these runs. */
  syncState?: SyncStateUpdate;
  /** run_status_events.source for transitions seen here (default 'wandb'). */
  source?: string;
}

export interface SyncRunsDeps {
  store: RunStore;
  normalize: NormalizeOptions;
  /** Retries of transient write failures (a busy database); when they run out the job throws. */
  retry?: WriteRetryOptions;
}

/**
 * The job processor that writes fetched runs: `(payload) => summary`, no queue import, so the backfill
 * CLI runs it inline and the daemon's workers run it from a queue. A run that cannot be normalized or
 * stored is reported in the summary, recorded in sync_failures with the cursor, and the others still
 * land. A transient failure (a busy database) is retried and then thrown with the cursor uncommitted,
 * so a resume, or the queue's next attempt, writes the page again.
 */
export function createSyncRunsJob(deps: SyncRunsDeps) {
  return async function syncRuns(payload: SyncRunsPayload): Promise<IngestSummary> {
    const options = {
      ...deps.normalize,
      entity: payload.entity,
      project: payload.project,
      source: payload.source ?? 'wandb',
      // One transaction for the page and its cursor; ingestNodes falls back to one per run on failure.
      batchSize: Number.MAX_SAFE_INTEGER,
      ...(payload.syncState ? { syncState: payload.syncState } : {}),
      ...(deps.retry ? { retry: deps.retry } : {}),
    };
    const summary = await ingestNodes(deps.store, payload.nodes, options, emptySummary());
    // An empty page wrote no batch: the cursor still moves on. (Any other page committed it with its runs.)
    const state = payload.syncState;
    if (state && payload.nodes.length === 0)
      await withWriteRetries(
        `the sync cursor of ${state.entity}/${state.project}`,
        () => deps.store.setSyncState(state),
        deps.retry,
      );
    return summary;
  };
}
