import type { WandbRunNode } from '../core/wandb-run.js';
import type { NormalizeOptions } from '../core/normalize/run.js';
import type { RunStore, SyncStateUpdate } from '../db/store.js';
import { emptySummary, ingestNodes, type IngestSummary } from './ingest.js';

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
}

/**
 * The job processor that writes fetched runs: `(payload) => summary`, no queue import, so the backfill
 * CLI runs it inline and the daemon's workers run it from a queue. A run that cannot be normalized is
 * reported in the summary and the others still land; the cursor is committed with the data.
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
    };
    const summary = await ingestNodes(deps.store, payload.nodes, options, emptySummary());
    // An empty page, or one whose every run failed, wrote no batch: the cursor still moves on.
    const wrote = summary.inserted + summary.updated + summary.unchanged + summary.stale > 0;
    if (payload.syncState && !wrote) await deps.store.setSyncState(payload.syncState);
    return summary;
  };
}
