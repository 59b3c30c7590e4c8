import { normalizeRun, type NormalizeOptions } from '../core/normalize/run.js';
import type { RunStore, UpsertOutcome } from '../db/store.js';
import type { JobContext, SyncRunPayload } from './registry.js';

export interface SyncRunDeps {
  store: RunStore;
  normalize: NormalizeOptions;
  /** A run W&B still calls running whose heartbeat is older than this is stored as 'stale'. */
  staleAfterMs: number;
  now?: () => number;
}

/**
 * Writes one fetched run: normalize, then the same idempotent upsert the backfill uses (newer W&B
 * version wins, status transition recorded once inside the write transaction). Data that cannot be
 * normalized throws TraindbError INVALID_RUN, which the worker turns into a permanent failure;
 * anything else (a busy database) is retried.
 */
export function createSyncRunJob(deps: SyncRunDeps) {
  const now = deps.now ?? Date.now;
  return async function syncRun(payload: SyncRunPayload, ctx: JobContext): Promise<UpsertOutcome> {
    const n = normalizeRun(payload.node, { ...deps.normalize, entity: payload.entity, project: payload.project });
    let source: string = payload.source;
    const heartbeat = n.run.heartbeat_at;
    if (
      n.run.status === 'running' &&
      typeof heartbeat === 'string' &&
      Date.parse(heartbeat) < now() - deps.staleAfterMs
    ) {
      // W&B may show a dead run as running for weeks: record what the heartbeat says. The content hash
      // stays W&B's, so re-polling the same data leaves it stale and a fresh heartbeat revives it.
      n.run.status = 'stale';
      source = 'heartbeat';
    }
    const outcome = await deps.store.upsertRun(n, { source });
    if (outcome.transition) {
      ctx.log.info(
        { runId: outcome.runId, from: outcome.transition.from, to: outcome.transition.to, source },
        'status changed',
      );
    }
    return outcome;
  };
}
