import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { parseDuration, validateDaemonConfig } from '../../src/config/daemon.js';
import { createLogger } from '../../src/worker/logger.js';
import { tempDir } from '../helpers/db.js';

const dirs: Array<() => void> = [];
const LONG_TOKEN = 'tok-0123456789abcdef0123456789abcdef';
afterEach(() => dirs.splice(0).forEach((cleanup) => cleanup()));

function yamlFile(text: string): string {
  const { dir, cleanup } = tempDir();
  dirs.push(cleanup);
  const path = join(dir, 'traindb.yaml');
  writeFileSync(path, text);
  return path;
}

describe('daemon configuration', () => {
  it('has defaults that need no file', () => {
    const config = loadConfig({ env: {} });
    expect(config.daemon).toEqual({
      intervalMs: 60_000,
      reconcileIntervalMs: 3_600_000,
      staleAfterMs: 600_000,
      overlapMs: 600_000,
      queuePrefix: 'traindb',
      redisUrl: 'redis://127.0.0.1:6379',
      concurrency: 4,
      jobAttempts: 5,
      jobLockMs: 30_000,
      shutdownGraceMs: 25_000,
      logLevel: 'info',
      http: {
        host: '127.0.0.1',
        port: 8080,
        token: undefined,
        readToken: undefined,
        queryTimeoutMs: 10_000,
        queryThreads: 2,
      },
    });
  });

  it('reads the daemon section, then the environment, then flags', () => {
    const file = yamlFile(`
projects: [team/a]
daemon:
  interval: 30s
  reconcile_interval: 2h
  stale_after: 15m
  poll_overlap: 5m
  queue_prefix: prod
  concurrency: 8
  job_lock: 1m
  http: {host: 0.0.0.0, port: 9090, query_timeout: 30s, query_threads: 1}
`);
    const config = loadConfig({
      file,
      env: {
        REDIS_URL: 'redis://:pw@redis:6379/2',
        TRAINDB_API_TOKEN: 'tok-123456',
        TRAINDB_READ_TOKEN: 'read-tok',
      },
      flags: { projects: ['team/b', 'team/c'], daemon: { interval: '500ms', httpPort: '0', queryTimeout: '2s' } },
    });
    expect(config.projects).toEqual([
      { entity: 'team', project: 'b' },
      { entity: 'team', project: 'c' },
    ]);
    expect(config.daemon).toMatchObject({
      intervalMs: 500,
      reconcileIntervalMs: 7_200_000,
      staleAfterMs: 900_000,
      overlapMs: 300_000,
      queuePrefix: 'prod',
      concurrency: 8,
      jobLockMs: 60_000,
      redisUrl: 'redis://:pw@redis:6379/2',
      http: {
        host: '0.0.0.0',
        port: 0,
        token: 'tok-123456',
        readToken: 'read-tok',
        queryTimeoutMs: 2000,
        queryThreads: 1,
      },
    });
    expect(loadConfig({ file, env: {} }).daemon.http.queryTimeoutMs).toBe(30_000);
  });

  it('names the key and the fix in every error', () => {
    const bad = (text: string) => () => loadConfig({ file: yamlFile(text), env: {} });
    expect(bad('daemon: {interval: soon}')).toThrow(
      /daemon\.interval: 'soon' is not a duration; use e\.g\. 500ms, 60s/,
    );
    expect(bad('daemon: {pol_interval: 5}')).toThrow(/daemon\.pol_interval: unknown key; expected one of interval, /);
    expect(bad('daemon: {queue_prefix: "a:b"}')).toThrow(/daemon\.queue_prefix: 'a:b' must be letters/);
    expect(bad('daemon: {http: {port: 70000}}')).toThrow(/daemon\.http\.port: must be a port number/);
    expect(bad('daemon: {redis_url: "redis://:secret@host:6379"}')).toThrow(
      /daemon\.redis_url: a password does not belong in the file: set REDIS_URL/,
    );
    expect(() => loadConfig({ env: {}, flags: { daemon: { concurrency: 'lots' } } })).toThrow(
      /^--concurrency: must be a whole number/,
    );
    expect(() => loadConfig({ env: { REDIS_URL: 'http://x' } })).toThrow(/REDIS_URL: must start with redis:\/\//);
    expect(bad('daemon: {http: {query_timeout: soon}}')).toThrow(
      /daemon\.http\.query_timeout: 'soon' is not a duration/,
    );
    expect(bad('daemon: {http: {query_threads: 0}}')).toThrow(
      /daemon\.http\.query_threads: must be a whole number from 1/,
    );
    expect(bad('daemon: {http: {timeout: 5}}')).toThrow(
      /daemon\.http\.timeout: unknown key; expected one of host, port, query_timeout/,
    );
    expect(() => loadConfig({ env: {}, flags: { daemon: { queryTimeout: 'never' } } })).toThrow(
      /^--query-timeout: 'never' is not a duration/,
    );
  });

  it('refuses to start without projects or key, or off loopback without a token', () => {
    const base = (env: Record<string, string>, projects = ['a/b'], host?: string) =>
      loadConfig({ env, flags: { projects, daemon: { httpHost: host } } });
    expect(() => validateDaemonConfig(base({ WANDB_API_KEY: 'k' }, []))).toThrow(/no projects to sync: pass --project/);
    expect(() => validateDaemonConfig(base({}))).toThrow(/WANDB_API_KEY is not set/);
    expect(() => validateDaemonConfig(base({ WANDB_API_KEY: 'k' }, ['a/b'], '0.0.0.0'))).toThrow(
      /set TRAINDB_API_TOKEN .* or bind 127\.0\.0\.1/,
    );
    expect(() =>
      validateDaemonConfig(base({ WANDB_API_KEY: 'k', TRAINDB_API_TOKEN: LONG_TOKEN }, ['a/b'], '0.0.0.0')),
    ).not.toThrow();
    expect(() => validateDaemonConfig(base({ WANDB_API_KEY: 'k' }, ['a/b'], 'localhost'))).not.toThrow();
  });

  it('refuses tokens shorter than 32 characters, naming the variable but never the value', () => {
    const base = (env: Record<string, string>, host = '0.0.0.0') =>
      loadConfig({ env: { WANDB_API_KEY: 'k', ...env }, flags: { projects: ['a/b'], daemon: { httpHost: host } } });
    const short = 'short-secret-1234';
    const envs: Array<Record<string, string>> = [
      { TRAINDB_API_TOKEN: short },
      { TRAINDB_API_TOKEN: LONG_TOKEN, TRAINDB_READ_TOKEN: short },
    ];
    for (const env of envs) {
      const name = Object.keys(env).find((k) => env[k] === short)!;
      let message = '';
      try {
        validateDaemonConfig(base(env));
      } catch (error) {
        expect(error).toMatchObject({ code: 'INVALID_CONFIG' });
        message = (error as Error).message;
      }
      expect(message).toMatch(new RegExp(`^${name} is 17 characters long; use at least 32`));
      expect(message).not.toContain(short);
    }
    // On loopback too: a token set is a token used.
    expect(() => validateDaemonConfig(base({ TRAINDB_API_TOKEN: short }, '127.0.0.1'))).toThrow(/at least 32/);
    expect(() =>
      validateDaemonConfig(base({ TRAINDB_API_TOKEN: LONG_TOKEN, TRAINDB_READ_TOKEN: `${LONG_TOKEN}-r` })),
    ).not.toThrow();
  });

  it('parses durations', () => {
    expect([
      parseDuration('250ms'),
      parseDuration('1.5s'),
      parseDuration('2m'),
      parseDuration('1h'),
      parseDuration('1d'),
      parseDuration(90),
      parseDuration('45'),
    ]).toEqual([250, 1500, 120_000, 3_600_000, 86_400_000, 90_000, 45_000]);
    expect(parseDuration('1 week')).toBeUndefined();
  });
});

describe('daemon logger', () => {
  it('redacts secret fields and scrubs secret values from every line', () => {
    const lines: string[] = [];
    const secret = 'wandb-SECRET-0123456789';
    const log = createLogger({
      level: 'info',
      secrets: [secret, 'redis-pw-42'],
      destination: { write: (l: string) => void lines.push(l) },
    });
    log.info({ apiKey: secret, wandb: { apiKey: secret }, headers: { authorization: `Basic ${secret}` } }, 'fields');
    log.warn(
      { err: `request to https://api:${secret}@host failed; redis://:redis-pw-42@r:6379` },
      `message with ${secret}`,
    );
    const text = lines.join('');
    expect(text).not.toContain(secret);
    expect(text).not.toContain('redis-pw-42');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      apiKey: '[redacted]',
      wandb: { apiKey: '[redacted]' },
      headers: { authorization: '[redacted]' },
    });
  });
});
