import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { WandbRunNode } from '../../src/core/wandb-run.js';
import { openStore } from '../../src/db/open-store.js';
import type { Row, RunStore } from '../../src/db/store.js';
import { startWandbEmulator, type WandbEmulator } from '../../src/dev/emulator/index.js';
import { createHttpServer } from '../../src/http/server.js';
import { annotateRun, launchInputFromBody, registerLaunch } from '../../src/jobs/launch.js';
import { createWandbClient } from '../../src/wandb/index.js';
import { startSyncDaemon, type SyncDaemon, type SyncDaemonSettings } from '../../src/worker/daemon.js';
import { createLogger } from '../../src/worker/logger.js';
import { createDaemonMetrics } from '../../src/worker/metrics.js';
import { makeRun, type RunSpec } from '../helpers/runs.js';

export const E = 'lab';
export const P = 'molecule-rl';
/** Long and unusual, so a leak anywhere in a log line or a response body is found by a plain search. */
export const API_KEY = 'wandb-test-KEY-7f3a9c1e5b2d4680aa';
export const REDIS_URL = 'redis://127.0.0.1:6379';

export interface HarnessOptions {
  runs?: WandbRunNode[];
  settings?: Partial<SyncDaemonSettings>;
  token?: string;
  /** Retries of the in-process W&B client (kept small so failing polls fail fast). */
  wandbRetries?: number;
  /** A second daemon beside `sibling`: same emulator, database file and queue prefix (its own connection to each). */
  sibling?: Harness;
}

export interface Harness {
  emu: WandbEmulator;
  store: RunStore;
  dbPath: string;
  prefix: string;
  daemon: SyncDaemon;
  url: string;
  /** Every log line the daemon wrote (JSON text). */
  logs: string[];
  rows(sql: string, params?: unknown[]): Promise<Row[]>;
  /**
   * Resolves once the reconcile a fresh database gets at start-up has finished. Until then a change may
   * be observed by that full listing (event source 'reconcile') rather than by a poll ('wandb').
   */
  startupReconciled(): Promise<void>;
  /** Resolves once `n` more polls succeeded than when it was called. */
  polls(n: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The daemon wired as `traindb daemon` wires it, in-process: the emulator over real HTTP, a SQLite
 * temp file, real Redis under a unique prefix, and the HTTP API on a free port.
 */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const sibling = options.sibling;
  const dir = sibling ? null : mkdtempSync(join(tmpdir(), 'traindb-daemon-'));
  const dbPath = sibling?.dbPath ?? join(dir!, 'traindb.sqlite');
  const prefix = sibling?.prefix ?? `test-${randomUUID()}`;
  const emu =
    sibling?.emu ??
    (await startWandbEmulator({
      apiKey: API_KEY,
      projects: [{ entity: E, project: P, runs: options.runs ?? [] }],
    }));
  const { store } = await openStore(dbPath, { create: true });
  const logs: string[] = [];
  const log = createLogger({
    level: 'debug',
    secrets: [API_KEY, options.token],
    destination: { write: (line: string) => void logs.push(line) },
  });
  const metrics = createDaemonMetrics();
  const abort = new AbortController();
  const wandb = createWandbClient({
    baseUrl: emu.url,
    apiKey: API_KEY,
    requestsPerSecond: 200,
    retries: options.wandbRetries ?? 2,
    minRetryDelayMs: 20,
    maxRetryDelayMs: 100,
    timeoutMs: 5000,
    signal: abort.signal,
    onEvent: (e) => metrics.recordWandbEvent(e),
  });
  const settings: SyncDaemonSettings = {
    intervalMs: 300,
    reconcileIntervalMs: 3_600_000,
    staleAfterMs: 600_000,
    overlapMs: 600_000,
    queuePrefix: prefix,
    redisUrl: REDIS_URL,
    concurrency: 4,
    jobAttempts: 3,
    jobLockMs: 5000,
    ...options.settings,
  };
  const daemon = await startSyncDaemon({
    settings,
    projects: [{ entity: E, project: P }],
    store,
    wandb,
    normalize: {},
    log,
    metrics,
    onStopping: () => abort.abort(new Error('shutting down')),
  });
  const server: Server = createHttpServer({
    store,
    metrics,
    checks: daemon.readinessChecks(),
    token: options.token,
    log,
    launch: (body) => registerLaunch(store, launchInputFromBody(body), { launchIdKey: 'run_id' }),
    annotate: (runId, body) => annotateRun(store, runId, body),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  let stopped = false;
  return {
    emu,
    store,
    dbPath,
    prefix,
    daemon,
    url,
    logs,
    rows: (sql, params = []) => store.all(sql, params as never),
    async startupReconciled() {
      await waitFor(async () => (await store.getSyncState(E, P, 'reconcile')) !== null, {
        what: 'the start-up reconcile',
      });
    },
    async polls(n, timeoutMs = 20_000) {
      const target = daemon.progress.polls + n;
      await waitFor(() => daemon.progress.polls >= target, { timeoutMs, what: `${n} more polls` });
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await daemon.stop(0);
      await store.close();
      if (sibling) return; // the first daemon owns the emulator, the file and the prefix
      await emu.close();
      await deleteRedisPrefix(prefix, settings.redisUrl);
      rmSync(dir!, { recursive: true, force: true });
    },
  };
}

/** Removes every key a test's queues left under its prefix. */
export async function deleteRedisPrefix(prefix: string, url = REDIS_URL): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => null, lazyConnect: true });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } catch {
    // A test that killed its Redis has nothing left to clean.
  } finally {
    redis.disconnect();
  }
}

export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  {
    timeoutMs = 20_000,
    what = 'condition',
    everyMs = 50,
  }: { timeoutMs?: number; what?: string; everyMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function wandbTime(ms = Date.now()): string {
  return new Date(ms).toISOString().slice(0, 19);
}

/** A run as W&B would serve it now: created, updated and heartbeating `agoMs` ago. */
export function liveRun(spec: Omit<RunSpec, 'entity' | 'project'> & { agoMs?: number }): WandbRunNode {
  const t = wandbTime(Date.now() - (spec.agoMs ?? 0));
  return { ...makeRun({ ...spec, entity: E, project: P, createdAt: t, updatedAt: t }), heartbeatAt: t };
}

export async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown>; text: string }> {
  const res = await fetch(url);
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON (metrics)
  }
  return { status: res.status, body, text };
}
