import type { Redis } from 'ioredis';
import type { NormalizeOptions } from '../core/normalize/run.js';
import type { RunStore } from '../db/store.js';
import { createPollProjectJob, POLL_STATE } from '../jobs/poll-project.js';
import { createReconcileProjectJob } from '../jobs/reconcile-project.js';
import type { ProjectPayload } from '../jobs/registry.js';
import { createSyncRunJob } from '../jobs/sync-run.js';
import type { WandbClient } from '../wandb/index.js';
import type { DaemonMetrics } from './metrics.js';
import { ProgressTracker } from './progress.js';
import { createQueues, type Queues } from './queues.js';
import { closeRedis, createRedis, pingRedis, redactRedisUrl, type RedisEvents } from './redis.js';
import { Releasers } from './releasers.js';
import { ensureSchedulers } from './schedulers.js';
import { startTicker } from './watchdog.js';
import { startWorkers, type WorkerLogger } from './workers.js';
import type { DaemonSettings } from '../config/config.js';

/** The slice of the daemon's configuration the sync machinery needs (documented on DaemonSettings). */
export type SyncDaemonSettings = Pick<
  DaemonSettings,
  | 'intervalMs'
  | 'reconcileIntervalMs'
  | 'staleAfterMs'
  | 'overlapMs'
  | 'queuePrefix'
  | 'redisUrl'
  | 'concurrency'
  | 'jobAttempts'
  | 'jobLockMs'
>;

export interface SyncDaemonDeps {
  settings: SyncDaemonSettings;
  projects: readonly ProjectPayload[];
  store: RunStore;
  wandb: WandbClient;
  normalize: NormalizeOptions;
  log: WorkerLogger;
  metrics: DaemonMetrics;
  /** Called first on stop, e.g. to abort W&B requests so a poll in flight ends at once. */
  onStopping?: () => void;
  /**
   * Redis refused us for good after start-up (e.g. its password changed): the daemon cannot work and
   * should stop. During start-up the same error rejects startSyncDaemon instead.
   */
  onFatal?: (error: Error) => void;
}

export interface SyncDaemon {
  queues: Queues;
  progress: ProgressTracker;
  /** Throws unless Redis answers now. */
  pingRedis(): Promise<void>;
  /** Last successful poll per project (from the database, so it also counts polls by sibling daemons). */
  lastPolls(): Promise<Array<{ project: string; lastPollMs: number | null; watermark: string | null }>>;
  /**
   * What /readyz checks: Redis answers, the database takes a write lock, and every project's last
   * successful poll is younger than 3 intervals (progress, not just connectivity).
   */
  readinessChecks(): Array<{ name: string; check(): Promise<unknown> }>;
  /** Stops polling and workers (in-flight jobs get `graceMs`), then closes queues and Redis. */
  stop(graceMs: number): Promise<void>;
}

/**
 * The worker side of the daemon: queues, one poll scheduler per project, workers, and a watchdog
 * tick that (1) re-creates schedulers a Redis restart wiped, and (2) replaces workers that hold
 * connections yet finish nothing while work waits. On start the schedulers' first polls run at once
 * and, the database being the source of truth, re-enqueue whatever it lacks.
 */
export async function startSyncDaemon(deps: SyncDaemonDeps): Promise<SyncDaemon> {
  const { settings, log, metrics, store } = deps;
  const releasers = new Releasers();
  const progress = new ProgressTracker();
  // A refusal no reconnect can cure (wrong password) fails start-up, or later stops the daemon, instead
  // of waiting for a Redis that will never let us in.
  let started = false;
  let fatal: Error | undefined;
  let rejectStart!: (error: Error) => void;
  const startFailed = new Promise<never>((_, reject) => (rejectStart = reject));
  startFailed.catch(() => undefined);
  try {
    const events: RedisEvents = {
      onDown: (role, message) => log.warn({ role, err: message }, 'Redis connection lost; reconnecting'),
      onUp: (role) => log.debug({ role }, 'Redis connected'),
      onFatal: (_role, error) => {
        if (fatal) return;
        fatal = error;
        if (started) deps.onFatal?.(error);
        else rejectStart(error);
      },
    };
    const queueRedis: Redis = createRedis(settings.redisUrl, 'queue', events);
    releasers.push('queue connection', () => closeRedis(queueRedis));
    const probe: Redis = createRedis(settings.redisUrl, 'probe', { onFatal: events.onFatal! });
    releasers.push('probe connection', () => closeRedis(probe));

    const queues = createQueues(
      queueRedis,
      { prefix: settings.queuePrefix, jobAttempts: settings.jobAttempts },
      (error) => log.warn({ err: error.message }, 'queue error'),
    );
    releasers.push('queues', () => queues.close());

    const normalize = deps.normalize;
    const processors = {
      poll: createPollProjectJob({
        wandb: deps.wandb,
        store,
        normalize,
        enqueue: queues.enqueuer,
        settings: {
          overlapMs: settings.overlapMs,
          staleAfterMs: settings.staleAfterMs,
          reconcileIntervalMs: settings.reconcileIntervalMs,
        },
      }),
      reconcile: createReconcileProjectJob({
        wandb: deps.wandb,
        store,
        normalize,
        enqueue: queues.enqueuer,
        staleAfterMs: settings.staleAfterMs,
      }),
      syncRun: createSyncRunJob({ store, normalize, staleAfterMs: settings.staleAfterMs }),
    };

    const workers = startWorkers({
      connect: () => createRedis(settings.redisUrl, 'worker', events),
      processors,
      settings: { prefix: settings.queuePrefix, concurrency: settings.concurrency, lockMs: settings.jobLockMs },
      log,
      metrics,
      progress,
      projects: deps.projects.length,
    });
    let graceMs = 0;
    releasers.push('workers', () => workers.close(graceMs));

    const ensure = async (): Promise<void> => {
      const changes = await ensureSchedulers(
        queues.poll,
        queueRedis,
        settings.queuePrefix,
        deps.projects,
        settings.intervalMs,
      );
      if (changes && changes.created.length + changes.updated.length + changes.removed.length > 0) {
        log.info({ ...changes }, 'poll schedulers set');
      }
    };
    // Start-up waits for Redis (commands queue while it is away); say so rather than hang silently.
    const waiting = setTimeout(() => log.warn({ redis: redactRedisUrl(settings.redisUrl) }, 'waiting for Redis'), 5000);
    try {
      await Promise.race([ensure(), startFailed]);
    } finally {
      clearTimeout(waiting);
    }
    started = true;

    // Long enough that a slow poll or a big backlog is not mistaken for a wedge.
    const stallMs = Math.max(5 * settings.intervalMs, 2 * settings.jobLockMs, 30_000);
    const tick = startTicker(
      Math.min(Math.max(settings.intervalMs, 250), 30_000),
      async () => {
        if (probe.status !== 'ready') return;
        await ensure();
        if (progress.idleMs() < stallMs) return;
        const [poll, sync] = await Promise.all([queues.poll.getJobCounts('wait'), queues.sync.getJobCounts('wait')]);
        if ((poll['wait'] ?? 0) + (sync['wait'] ?? 0) === 0) return;
        log.warn(
          { idleMs: progress.idleMs(), waiting: { poll: poll['wait'], sync: sync['wait'] } },
          'jobs are waiting but none finished lately: restarting workers',
        );
        progress.jobFinished(); // give the new workers a full period before judging them
        await workers.restart();
      },
      (error) => log.warn({ err: (error as Error).message }, 'watchdog tick failed'),
    );
    releasers.push('watchdog', () => tick.stop());

    const lastPolls: SyncDaemon['lastPolls'] = async () =>
      Promise.all(
        deps.projects.map(async (p) => {
          const state = await store.getSyncState(p.entity, p.project, POLL_STATE);
          return {
            project: `${p.entity}/${p.project}`,
            lastPollMs: state ? Date.parse(state.updatedAt) : null,
            watermark: state?.watermark ?? null,
          };
        }),
      );
    metrics.sources.freshness = lastPolls;
    metrics.sources.queueCounts = async (): Promise<Record<string, Record<string, number>>> => {
      if (queueRedis.status !== 'ready') return {};
      const states = ['wait', 'active', 'delayed', 'failed', 'completed'] as const;
      const [poll, sync] = await Promise.all([
        queues.poll.getJobCounts(...states),
        queues.sync.getJobCounts(...states),
      ]);
      return { poll, sync };
    };

    const maxPollAgeMs = 3 * settings.intervalMs;
    const readinessChecks: SyncDaemon['readinessChecks'] = () => [
      { name: 'redis', check: () => pingRedis(probe) },
      { name: 'database', check: () => store.checkWritable() },
      ...deps.projects.map((p) => ({
        name: `poll ${p.entity}/${p.project}`,
        check: async () => {
          const state = await store.getSyncState(p.entity, p.project, POLL_STATE);
          if (!state) throw new Error('no successful poll yet');
          const ageMs = Date.now() - Date.parse(state.updatedAt);
          if (ageMs > maxPollAgeMs)
            throw new Error(`last successful poll ${(ageMs / 1000).toFixed(1)} s ago (limit ${maxPollAgeMs / 1000} s)`);
          return { ageSeconds: Math.round(ageMs / 100) / 10, watermark: state.watermark };
        },
      })),
    ];

    return {
      queues,
      progress,
      pingRedis: () => pingRedis(probe),
      lastPolls,
      readinessChecks,
      async stop(grace) {
        // Without Redis no job can finish: waiting out the grace would only delay the exit.
        graceMs = fatal ? 0 : grace;
        workers.beginClosing();
        deps.onStopping?.();
        await releasers.release((name, error) =>
          log.warn({ step: name, err: (error as Error).message }, 'shutdown step failed'),
        );
      },
    };
  } catch (error) {
    await releasers.release().catch(() => undefined);
    throw error;
  }
}
