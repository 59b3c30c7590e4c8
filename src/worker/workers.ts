import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { TraindbError } from '../core/errors.js';
import type { UpsertOutcome } from '../db/store.js';
import { emptyPollResult, type PollResult } from '../jobs/poll-project.js';
import type { ReconcileResult } from '../jobs/reconcile-project.js';
import { JOB, type JobContext, type JobLogger, type ProjectPayload, type SyncRunPayload } from '../jobs/registry.js';
import type { DaemonMetrics } from './metrics.js';
import type { ProgressTracker } from './progress.js';
import { closeRedis } from './redis.js';
import { bounded } from './releasers.js';
import { QUEUE } from './queues.js';

export interface Processors {
  poll(payload: ProjectPayload, ctx: JobContext): Promise<PollResult>;
  reconcile(payload: ProjectPayload, ctx: JobContext): Promise<ReconcileResult>;
  syncRun(payload: SyncRunPayload, ctx: JobContext): Promise<UpsertOutcome>;
}

export interface WorkerLogger extends JobLogger {
  child(bindings: Record<string, unknown>): WorkerLogger;
}

export interface WorkerSettings {
  prefix: string;
  /** Sync jobs at once. */
  concurrency: number;
  /** Lock duration; the stalled check runs as often, so a dead worker's job is re-run within ~2 locks. */
  lockMs: number;
}

export interface WorkerDeps {
  connect: () => Redis;
  processors: Processors;
  settings: WorkerSettings;
  log: WorkerLogger;
  metrics: DaemonMetrics;
  progress: ProgressTracker;
  /** How many projects are polled: the poll worker runs one poll and one reconcile per project at once. */
  projects: number;
}

export interface WorkerSet {
  /** From now on, failures are our own shutdown's doing: logged quietly. */
  beginClosing(): void;
  /** Replaces both workers with fresh ones on fresh connections (the watchdog's cure for a wedge). */
  restart(): Promise<void>;
  /** Stops taking jobs, lets in-flight ones finish for `graceMs`, then releases them (their locks lapse and another worker re-runs them). */
  close(graceMs: number): Promise<void>;
}

/** BullMQ adapters around the plain processors: job → payload, error kind → retry policy, events → metrics. */
export function startWorkers(deps: WorkerDeps): WorkerSet {
  const { settings, log } = deps;
  let current = spawn();
  let closing = false;

  function spawn(): Array<{ worker: Worker; connection: Redis }> {
    return [make(QUEUE.poll, Math.max(2, deps.projects * 2)), make(QUEUE.sync, settings.concurrency)];
  }

  function make(queue: string, concurrency: number): { worker: Worker; connection: Redis } {
    const connection = deps.connect();
    const worker = new Worker(queue, (job, _token, signal) => run(queue, job, signal), {
      connection,
      prefix: settings.prefix,
      concurrency,
      lockDuration: settings.lockMs,
      stalledInterval: settings.lockMs,
      // One crash mid-job is normal (at-least-once); a job that keeps killing workers fails instead.
      maxStalledCount: 2,
      // Finished jobs are trimmed by each job's own removeOnComplete/removeOnFail.
    });
    worker.on('error', (error) => log.warn({ queue, err: error.message }, 'worker error'));
    worker.on('completed', (job, result) => completed(queue, job, result));
    worker.on('failed', (job, error) => failed(queue, job, error));
    return { worker, connection };
  }

  async function run(queue: string, job: Job, signal?: AbortSignal): Promise<unknown> {
    const ctx: JobContext = {
      log: log.child({ queue, jobId: job.id, job: job.name, attempt: job.attemptsMade + 1 }),
      ...(signal ? { signal } : {}),
    };
    const started = Date.now();
    try {
      switch (job.name) {
        case JOB.poll:
          return await deps.processors.poll(job.data as ProjectPayload, ctx);
        case JOB.reconcile:
          return await deps.processors.reconcile(job.data as ProjectPayload, ctx);
        case JOB.syncRun:
          return await deps.processors.syncRun(job.data as SyncRunPayload, ctx);
        default:
          throw new UnrecoverableError(`unknown job name ${job.name} on queue ${queue}`);
      }
    } catch (error) {
      // Data that cannot be normalized fails the same way every time: no retries, kept with its reason.
      if (error instanceof TraindbError && error.code === 'INVALID_RUN') throw new UnrecoverableError(error.message);
      // A poll cut short by our own shutdown is not a failure: the scheduler's next poll redoes it.
      if (closing && job.name === JOB.poll) return { ...emptyPollResult(), skipped: 'interrupted by shutdown' };
      throw error;
    } finally {
      if (job.name === JOB.poll || job.name === JOB.reconcile) {
        const data = job.data as ProjectPayload;
        deps.metrics.pollDuration.observe(
          { project: `${data.entity}/${data.project}`, kind: job.name === JOB.poll ? 'poll' : 'reconcile' },
          (Date.now() - started) / 1000,
        );
      }
    }
  }

  function completed(queue: string, job: Job, result: unknown): void {
    deps.progress.jobFinished();
    deps.metrics.jobs.inc({ queue, name: job.name, outcome: 'completed' });
    const data = job.data as ProjectPayload;
    const project = `${data.entity}/${data.project}`;
    if (job.name === JOB.syncRun) {
      const outcome = result as UpsertOutcome;
      deps.metrics.runsSynced.inc({ project, result: outcome.result });
      if (outcome.transition) {
        const source = (job.data as SyncRunPayload).source;
        deps.metrics.transitions.inc({
          project,
          to: outcome.transition.to,
          source: outcome.transition.to === 'stale' ? 'heartbeat' : source,
        });
      }
    } else if (job.name === JOB.poll) {
      const r = result as PollResult;
      if (!r.skipped) deps.progress.pollSucceeded(project);
      if (r.stale) deps.metrics.marks.inc({ project, mark: 'stale' }, r.stale);
      if (r.restored) deps.metrics.marks.inc({ project, mark: 'restored' }, r.restored);
    } else if (job.name === JOB.reconcile) {
      const r = result as ReconcileResult;
      if (r.deleted.length) deps.metrics.marks.inc({ project, mark: 'deleted' }, r.deleted.length);
      if (r.stale) deps.metrics.marks.inc({ project, mark: 'stale' }, r.stale);
      if (r.restored) deps.metrics.marks.inc({ project, mark: 'restored' }, r.restored);
    }
  }

  function failed(queue: string, job: Job | undefined, error: Error): void {
    deps.progress.jobFinished();
    if (!job) return;
    deps.metrics.jobs.inc({ queue, name: job.name, outcome: 'failed' });
    const attempts = job.opts.attempts ?? 1;
    const final =
      error instanceof UnrecoverableError || error.name === 'UnrecoverableError' || job.attemptsMade >= attempts;
    const data = job.data as ProjectPayload;
    if (closing) {
      // Aborted by our own shutdown: the next poll (or another worker) does it again.
      log.info({ queue, jobId: job.id, job: job.name, err: error.message }, 'job interrupted by shutdown');
      return;
    }
    if (job.name === JOB.syncRun && final)
      deps.metrics.runsSynced.inc({ project: `${data.entity}/${data.project}`, result: 'failed' });
    log[final ? 'error' : 'warn'](
      {
        queue,
        jobId: job.id,
        job: job.name,
        entity: data.entity,
        project: data.project,
        attempt: `${job.attemptsMade} of ${attempts}`,
        err: error.message,
      },
      final ? 'job failed' : 'job failed, will retry',
    );
  }

  async function closeAll(set: Array<{ worker: Worker; connection: Redis }>, graceMs: number): Promise<void> {
    const graceful = Promise.allSettled(set.map((s) => s.worker.close()));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      graceful.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      if (graceMs > 0) log.warn({ graceMs }, 'in-flight jobs did not finish in time: releasing them to be re-run');
      for (const s of set) s.worker.cancelAllJobs('shutdown');
      // A worker that never reached Redis (e.g. refused its password) waits for it forever even when forced.
      await bounded(Promise.allSettled(set.map((s) => s.worker.close(true))), 2000);
    }
    await Promise.allSettled(set.map((s) => closeRedis(s.connection)));
  }

  return {
    beginClosing() {
      closing = true;
    },
    async restart() {
      const old = current;
      current = spawn();
      await closeAll(old, 0);
    },
    async close(graceMs) {
      closing = true;
      await closeAll(current, graceMs);
    },
  };
}
