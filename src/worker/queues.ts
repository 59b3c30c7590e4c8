import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { bounded } from './releasers.js';
import { JOB, type JobEnqueuer, type ProjectPayload, type SyncRunItem } from '../jobs/registry.js';

/** Polls and reconciles have their own queue: a scheduler only makes its next job once the last one starts. */
export const QUEUE = { poll: 'poll', sync: 'sync' } as const;

const DAY_S = 86_400;

export interface QueueSettings {
  prefix: string;
  jobAttempts: number;
}

export interface Queues {
  poll: Queue;
  sync: Queue;
  enqueuer: JobEnqueuer;
  close(): Promise<void>;
}

/** BullMQ refuses ids with ':' and all-digit ids; names from W&B are kept readable otherwise. */
export function slug(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/** One id per (run, W&B data): polling the same data again adds nothing; a change makes a new job. */
export function syncJobId(item: SyncRunItem): string {
  const { entity, project, node } = item.payload;
  return `run-${slug(entity)}-${slug(project)}-${slug(node.name)}-${item.versionMs}-${item.contentHash}`;
}

export function pollSchedulerId(p: ProjectPayload): string {
  return `poll-${slug(p.entity)}-${slug(p.project)}`;
}

export function reconcileJobId(p: ProjectPayload, periodStartMs: number): string {
  return `reconcile-${slug(p.entity)}-${slug(p.project)}-${periodStartMs}`;
}

/**
 * Retention is explicit (BullMQ keeps finished jobs forever by default). A transient failure, once its
 * attempts are spent, is removed at once: the run is still missing from the database, so the next
 * poll fetches and enqueues it again under the same id. Data that cannot be normalized fails at the
 * first attempt and is kept a week, listed by `traindb jobs failed` and not re-added meanwhile.
 */
export function syncJobOptions(item: SyncRunItem, settings: QueueSettings): JobsOptions {
  const common = { jobId: syncJobId(item), removeOnComplete: { age: 3600, count: 10_000 } };
  if (item.poison !== undefined) return { ...common, attempts: 1, removeOnFail: { age: 7 * DAY_S, count: 10_000 } };
  return {
    ...common,
    attempts: settings.jobAttempts,
    backoff: { type: 'exponential', delay: 1000, jitter: 0.5 },
    removeOnFail: true,
  };
}

export function createQueues(connection: Redis, settings: QueueSettings, onError: (error: Error) => void): Queues {
  const poll = new Queue(QUEUE.poll, { connection, prefix: settings.prefix });
  const sync = new Queue(QUEUE.sync, { connection, prefix: settings.prefix });
  poll.on('error', onError);
  sync.on('error', onError);
  const enqueuer: JobEnqueuer = {
    async syncRuns(items) {
      // Bounded batches: one round trip per 500 jobs, never one huge Lua call.
      for (let i = 0; i < items.length; i += 500) {
        await sync.addBulk(
          items
            .slice(i, i + 500)
            .map((item) => ({ name: JOB.syncRun, data: item.payload, opts: syncJobOptions(item, settings) })),
        );
      }
    },
    async reconcile(payload, periodStartMs) {
      await poll.add(JOB.reconcile, payload, {
        jobId: reconcileJobId(payload, periodStartMs),
        attempts: 3,
        backoff: { type: 'exponential', delay: 5000, jitter: 0.5 },
        removeOnComplete: { age: DAY_S, count: 1000 },
        removeOnFail: { age: 7 * DAY_S, count: 1000 },
      });
    },
  };
  return {
    poll,
    sync,
    enqueuer,
    async close() {
      // Closing waits for a connection that may never come (Redis refused us): bounded.
      await bounded(Promise.allSettled([poll.close(), sync.close()]), 2000);
    },
  };
}
