/** Public option and result types of the W&B emulator. */
import type { WandbRunNode } from '../../core/wandb-run.js';
import type { RunPatch, UpdateOptions } from './store.js';
import type { SweepSeed } from './sweeps.js';

/** info: answered; warn: refused (4xx); error: failed (5xx) or a 200 whose body carries `errors`. */
export type EmulatorLogLevel = 'info' | 'warn' | 'error';

/** One injected failure. Each kind mimics something W&B (or a proxy in front of it) really does. */
export type FaultSpec =
  /** 429 + `{"error":"rate limit exceeded"}` and RateLimit-* headers; `retryAfterSeconds: null` omits Retry-After (it is unconfirmed on W&B). */
  | { kind: 'rateLimit'; retryAfterSeconds?: number | null; resetSeconds?: number; limit?: number }
  /** 500 answers a GraphQL-style JSON body; 502/503 answer an HTML/text body, as a load balancer does. */
  | { kind: 'httpError'; status: 500 | 502 | 503 }
  /** HTTP 200 with `{"errors":[...],"data":null}`: a failure even though the status says OK. */
  | { kind: 'graphqlError'; message?: string }
  /** Waits `delayMs` before answering normally (exercise client timeouts). */
  | { kind: 'slow'; delayMs: number }
  /** Sends the headers (full Content-Length) and part of the body, then destroys the socket. */
  | { kind: 'truncate'; bytes?: number }
  /** Destroys the socket without answering (ECONNRESET / "other side closed"). */
  | { kind: 'reset' };

export type FaultKind = FaultSpec['kind'];

export interface FaultOptions {
  /**
   * Scripted faults: entry i applies to the i-th request (0-based) counted from when these options were
   * set (startWandbEmulator or setFaults). null/undefined entries pass through. Takes precedence over
   * `probability` for the requests it covers.
   */
  script?: readonly (FaultSpec | null | undefined)[];
  /** Chance (0..1) that a request gets a random fault from `kinds`; drawn from a PRNG seeded with `seed`. */
  probability?: number;
  seed?: number;
  /** Faults drawn in probability mode (default: every kind except reset, with slow = 1500 ms). */
  kinds?: readonly FaultSpec[];
  /**
   * Run names that make a request fail with HTTP 500 when its answer would include them (a runs page or
   * run(name)), like W&B with one bad run in a page (wandb/wandb#6435). Persist until changed.
   */
  poisonRuns?: readonly string[];
  /**
   * 'heavy' (default): only when the answer includes the run's config, summaryMetrics, systemMetrics or
   * historyKeys, as when the bad run's data is what fails to serialise; a light query (name, state, ...)
   * still succeeds, so a client can find out which run it is. 'any': whenever the run is in the answer.
   */
  poisonMode?: 'heavy' | 'any';
}

/** A fixed-window rate limiter: beyond `requests` per `windowSeconds`, answers 429 like W&B. */
export interface RateLimitOptions {
  requests: number;
  windowSeconds: number;
}

export interface RequestInfo {
  /** 1-based number of this request since the emulator started. */
  requestNumber: number;
  operationName: string;
  query: string;
  variables: Record<string, unknown>;
}

export interface PageInfoForHook {
  /** 0-based count of `runs` connections resolved since the hooks were set (start or setHooks). */
  pageIndex: number;
  entity: string;
  project: string;
  /** Offset of the first run the page will return (after the `after` cursor). */
  offset: number;
  first: number | null;
  filters: string | null;
  order: string | null;
}

export interface EmulatorHooks {
  /** Runs for each authenticated request with a JSON body, before faults and execution. */
  onRequest?: (info: RequestInfo, emulator: WandbEmulator) => void | Promise<void>;
  /** Runs before each `runs(...)` page is computed: edit the store here to simulate runs created during paging. */
  beforePage?: (info: PageInfoForHook, emulator: WandbEmulator) => void | Promise<void>;
}

export interface ProjectSeed {
  entity: string;
  project: string;
  runs: Iterable<WandbRunNode>;
  /** Sweeps with their config, method, state...; runs' sweepNames without a seed get derived sweeps. */
  sweeps?: Iterable<SweepSeed>;
}

export interface WandbEmulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (an ephemeral port). */
  port?: number;
  /** The accepted API key (HTTP Basic password). Default 'emulator-key'. */
  apiKey?: string;
  /** Several accepted keys (overrides apiKey). */
  apiKeys?: readonly string[];
  /** Initial data. */
  projects?: readonly ProjectSeed[];
  /** Entity used by `project(name)` without entityName and reported by `viewer`. Default: first project's entity. */
  defaultEntity?: string;
  /** Runs per page when `first` is larger (or absent). Default 1000; W&B's own maximum is unconfirmed. */
  maxPageSize?: number;
  faults?: FaultOptions;
  rateLimit?: RateLimitOptions;
  hooks?: EmulatorHooks;
  /** gzip answers when the client sends Accept-Encoding: gzip (as api.wandb.ai does). Default true. */
  compression?: boolean;
  /** Clock for updateRun/new projects (ms since epoch). Default Date.now. */
  now?: () => number;
  /** Schema file override (default: src/wandb/schema.graphql). */
  schemaPath?: string;
  /**
   * One line per request (method, status, operation, time, fault; the names of rejected fields and
   * arguments; the first error of a 200 that carries errors); never headers, keys or variables. Lines
   * at warn/error level also start with "WARN "/"ERROR ".
   */
  log?: (line: string, level: EmulatorLogLevel) => void;
}

export interface PageRecord {
  entity: string;
  project: string;
  offset: number;
  requested: number | null;
  returned: number;
}

export interface EmulatorStats {
  requests: number;
  byStatus: Record<number, number>;
  byOperation: Record<string, number>;
  faultsInjected: number;
  faultsByKind: Partial<Record<FaultKind | 'poison' | 'rateLimiter', number>>;
  /** Every `runs` page served (last 10,000). */
  pages: PageRecord[];
}

export interface WandbEmulator {
  /** Base URL, e.g. http://127.0.0.1:41234; clients POST to `${url}/graphql`. */
  readonly url: string;
  readonly port: number;
  /** The first accepted API key (handy for tests). */
  readonly apiKey: string;
  addRuns(entity: string, project: string, nodes: Iterable<WandbRunNode>): void;
  /** Adds or replaces sweeps of a project (creating it). */
  setSweeps(entity: string, project: string, sweeps: Iterable<SweepSeed>): void;
  setProject(entity: string, project: string, nodes: Iterable<WandbRunNode>): void;
  removeProject(entity: string, project: string): boolean;
  updateRun(
    entity: string,
    project: string,
    name: string,
    patch: RunPatch | ((node: WandbRunNode) => RunPatch),
    opts?: UpdateOptions,
  ): WandbRunNode;
  deleteRun(entity: string, project: string, name: string): boolean;
  getRun(entity: string, project: string, name: string): WandbRunNode | undefined;
  /** The project's runs in insertion order (the stored, normalised nodes). */
  listRuns(entity: string, project: string): WandbRunNode[];
  setFaults(faults: FaultOptions | undefined): void;
  setHooks(hooks: EmulatorHooks): void;
  setRateLimit(limit: RateLimitOptions | undefined): void;
  stats(): EmulatorStats;
  resetStats(): void;
  close(): Promise<void>;
}
