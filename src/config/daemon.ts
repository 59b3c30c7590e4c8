import { TraindbError } from '../core/errors.js';
import type { DaemonSettings, TraindbConfig } from './config.js';

/** Command-line overrides for the daemon, as typed (validated here with the flag's name in errors). */
export interface DaemonFlags {
  interval?: string | undefined;
  reconcileInterval?: string | undefined;
  staleAfter?: string | undefined;
  httpHost?: string | undefined;
  httpPort?: string | undefined;
  queuePrefix?: string | undefined;
  concurrency?: string | undefined;
  queryTimeout?: string | undefined;
}

export const DAEMON_KEYS = new Set([
  'interval',
  'reconcile_interval',
  'stale_after',
  'poll_overlap',
  'queue_prefix',
  'redis_url',
  'concurrency',
  'job_attempts',
  'job_lock',
  'shutdown_grace',
  'log_level',
  'http',
]);
const HTTP_KEYS = new Set(['host', 'port', 'query_timeout', 'query_threads']);
const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

type Fail = (key: string, fix: string) => never;

/**
 * The `daemon:` section: defaults ← file ← environment ← flags. Durations are `500ms`, `60s`, `5m`,
 * `1h`, `1d` or a number of seconds.
 */
export function resolveDaemonSettings(
  section: Record<string, unknown>,
  env: Readonly<Record<string, string | undefined>>,
  flags: DaemonFlags,
  fail: Fail,
): DaemonSettings {
  for (const key of Object.keys(section)) {
    if (!DAEMON_KEYS.has(key)) fail(`daemon.${key}`, `unknown key; expected one of ${[...DAEMON_KEYS].join(', ')}`);
  }
  const httpSection = section['http'] ?? {};
  if (typeof httpSection !== 'object' || httpSection === null || Array.isArray(httpSection)) {
    fail('daemon.http', 'must be a mapping with host and port');
  }
  const http = httpSection as Record<string, unknown>;
  for (const key of Object.keys(http)) {
    if (!HTTP_KEYS.has(key)) fail(`daemon.http.${key}`, `unknown key; expected one of ${[...HTTP_KEYS].join(', ')}`);
  }

  const duration = (
    key: string,
    flag: string | undefined,
    flagName: string,
    fallback: number,
    minMs = 1,
    from: Record<string, unknown> = section,
    prefix = 'daemon.',
  ): number => {
    const ms = flag !== undefined ? parseDuration(flag) : from[key] === undefined ? fallback : parseDuration(from[key]);
    const where = flag !== undefined ? flagName : `${prefix}${key}`;
    if (ms === undefined)
      fail(where, `'${String(flag ?? from[key])}' is not a duration; use e.g. 500ms, 60s, 5m or 1h`);
    if (ms < minMs) fail(where, `must be at least ${minMs} ms`);
    return ms;
  };
  const integer = (
    key: string,
    flag: string | undefined,
    flagName: string,
    fallback: number,
    min: number,
    max: number,
    from: Record<string, unknown> = section,
    prefix = 'daemon.',
  ): number => {
    const raw = flag ?? from[key];
    const n = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      fail(
        flag !== undefined ? flagName : `${prefix}${key}`,
        `must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`,
      );
    }
    return n;
  };

  const intervalMs = duration('interval', flags.interval, '--interval', 60_000, 100);
  const fileRedis = section['redis_url'];
  if (fileRedis !== undefined && (typeof fileRedis !== 'string' || fileRedis === ''))
    fail('daemon.redis_url', 'must be a redis:// URL');
  if (typeof fileRedis === 'string' && /\/\/[^/@]*:[^/@]+@/.test(fileRedis)) {
    fail('daemon.redis_url', 'a password does not belong in the file: set REDIS_URL in the environment');
  }
  const redisUrl = env['REDIS_URL'] || (fileRedis as string | undefined) || DEFAULT_REDIS_URL;
  if (!/^rediss?:\/\//.test(redisUrl))
    fail(env['REDIS_URL'] ? 'REDIS_URL' : 'daemon.redis_url', 'must start with redis:// or rediss://');

  const queuePrefix = flags.queuePrefix ?? (section['queue_prefix'] as string | undefined) ?? 'traindb';
  if (typeof queuePrefix !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(queuePrefix)) {
    fail(
      flags.queuePrefix !== undefined ? '--queue-prefix' : 'daemon.queue_prefix',
      `'${String(queuePrefix)}' must be letters, digits, '_', '.' or '-' (BullMQ keys use ':' as separator)`,
    );
  }
  const host = flags.httpHost ?? http['host'] ?? '127.0.0.1';
  if (typeof host !== 'string' || host === '')
    fail(flags.httpHost !== undefined ? '--http-host' : 'daemon.http.host', 'must be a host name or address');
  const port = flags.httpPort ?? http['port'] ?? 8080;
  const portNumber = Number(port);
  if (!Number.isInteger(portNumber) || portNumber < 0 || portNumber > 65535) {
    fail(
      flags.httpPort !== undefined ? '--http-port' : 'daemon.http.port',
      `must be a port number from 0 to 65535 (0: any free port), got ${JSON.stringify(port)}`,
    );
  }
  const logLevel = env['TRAINDB_LOG_LEVEL'] || (section['log_level'] as string | undefined) || 'info';
  if (!LOG_LEVELS.has(logLevel))
    fail(
      env['TRAINDB_LOG_LEVEL'] ? 'TRAINDB_LOG_LEVEL' : 'daemon.log_level',
      `must be one of ${[...LOG_LEVELS].join(', ')}`,
    );

  return {
    intervalMs,
    reconcileIntervalMs: duration(
      'reconcile_interval',
      flags.reconcileInterval,
      '--reconcile-interval',
      3_600_000,
      100,
    ),
    staleAfterMs: duration('stale_after', flags.staleAfter, '--stale-after', 600_000, 1000),
    overlapMs: duration('poll_overlap', undefined, '', 600_000, 0),
    queuePrefix,
    redisUrl,
    concurrency: integer('concurrency', flags.concurrency, '--concurrency', 4, 1, 64),
    jobAttempts: integer('job_attempts', undefined, '', 5, 1, 100),
    jobLockMs: duration('job_lock', undefined, '', 30_000, 1000),
    shutdownGraceMs: duration('shutdown_grace', undefined, '', 25_000, 0),
    logLevel,
    http: {
      host,
      port: portNumber,
      token: env['TRAINDB_API_TOKEN'] || undefined,
      readToken: env['TRAINDB_READ_TOKEN'] || undefined,
      queryTimeoutMs: duration(
        'query_timeout',
        flags.queryTimeout,
        '--query-timeout',
        10_000,
        10,
        http,
        'daemon.http.',
      ),
      queryThreads: integer('query_threads', undefined, '', 2, 1, 16, http, 'daemon.http.'),
    },
  };
}

/** `500ms`, `60s`, `5m`, `1h`, `1d`, or a plain number of seconds → milliseconds; undefined if not a duration. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : undefined;
  if (typeof value !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(value);
  if (!m) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 's').toLowerCase() as 'ms'];
  return Math.round(Number(m[1]) * unit);
}

/** Shorter tokens can be guessed; the daemon refuses to start with one. */
export const MIN_TOKEN_LENGTH = 32;

/** Throws INVALID_CONFIG for an unfit API or read token (the daemon at start-up, the HTTP server when built). */
export function assertTokens(token: string | undefined, readToken: string | undefined): void {
  for (const [name, value] of [
    ['TRAINDB_API_TOKEN', token],
    ['TRAINDB_READ_TOKEN', readToken],
  ] as const) {
    const problem = tokenProblem(name, value);
    if (problem) throw new TraindbError('INVALID_CONFIG', problem);
  }
}

/** Why a token is unfit, or null. Its value is never part of the message. */
function tokenProblem(name: string, token: string | undefined): string | null {
  if (token === undefined) return null;
  if (token.length < MIN_TOKEN_LENGTH)
    return `${name} is ${token.length} characters long; use at least ${MIN_TOKEN_LENGTH} (e.g. the output of: openssl rand -hex 32)`;
  if (/\s/.test(token)) return `${name} contains white space; use a token without spaces (e.g. openssl rand -hex 32)`;
  return null;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * What only the daemon needs, checked when it starts (other commands may share a config file that
 * lacks them): projects to sync, the W&B key, and a token whenever the API is reachable off-host.
 */
export function validateDaemonConfig(config: TraindbConfig): void {
  if (config.projects.length === 0) {
    throw new TraindbError(
      'INVALID_CONFIG',
      'no projects to sync: pass --project ENTITY/PROJECT or list them under projects: in the config file',
    );
  }
  if (!config.wandb.apiKey) {
    throw new TraindbError(
      'INVALID_CONFIG',
      'WANDB_API_KEY is not set: export your W&B API key (https://wandb.ai/authorize)',
    );
  }
  const { host, token, readToken } = config.daemon.http;
  assertTokens(token, readToken);
  if (!isLoopback(host) && !token) {
    throw new TraindbError(
      'INVALID_CONFIG',
      `daemon.http.host is ${host}, reachable from other machines: set TRAINDB_API_TOKEN (at least ${MIN_TOKEN_LENGTH} characters; every endpoint but /healthz, /readyz and /openapi.json then requires "Authorization: Bearer <token>", reads also accept TRAINDB_READ_TOKEN), or bind 127.0.0.1`,
    );
  }
}
