import type { Dispatcher } from 'undici';
import type { WandbRunNode } from '../core/wandb-run.js';
import type { WandbErrorCode } from './errors.js';

export interface WandbClientOptions {
  /** Default `https://api.wandb.ai`; dedicated / self-hosted servers have their own. */
  baseUrl?: string;
  apiKey: string;
  /** undici dispatcher (Agent, Pool, MockAgent...); default: undici's global dispatcher. */
  dispatcher?: Dispatcher;
  /** Runs per page (`first`); default 100. */
  pageSize?: number;
  /** Per-client cap: requests start at least 1000/requestsPerSecond ms apart. Default 2. */
  requestsPerSecond?: number;
  /** Per HTTP attempt (connect + headers + body). Default 30000. */
  timeoutMs?: number;
  /** Retries after the first attempt for transient failures. Default 8. */
  retries?: number;
  /**
   * Retries per attempt once a failing page is being shrunk to isolate a poison run (page sizes below
   * `pageSize`, and the probes). Default min(retries, 2): the full budget was already spent at full size.
   */
  shrinkRetries?: number;
  /** Backoff bounds (jittered exponential). Defaults 1000 and 60000. A 429's Retry-After can exceed the max. */
  minRetryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** Logs/metrics/progress. Never receives the key. Exceptions thrown here are swallowed. */
  onEvent?: (event: WandbClientEvent) => void;
  /** Aborts waits and in-flight requests; the pending call rejects with `signal.reason`. */
  signal?: AbortSignal;
}

export type WandbOperation = 'listRuns' | 'getRuns' | 'countRuns' | 'viewer' | 'probeRun';

export type WandbClientEvent =
  /** One HTTP attempt finished (emitted after the response or failure). */
  | {
      type: 'request';
      operation: WandbOperation;
      target?: string;
      attempt: number;
      status?: number;
      /** Set when the attempt failed. */
      errorCode?: WandbErrorCode;
      durationMs: number;
      /** Time spent waiting for the rate limiter before sending. */
      queuedMs: number;
    }
  /** A failed attempt will be retried after `delayMs`. `attempt` is the attempt that failed (1-based). */
  | {
      type: 'retry';
      operation: WandbOperation;
      target?: string;
      attempt: number;
      /** The most attempts this request gets (retries + 1). */
      attempts: number;
      reason: string;
      /** What failed, with the URL (never credentials) and the fix; safe to print. */
      message: string;
      code: WandbErrorCode;
      status?: number;
      delayMs: number;
    }
  /** HTTP 429. `retryAfterMs` is what the server asked for (Retry-After / RateLimit-Reset), if anything. */
  | { type: 'rate-limited'; operation: WandbOperation; target?: string; retryAfterMs?: number }
  /** A page kept failing: the same offset is retried with a smaller page (`to` < `from`). */
  | {
      type: 'page-shrunk';
      target: string;
      offset?: number;
      after: string | null;
      from: number;
      to: number;
      reason: string;
    }
  /** A run that fails on its own was skipped; the listing goes on. */
  | { type: 'poison-run'; target: string; poison: PoisonRun };

export interface PoisonRun {
  entity: string;
  project: string;
  /** 0-based position in the listing (with its filters and order) when the cursor is an offset cursor. */
  offset?: number;
  /** The `after` cursor that selects the run as `first: 1`. */
  after: string | null;
  /** Known when a light query (name only) still worked for it. */
  name?: string;
  /** The error that made it poison (code and message, key-free). */
  code: WandbErrorCode;
  status?: number;
  message: string;
}

export interface RunsPage {
  /** New runs of this page (runs already yielded by this listing are dropped), `project` filled in. */
  runs: WandbRunNode[];
  /** Pass as `startAfter` to resume after this page. Null only when nothing has been read yet. */
  endCursor: string | null;
  hasNextPage: boolean;
  /** HTTP requests spent on this page: retries, shrunk attempts and probes included. */
  requestCount: number;
  /** Runs skipped since the previous page because they fail on their own. */
  poisonRuns: PoisonRun[];
}

export interface WandbClientStats {
  requests: number;
  retries: number;
  /** HTTP 429 answers. */
  rateLimited: number;
  /** Count per HTTP status ("200", "429", ...); attempts without a status count as "timeout" or "network". */
  byStatus: Record<string, number>;
}

export interface ProjectArgs {
  entity: string;
  project: string;
}

/** A MongoDB-style filter object (sent as a JSON string), or an already-encoded JSON string. */
export type RunFilters = Record<string, unknown> | string;

export interface ListRunsArgs extends ProjectArgs {
  filters?: RunFilters;
  /** Default `+created_at` (the stablest order under concurrent inserts). */
  order?: string;
  pageSize?: number;
  /** A cursor (`endCursor` of a page) to resume after. */
  startAfter?: string | null;
}

export interface WandbViewer {
  id?: string;
  username?: string | null;
  name?: string | null;
  entity?: string | null;
}

export interface WandbClient {
  countRuns(args: ProjectArgs & { filters?: RunFilters }): Promise<number>;
  listRuns(args: ListRunsArgs): AsyncIterable<RunsPage>;
  getRuns(args: ProjectArgs & { names: readonly string[]; pageSize?: number }): Promise<WandbRunNode[]>;
  /** Checks the key: the user it belongs to. Throws WANDB_AUTH when the server does not know it. */
  viewer(): Promise<WandbViewer>;
  stats(): WandbClientStats;
}
