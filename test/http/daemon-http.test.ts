import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWandbEmulator, type WandbEmulator } from '../../src/dev/emulator/index.js';
import { generateRuns } from '../../src/dev/generate/index.js';
import { tempDir } from '../helpers/db.js';
import { API_KEY, deleteRedisPrefix, E, P, REDIS_URL, waitFor } from '../daemon/harness.js';
import { spawnTraindb, type DaemonProcess } from '../daemon/spawn.js';

const RUNS = 150;
const TOKEN = 'daemon-0123456789abcdef0123456789abcdef';
let emu: WandbEmulator;
let dir: string;
let cleanup: () => void;
const prefix = `test-${randomUUID()}`;
const daemons: DaemonProcess[] = [];

beforeAll(async () => {
  ({ dir, cleanup } = tempDir());
  emu = await startWandbEmulator({
    apiKey: API_KEY,
    projects: [{ entity: E, project: P, runs: generateRuns({ runs: RUNS, seed: 5, entity: E, project: P }) }],
  });
});

afterAll(async () => {
  for (const d of daemons) if (d.child.exitCode === null) d.child.kill('SIGKILL');
  await emu?.close();
  await deleteRedisPrefix(prefix);
  cleanup();
});

function daemon(args: string[], env: Record<string, string> = {}): DaemonProcess {
  const d = spawnTraindb(
    [
      'daemon',
      '--project',
      `${E}/${P}`,
      '--db',
      `${dir}/traindb.sqlite`,
      '--interval',
      '500ms',
      '--http-port',
      '0',
      '--queue-prefix',
      prefix,
      ...args,
    ],
    { WANDB_API_KEY: API_KEY, WANDB_BASE_URL: emu.url, REDIS_URL, ...env },
  );
  daemons.push(d);
  return d;
}

describe('traindb daemon: the HTTP API as deployed', () => {
  it('serves pages from its query threads, with query_timeout from the flag, and stops cleanly', async () => {
    const d = daemon(['--query-timeout', '7s'], { TRAINDB_API_TOKEN: TOKEN });
    const url = await d.url();
    await waitFor(
      async () => ((await (await fetch(`${url}/runs?limit=1`)).json()) as { total?: number }).total === RUNS,
      { what: 'the runs synced', timeoutMs: 60_000 },
    );
    const started = d.stdout
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l['msg'] === 'daemon started');
    expect(started).toMatchObject({
      queryTimeoutMs: 7000,
      queryThreads: 2,
      readAuth: expect.stringMatching(/loopback/),
    });

    const seen = new Set<string>();
    let after: string | null = null;
    do {
      const params = new URLSearchParams({
        columns: 'run_id',
        order: 'run_id',
        limit: '40',
        ...(after ? { after } : {}),
      });
      const page = (await (await fetch(`${url}/runs?${params}`)).json()) as {
        runs: Array<{ run_id: string }>;
        total: number;
        next: string | null;
      };
      expect(page.total).toBe(RUNS);
      for (const r of page.runs) seen.add(r.run_id);
      after = page.next;
    } while (after);
    expect(seen.size).toBe(RUNS);

    const compare = await fetch(`${url}/compare?by=status&metric=duration_seconds`);
    expect(compare.status).toBe(200);
    expect(await fetch(`${url}/runs?limit=5000`)).toMatchObject({ status: 400 });
    expect(JSON.stringify(d.stdout)).not.toContain(TOKEN);

    d.child.kill('SIGTERM');
    expect(await d.exit()).toMatchObject({ code: 0 });
  });

  it('exits 2 with a token shorter than 32 characters, without printing it', async () => {
    const short = 'short-token-123';
    const d = daemon([], { TRAINDB_API_TOKEN: short });
    expect(await d.exit()).toMatchObject({ code: 2 });
    const err = d.stderr.join('');
    expect(err).toMatch(/TRAINDB_API_TOKEN is 15 characters long; use at least 32/);
    expect(err + d.stdout.join('\n')).not.toContain(short);
  });
});
