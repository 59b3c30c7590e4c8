import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWandbEmulator, type WandbEmulator } from '../../src/dev/emulator/index.js';
import { API_KEY, E, P } from './harness.js';
import { freePort, ThrowawayRedis } from './redis-server.js';
import { spawnTraindb } from './spawn.js';

const PASSWORD = 'right-redis-password-91c7';
const NEW_PASSWORD = 'a-new-password-77';
let dir: string;
let emu: WandbEmulator;
let redis: ThrowawayRedis;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'traindb-redis-auth-'));
  emu = await startWandbEmulator({ apiKey: API_KEY, projects: [{ entity: E, project: P, runs: [] }] });
  // Its own redis-server with a password: the shared one on 6379 is never reconfigured.
  redis = new ThrowawayRedis(await freePort(), PASSWORD);
  await redis.start();
});
afterAll(async () => {
  await redis?.stop();
  await emu?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts the daemon against `redisUrl` and waits for it to exit by itself (killed after 30 s). */
async function daemonExit(redisUrl: string) {
  const d = spawnTraindb(
    ['daemon', '--db', join(dir, 'traindb.sqlite'), '--project', `${E}/${P}`, '--http-port', '0'],
    { WANDB_API_KEY: API_KEY, WANDB_BASE_URL: emu.url, REDIS_URL: redisUrl },
  );
  const killer = setTimeout(() => d.child.kill('SIGKILL'), 30_000);
  const exit = await d.exit();
  clearTimeout(killer);
  return { ...exit, stdout: d.stdout.join('\n'), stderr: d.stderr.join('') };
}

/** Runs `command` on the throwaway Redis with `password`. */
async function admin(password: string, ...command: string[]): Promise<unknown> {
  const r = new Redis(`redis://:${password}@127.0.0.1:${redis.port}`, { maxRetriesPerRequest: 0 });
  try {
    return await r.call(command[0]!, ...command.slice(1));
  } finally {
    r.disconnect();
  }
}

describe('daemon: a Redis that refuses the credentials', () => {
  it('exits 1 at start-up with a clear message on a wrong password (WRONGPASS), never serving HTTP', async () => {
    const wrong = 'wrong-redis-password-3f0a';
    const r = await daemonExit(`redis://:${wrong}@127.0.0.1:${redis.port}`);
    expect(r).toMatchObject({ code: 1, signal: null });
    expect(r.stderr).toMatch(
      new RegExp(
        `^traindb: Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${redis.port} refused the connection \\(WRONGPASS[^)]*\\): ` +
          'check the user and password in the Redis URL',
        'm',
      ),
    );
    expect(r.stdout).not.toContain('daemon started');
    expect(r.stdout + r.stderr).not.toContain(wrong);
  }, 40_000);

  it('exits 1 when Redis wants a password and none is given (NOAUTH)', async () => {
    const r = await daemonExit(`redis://127.0.0.1:${redis.port}`);
    expect(r).toMatchObject({ code: 1, signal: null });
    expect(r.stderr).toMatch(/refused the connection \(NOAUTH Authentication required\): check the user and password/);
    expect(r.stdout).not.toContain('daemon started');
  }, 40_000);

  it('stops with exit 1 when Redis starts refusing it later (password changed, connections dropped)', async () => {
    const d = spawnTraindb(
      ['daemon', '--db', join(dir, 'later.sqlite'), '--project', `${E}/${P}`, '--http-port', '0'],
      { WANDB_API_KEY: API_KEY, WANDB_BASE_URL: emu.url, REDIS_URL: redis.url },
    );
    const killer = setTimeout(() => d.child.kill('SIGKILL'), 40_000);
    try {
      await d.url();
      await admin(PASSWORD, 'CONFIG', 'SET', 'requirepass', NEW_PASSWORD);
      await admin(NEW_PASSWORD, 'CLIENT', 'KILL', 'TYPE', 'normal').catch(() => undefined);
      const exit = await d.exit();
      expect(exit).toMatchObject({ code: 1, signal: null });
      const fatal = d.stdout.find((l) => l.includes('"cannot go on"'));
      expect(fatal).toMatch(/refused the connection \((WRONGPASS|NOAUTH)[^)]*\): check the user and password/);
      expect(d.stdout.some((l) => l.includes('"stopped"'))).toBe(true);
      expect(d.stdout.join('\n')).not.toContain(PASSWORD);
    } finally {
      clearTimeout(killer);
      await admin(NEW_PASSWORD, 'CONFIG', 'SET', 'requirepass', PASSWORD).catch(() => undefined);
    }
  }, 60_000);
});
