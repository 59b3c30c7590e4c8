import type { ExtractionMap } from '../core/normalize/extraction.js';

/** Everything traindb is configured with, read once by `loadConfig` and frozen. */
export interface TraindbConfig {
  /** SQLite path or database URL. */
  database: string;
  /** Config key whose value is the launch id (becomes run_id). */
  launchIdKey: string;
  extraction: ExtractionMap;
  wandb: WandbSettings;
  /** `entity/project` pairs the daemon and `backfill` default to. */
  projects: ReadonlyArray<{ entity: string; project: string }>;
  /** The sync daemon's settings (the `daemon:` section; see src/config/daemon.ts). */
  daemon: DaemonSettings;
}

export interface DaemonSettings {
  /** Poll period per project (`daemon.interval`, `--interval`). */
  intervalMs: number;
  /** How often a full listing re-checks every run and marks deleted ones. */
  reconcileIntervalMs: number;
  /** A run still running in W&B whose heartbeat is older than this becomes `stale`. */
  staleAfterMs: number;
  /** Each poll re-lists runs changed this long before the watermark (W&B's filtered results lag). */
  overlapMs: number;
  /** BullMQ key prefix: deployments sharing one Redis need distinct prefixes. */
  queuePrefix: string;
  /** env REDIS_URL; may carry a password, so never logged as is. */
  redisUrl: string;
  /** Sync jobs processed at once per process. */
  concurrency: number;
  /** Attempts per sync job (transient failures; exponential backoff). */
  jobAttempts: number;
  /** BullMQ lock duration: how soon a dead worker's job is handed to another. */
  jobLockMs: number;
  /** On SIGTERM, how long in-flight jobs may run before they are released. */
  shutdownGraceMs: number;
  logLevel: string;
  http: {
    host: string;
    /** 0 picks any free port (tests). */
    port: number;
    /** env TRAINDB_API_TOKEN: required on writes when set, and on reads off loopback. Never logged. */
    token: string | undefined;
    /** env TRAINDB_READ_TOKEN: a second token that only reads (off loopback). Never logged. */
    readToken: string | undefined;
    /** A query (GET /runs, /compare) not answered within this is stopped and answered 503. */
    queryTimeoutMs: number;
    /** Query threads, each with its own read connection to the database. */
    queryThreads: number;
  };
}

export interface WandbSettings {
  baseUrl: string;
  /** Never logged, never printed: see `describeConfig`. */
  apiKey: string | undefined;
  pageSize: number;
  requestsPerSecond: number;
  timeoutMs: number;
}

export const DEFAULT_DATABASE = 'traindb.sqlite';
export const DEFAULT_WANDB_BASE_URL = 'https://api.wandb.ai';
