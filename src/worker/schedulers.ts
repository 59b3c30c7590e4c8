import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { JOB, type ProjectPayload } from '../jobs/registry.js';
import { pollSchedulerId } from './queues.js';

export interface SchedulerChanges {
  created: string[];
  updated: string[];
  removed: string[];
}

/**
 * Makes the poll queue hold exactly one scheduler per configured project, at the configured interval.
 * Called at start-up and on every watchdog tick: a Redis that restarted without its data has lost
 * every scheduler, and nothing would poll again. Unchanged schedulers are left alone (an upsert of an
 * existing one does not fire, and concurrent upserts from several processes have had bugs), and a
 * short Redis lock keeps two daemons sharing a prefix from doing it at the same moment.
 */
export async function ensureSchedulers(
  poll: Queue,
  lock: Redis,
  prefix: string,
  projects: readonly ProjectPayload[],
  everyMs: number,
): Promise<SchedulerChanges | null> {
  const lockKey = `${prefix}:traindb:scheduler-lock`;
  const token = `${process.pid}-${Date.now()}`;
  if ((await lock.set(lockKey, token, 'PX', 10_000, 'NX')) !== 'OK') return null;
  try {
    const changes: SchedulerChanges = { created: [], updated: [], removed: [] };
    const existing = new Map((await poll.getJobSchedulers(0, -1)).map((s) => [s.key, s]));
    const wanted = new Set<string>();
    for (const p of projects) {
      const id = pollSchedulerId(p);
      wanted.add(id);
      const current = existing.get(id);
      if (current && current.every === everyMs) continue;
      await poll.upsertJobScheduler(
        id,
        { every: everyMs },
        {
          name: JOB.poll,
          data: { entity: p.entity, project: p.project },
          // A failed poll is not retried: the next one, an interval later, is the retry.
          opts: { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
        },
      );
      (current ? changes.updated : changes.created).push(id);
    }
    for (const id of existing.keys()) {
      if (id.startsWith('poll-') && !wanted.has(id)) {
        await poll.removeJobScheduler(id);
        changes.removed.push(id);
      }
    }
    return changes;
  } finally {
    // Release only our own lock (a slow run may have outlived it).
    if ((await lock.get(lockKey)) === token) await lock.del(lockKey);
  }
}
