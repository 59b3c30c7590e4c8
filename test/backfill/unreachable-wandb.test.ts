import { spawn } from 'node:child_process';
import { freePort } from '../daemon/redis-server.js'; // nothing listens there: connections are refused
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunStore } from '../../src/db/store.js';
import { runBackfill } from '../../src/jobs/backfill.js';
import { createWandbClient, type WandbClientEvent } from '../../src/wandb/index.js';
import { tempDir, tempStore } from '../helpers/db.js';

const BIN = fileURLToPath(new URL('../../bin/traindb.js', import.meta.url));
const KEY = 'unreachable-secret-key-5d1e9a7c3b';

describe('backfill against a W&B that cannot be reached', () => {
  let store: RunStore;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ store, cleanup } = await tempStore());
  });
  afterEach(async () => cleanup());

  it('says at once that it is retrying: what failed, the URL without secrets, attempt k of n, next attempt in N s', async () => {
    const port = await freePort();
    const { dir, cleanup: removeDir } = tempDir();
    const child = spawn(
      process.execPath,
      [BIN, 'backfill', '--entity', 'lab', '--project', 'rl', '--db', join(dir, 'x.sqlite')],
      {
        env: {
          PATH: process.env['PATH'] ?? '',
          HOME: dir,
          WANDB_API_KEY: KEY,
          // Credentials in the URL must not be shown either.
          WANDB_BASE_URL: `http://user:url-password-123@127.0.0.1:${port}`,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    try {
      // The first retry waits about a second; its announcement comes before it, not minutes later.
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no retry message within 15 s; output: ${output}`)), 15_000);
        const check = (): void => {
          if (/attempt 2 of 9 failed/.test(output)) {
            clearTimeout(timer);
            resolve();
          }
        };
        child.stderr.on('data', check);
        child.once('exit', () => reject(new Error(`exited early: ${output}`)));
      });
    } finally {
      child.kill('SIGKILL');
      removeDir();
    }
    const lines = output.split('\n').filter((l) => l.startsWith('retrying:'));
    expect(lines[0]).toMatch(
      new RegExp(
        `^retrying: Could not reach W&B at http://127\\.0\\.0\\.1:${port} for counting runs of lab/rl \\(ECONNREFUSED.*` +
          `\\(attempt 1 of 9 failed; next attempt in \\d+\\.\\d s\\)$`,
      ),
    );
    expect(lines[1]).toMatch(/\(attempt 2 of 9 failed; next attempt in \d+\.\d s\)$/);
    expect(output).not.toContain(KEY);
    expect(output).not.toContain('url-password-123');
  }, 30_000);

  it('ends with a clear error naming the URL and the attempts when the retries run out, writing nothing', async () => {
    const port = await freePort();
    const events: WandbClientEvent[] = [];
    const client = createWandbClient({
      baseUrl: `http://127.0.0.1:${port}`,
      apiKey: KEY,
      retries: 2,
      minRetryDelayMs: 10,
      maxRetryDelayMs: 20,
      onEvent: (e) => events.push(e),
    });
    const error = await runBackfill(client, store, { entity: 'lab', project: 'rl', normalize: {} }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'WANDB_NETWORK', retryable: true, attempts: 3 });
    expect((error as Error).message).toMatch(
      new RegExp(`^Could not reach W&B at http://127\\.0\\.0\\.1:${port} .*\\(gave up after 3 attempts\\)$`),
    );
    const retries = events.filter((e) => e.type === 'retry');
    expect(retries.map((e) => [e.attempt, e.attempts])).toEqual([
      [1, 3],
      [2, 3],
    ]);
    expect(await store.getSyncState('lab', 'rl', 'backfill')).toBeNull();
  });
});
