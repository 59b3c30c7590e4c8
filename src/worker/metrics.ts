import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { WandbClientEvent } from '../wandb/index.js';

export interface ProjectFreshness {
  project: string;
  /** Last successful poll, epoch ms; null if never. */
  lastPollMs: number | null;
  /** The poll watermark (W&B form), if any. */
  watermark: string | null;
}

/** Read at scrape time; each is bounded by a timeout so /metrics answers during a Redis outage. */
export interface MetricSources {
  queueCounts?: () => Promise<Record<string, Record<string, number>>>;
  freshness?: () => Promise<ProjectFreshness[]>;
}

export type DaemonMetrics = ReturnType<typeof createDaemonMetrics>;

/** The daemon's Prometheus metrics, in a Registry of their own (never prom-client's global one). */
export function createDaemonMetrics() {
  const registry = new Registry();
  const registers = [registry];
  const sources: MetricSources = {};
  collectDefaultMetrics({ register: registry, prefix: 'traindb_' });

  const runsSynced = new Counter({
    name: 'traindb_runs_synced_total',
    help: 'Runs written by sync jobs, by outcome (inserted, updated, unchanged, stale = older than stored, failed)',
    labelNames: ['project', 'result'] as const,
    registers,
  });
  const transitions = new Counter({
    name: 'traindb_status_transitions_total',
    help: 'Status transitions recorded in run_status_events',
    labelNames: ['project', 'to', 'source'] as const,
    registers,
  });
  const jobs = new Counter({
    name: 'traindb_jobs_total',
    help: 'Finished job attempts by queue, job name and outcome (completed, failed = will retry or gave up)',
    labelNames: ['queue', 'name', 'outcome'] as const,
    registers,
  });
  const pollDuration = new Histogram({
    name: 'traindb_poll_duration_seconds',
    help: 'Duration of polls and reconciles per project',
    labelNames: ['project', 'kind'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
    registers,
  });
  const marks = new Counter({
    name: 'traindb_runs_marked_total',
    help: 'Runs marked without new W&B data: stale (old heartbeat), deleted, restored',
    labelNames: ['project', 'mark'] as const,
    registers,
  });
  const wandbRequests = new Counter({
    name: 'traindb_wandb_requests_total',
    help: 'W&B API attempts by operation and HTTP status (timeout/network when there was none)',
    labelNames: ['operation', 'status'] as const,
    registers,
  });
  const wandbRetries = new Counter({
    name: 'traindb_wandb_retries_total',
    help: 'W&B API attempts that will be retried, by reason',
    labelNames: ['operation', 'reason'] as const,
    registers,
  });
  const wandbRateLimited = new Counter({
    name: 'traindb_wandb_rate_limited_total',
    help: 'HTTP 429 answers from W&B',
    registers,
  });

  new Gauge({
    name: 'traindb_queue_jobs',
    help: 'Jobs in each BullMQ queue by state',
    labelNames: ['queue', 'state'] as const,
    registers,
    async collect() {
      this.reset();
      const counts = await bounded(sources.queueCounts?.());
      for (const [queue, byState] of Object.entries(counts ?? {})) {
        for (const [state, n] of Object.entries(byState)) this.set({ queue, state }, n);
      }
    },
  });
  const freshness = (): Promise<ProjectFreshness[] | undefined> => bounded(sources.freshness?.());
  new Gauge({
    name: 'traindb_poll_lag_seconds',
    help: 'Seconds since the last successful poll of each project',
    labelNames: ['project'] as const,
    registers,
    async collect() {
      this.reset();
      for (const f of (await freshness()) ?? []) {
        if (f.lastPollMs !== null) this.set({ project: f.project }, Math.max(0, (Date.now() - f.lastPollMs) / 1000));
      }
    },
  });
  new Gauge({
    name: 'traindb_watermark_lag_seconds',
    help: "Seconds between now and each project's poll watermark (W&B's clock)",
    labelNames: ['project'] as const,
    registers,
    async collect() {
      this.reset();
      for (const f of (await freshness()) ?? []) {
        if (f.watermark)
          this.set({ project: f.project }, Math.max(0, (Date.now() - Date.parse(`${f.watermark}Z`)) / 1000));
      }
    },
  });

  return {
    registry,
    sources,
    runsSynced,
    transitions,
    jobs,
    pollDuration,
    marks,
    /** Feed from the W&B client's onEvent (the events never carry the key). */
    recordWandbEvent(e: WandbClientEvent): void {
      if (e.type === 'request') {
        const status =
          e.status !== undefined ? String(e.status) : e.errorCode === 'WANDB_TIMEOUT' ? 'timeout' : 'network';
        wandbRequests.inc({ operation: e.operation, status });
      } else if (e.type === 'retry') wandbRetries.inc({ operation: e.operation, reason: e.reason });
      else if (e.type === 'rate-limited') wandbRateLimited.inc();
    },
    contentType: registry.contentType as string,
    render: () => registry.metrics(),
  };
}

async function bounded<T>(promise: Promise<T> | undefined, ms = 1000): Promise<T | undefined> {
  if (!promise) return undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms))),
    ]);
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}
