import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/db/open-store.js';
import { startWandbEmulator, type WandbEmulator } from '../../src/dev/emulator/index.js';
import { generateRuns } from '../../src/dev/generate/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/db.js';
import { holdWriteLock } from '../helpers/lock-holder.js';

const KEY = 'cli-busy-secret-key-0b4e8d2f6a';
let emulator: WandbEmulator;
let dir: string;
let cleanup: () => void;
let holder: ChildProcess | undefined;
const runs = generateRuns({ runs: 8, seed: 31, entity: 'lab', project: 'rl' });
const bad = runs[5]!.name;
runs[5] = { ...runs[5]!, config: '{"lr": ' };

beforeAll(async () => {
  ({ dir, cleanup } = tempDir());
  emulator = await startWandbEmulator({ apiKey: KEY, projects: [{ entity: 'lab', project: 'rl', runs }] });
});
afterAll(async () => {
  holder?.kill('SIGKILL');
  await emulator.close();
  cleanup();
});

const env = () => ({ WANDB_BASE_URL: emulator.url, WANDB_API_KEY: KEY });

describe('traindb backfill (CLI) on a busy database, with a bad run', () => {
  it('says it is waiting for the lock, lands every good run, and says where the bad one is recorded', async () => {
    const db = join(dir, 'busy.sqlite');
    (await openStore(db, { create: true })).store.close(); // created and migrated, so another process can lock it
    // Longer than the CLI takes to start plus the 5 s SQLite itself waits for a lock: the first attempt fails.
    holder = await holdWriteLock(db, 9000);
    const result = await runCli(['backfill', '--entity', 'lab', '--project', 'rl', '--db', db, '--page-size', '4'], {
      env: env(),
    });
    expect(result.stderr).toMatch(
      new RegExp(
        `^retrying: could not write 4 runs of lab/rl and their sync cursor \\(first run ${runs[0]!.name}\\): ` +
          'database is locked \\(attempt 1 of 7 failed; next attempt in \\d+\\.\\d s\\)$',
        'm',
      ),
    );
    expect(result.code).toBe(3);
    expect(result.stdout).toMatch(/runs: 7 new, 0 updated, 0 unchanged, 1 failed \(8 in W&B\)/);
    expect(result.stdout).toMatch(/failed runs are recorded with their reasons in the table sync_failures/);
    expect(result.stderr).toMatch(new RegExp(`^failed: run ${bad}: config is not valid JSON`, 'm'));
    const { store } = await openStore(db);
    try {
      expect((await store.listSyncFailures('lab', 'rl')).map((f) => f.run)).toEqual([bad]);
    } finally {
      await store.close();
    }
  }, 60_000);
});
