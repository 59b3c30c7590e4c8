import { normalizeRun, type NormalizeOptions } from '../core/normalize/run.js';
import type { RunStore, UpsertOutcome } from '../db/store.js';
import type { JobContext, SyncRunPayload } from './registry.js';
import { TraindbError } from '../core/errors.js';
import { classifyWriteError } from './write-retry.js';

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
 * normalized or stored throws TraindbError INVALID_RUN, which the worker turns into a permanent failure;
 * a busy database throws UNAVAILABLE and is retried by the queue; a broken database is thrown as is.
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
    let outcome: UpsertOutcome;
    try {
      outcome = await deps.store.upsertRun(n, { source });
    } catch (error) {
      const kind = classifyWriteError(error);
      const message = error instanceof Error ? error.message : String(error);
      const run = `run ${payload.node.name} of ${payload.entity}/${payload.project}`;
      // Thrown, the job fails and the queue retries it (then the next poll re-enqueues it): never lost.
      if (kind === 'transient')
        throw new TraindbError('UNAVAILABLE', `could not write ${run} (${message}); the job will be retried`, {
          cause: error,
          transient: true,
        });
      // This run's data cannot be stored: the same every time, so it fails once and stays listed with the reason.
      if (kind === 'run')
        throw new TraindbError('INVALID_RUN', `${run} cannot be stored: ${message}`, { cause: error });
      throw error;
    }
    if (outcome.transition) {
      ctx.log.info(
        { runId: outcome.runId, from: outcome.transition.from, to: outcome.transition.to, source },
        'status changed',
      );
    }
    return outcome;
  };
}
