import type { Server } from 'node:http';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { isLoopback, validateDaemonConfig } from '../../config/daemon.js';
import { startReadPool } from '../../app/read-pool.js';
import type { TraindbConfig } from '../../config/config.js';
import { openStore, redactUrl } from '../../db/open-store.js';
import { createHttpServer } from '../../http/server.js';
import { annotateRun, launchInputFromBody, registerLaunch } from '../../jobs/launch.js';
import { createWandbClient } from '../../wandb/index.js';
import { startSyncDaemon } from '../../worker/daemon.js';
import { createLogger, redisPassword } from '../../worker/logger.js';
import { redactRedisUrl } from '../../worker/redis.js';
import { createDaemonMetrics } from '../../worker/metrics.js';
import { Releasers } from '../../worker/releasers.js';

interface DaemonCliFlags {
  config?: string;
  db?: string;
  project?: string[];
  interval?: string;
  reconcileInterval?: string;
  staleAfter?: string;
  httpHost?: string;
  httpPort?: string;
  queuePrefix?: string;
  concurrency?: string;
  queryTimeout?: string;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function registerDaemon(program: Command): void {
  program
    .command('daemon')
    .description(
      'keep the database in sync with W&B: poll each project, process jobs on Redis (REDIS_URL), serve the HTTP API',
    )
    .option('--config <file>', 'YAML config file (env TRAINDB_CONFIG); flags override it')
    .option('--db <path-or-url>', 'database (default traindb.sqlite; env DATABASE_URL)')
    .option(
      '--project <entity/project>',
      'a W&B project to sync; repeat for several (default: projects: in the config)',
      collect,
    )
    .option('--interval <duration>', 'poll period per project, e.g. 30s, 5m (default 60s)')
    .option(
      '--reconcile-interval <duration>',
      'period of the full re-listing that catches edits and deletions (default 1h)',
    )
    .option('--stale-after <duration>', 'a running run whose heartbeat is older is marked stale (default 10m)')
    .option(
      '--http-host <host>',
      'address of the HTTP API (default 127.0.0.1; others need TRAINDB_API_TOKEN, and reads then need a token too)',
    )
    .option('--http-port <port>', 'port of the HTTP API (default 8080; 0 = any free port)')
    .option(
      '--queue-prefix <prefix>',
      'BullMQ key prefix; deployments sharing one Redis need distinct ones (default traindb)',
    )
    .option('--concurrency <n>', 'sync jobs processed at once (default 4)')
    .option(
      '--query-timeout <duration>',
      'an HTTP query (GET /runs, /compare) running longer is stopped and answered 503 (default 10s)',
    )
    .action(async (flags: DaemonCliFlags) => {
      const config = loadConfig({
        file: flags.config,
        flags: {
          database: flags.db,
          projects: flags.project,
          daemon: {
            interval: flags.interval,
            reconcileInterval: flags.reconcileInterval,
            staleAfter: flags.staleAfter,
            httpHost: flags.httpHost,
            httpPort: flags.httpPort,
            queuePrefix: flags.queuePrefix,
            concurrency: flags.concurrency,
            queryTimeout: flags.queryTimeout,
          },
        },
        env: process.env,
      });
      validateDaemonConfig(config);
      await runDaemon(config);
    });
}

/**
 * The daemon's composition root: logger → database → W&B client → queues, schedulers and workers →
 * HTTP. Each step pushes its releaser; shutdown runs them in reverse. The first SIGTERM/SIGINT stops
 * polling and lets in-flight jobs finish (up to daemon.shutdown_grace); a second one exits at once.
 */
async function runDaemon(config: TraindbConfig): Promise<void> {
  const d = config.daemon;
  const log = createLogger({
    level: d.logLevel,
    secrets: [config.wandb.apiKey, d.http.token, d.http.readToken, redisPassword(d.redisUrl)],
  });
  const releasers = new Releasers();
  let stopping: Promise<void> | null = null;
  let stopped!: () => void;
  const finished = new Promise<void>((resolve) => (stopped = resolve));
  const stop = (reason: string): Promise<void> =>
    (stopping ??= (async () => {
      log.info({ reason }, 'shutting down');
      // Whatever happens below, the process ends: a hung close must not keep a dead daemon around.
      setTimeout(() => {
        log.error({ afterMs: d.shutdownGraceMs + 10_000 }, 'shutdown took too long: exiting');
        process.exit(1);
      }, d.shutdownGraceMs + 10_000).unref();
      try {
        await releasers.release((step, error) =>
          log.warn({ step, err: (error as Error).message }, 'shutdown step failed'),
        );
        log.info({}, 'stopped');
      } finally {
        stopped();
      }
    })());

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      log.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(130);
    }
    void stop(signal).catch(() => undefined);
  };
  const onFatal = (error: unknown): void => {
    log.fatal(
      {
        err: error instanceof Error ? error.message : String(error),
        stack: error instanceof Error ? error.stack : undefined,
      },
      'unexpected error',
    );
    process.exitCode = 1;
    void stop('unexpected error').catch(() => undefined);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);
  const parent = process.ppid;
  const parentWatch = watchNpmParent(() => {
    log.warn(
      { parentPid: parent },
      'the npm/npx process that started the daemon has exited without passing on its signal: shutting down',
    );
    void stop('npm parent exited').catch(() => undefined);
  });

  try {
    const { store } = await openStore(config.database, { create: true, extraction: config.extraction });
    releasers.push('database', () => store.close());
    const metrics = createDaemonMetrics();
    const abort = new AbortController();
    const wandb = createWandbClient({
      baseUrl: config.wandb.baseUrl,
      apiKey: config.wandb.apiKey!,
      pageSize: config.wandb.pageSize,
      requestsPerSecond: config.wandb.requestsPerSecond,
      timeoutMs: config.wandb.timeoutMs,
      signal: abort.signal,
      onEvent: (e) => {
        metrics.recordWandbEvent(e);
        if (e.type === 'retry')
          log.warn(
            {
              operation: e.operation,
              target: e.target,
              attempt: `${e.attempt} of ${e.attempts}`,
              reason: e.reason,
              err: e.message,
              delayMs: e.delayMs,
            },
            `W&B request failed; next attempt in ${(e.delayMs / 1000).toFixed(1)} s`,
          );
        else if (e.type === 'poison-run')
          log.warn(
            { target: e.target, run: e.poison.name, offset: e.poison.offset, err: e.poison.message },
            'W&B cannot serve a run; skipped',
          );
      },
    });
    const normalize = { extraction: config.extraction, launchIdKey: config.launchIdKey };
    const daemon = await startSyncDaemon({
      settings: d,
      projects: config.projects,
      store,
      wandb,
      normalize,
      log,
      metrics,
      // A poll waiting on W&B ends now instead of holding up the exit; the next poll redoes it.
      onStopping: () => abort.abort(new Error('shutting down')),
      onFatal: (error) => {
        log.fatal({ err: error.message }, 'cannot go on');
        process.exitCode = 1;
        void stop('Redis refused the connection').catch(() => undefined);
      },
    });
    releasers.push('sync daemon', () => daemon.stop(d.shutdownGraceMs));

    // Queries run on their own threads and connections, so none can stall the event loop (health, sync).
    const reads = await startReadPool({
      database: config.database,
      threads: d.http.queryThreads,
      queryTimeoutMs: d.http.queryTimeoutMs,
      maxQueued: 16 * d.http.queryThreads,
      log,
    });
    releasers.push('query threads', () => reads.close());

    const server = createHttpServer({
      reads,
      metrics,
      host: d.http.host,
      token: d.http.token,
      readToken: d.http.readToken,
      log,
      checks: daemon.readinessChecks(),
      launch: (body) =>
        registerLaunch(store, launchInputFromBody(body), {
          launchIdKey: config.launchIdKey,
          extraction: config.extraction,
        }),
      annotate: (runId, body) => annotateRun(store, runId, body),
    });
    await listen(server, d.http.host, d.http.port);
    releasers.push('http server', () => closeServer(server));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : d.http.port;
    log.info(
      {
        http: `http://${d.http.host.includes(':') ? `[${d.http.host}]` : d.http.host}:${port}`,
        projects: config.projects.map((p) => `${p.entity}/${p.project}`),
        database: redactUrl(config.database),
        redis: redactRedisUrl(d.redisUrl),
        queuePrefix: d.queuePrefix,
        intervalMs: d.intervalMs,
        reconcileIntervalMs: d.reconcileIntervalMs,
        staleAfterMs: d.staleAfterMs,
        writeAuth: d.http.token ? 'bearer token' : 'none (loopback only)',
        readAuth: isLoopback(d.http.host)
          ? 'none (loopback; Host must be loopback)'
          : d.http.readToken
            ? 'bearer token (API or read token)'
            : 'bearer token',
        queryTimeoutMs: d.http.queryTimeoutMs,
        queryThreads: d.http.queryThreads,
      },
      'daemon started',
    );
  } catch (error) {
    log.error({ err: (error as Error).message }, 'start-up failed');
    await stop('start-up failed').catch(() => undefined);
    clearInterval(parentWatch);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    // Connections a library keeps retrying (a Redis that refused us) must not keep a failed daemon alive.
    setTimeout(() => process.exit(), 3000).unref();
    throw error;
  }
  // Runs until a signal (or a fatal error) has stopped everything; the open server and Redis
  // connections keep the process alive meanwhile.
  await finished;
  clearInterval(parentWatch);
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  // Everything is closed; an idle keep-alive socket somewhere must not delay the exit.
  setTimeout(() => process.exit(), 3000).unref();
}

/**
 * `npx traindb daemon` (npm 11) runs the daemon under `sh -c`; a SIGTERM to npx reaches only that shell,
 * and the daemon would run on as an orphan. Started by npm (npm_lifecycle_event is set), the daemon
 * takes the loss of its parent as the signal. Returns the timer (undefined when not started by npm).
 */
function watchNpmParent(onOrphaned: () => void): NodeJS.Timeout | undefined {
  if (process.env['npm_lifecycle_event'] === undefined) return undefined;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onOrphaned();
  }, 500);
  timer.unref();
  return timer;
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Stops accepting, lets open requests finish briefly, then drops keep-alive connections. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 2000).unref();
  });
}
