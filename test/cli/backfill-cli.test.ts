import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWandbEmulator, type WandbEmulator } from '../../src/dev/emulator/index.js';
import { generateRuns } from '../../src/dev/generate/index.js';
import { tempDir } from '../helpers/db.js';
import { runCli } from '../helpers/cli.js';

const KEY = 'local-secret-key-7f3a9c1e5b';
let emulator: WandbEmulator;
let dir: string;
let cleanup: () => void;

beforeAll(async () => {
  ({ dir, cleanup } = tempDir());
  emulator = await startWandbEmulator({
    apiKey: KEY,
    projects: [
      { entity: 'lab', project: 'rl', runs: generateRuns({ runs: 45, seed: 21, entity: 'lab', project: 'rl' }) },
    ],
  });
});
afterAll(async () => {
  await emulator.close();
  cleanup();
});

const env = (key = KEY) => ({ WANDB_BASE_URL: emulator.url, WANDB_API_KEY: key });

describe('traindb backfill (CLI)', () => {
  it('copies the project, prints a summary, and never prints the key, even through faults', async () => {
    emulator.setFaults({ script: [null, { kind: 'httpError', status: 500 }, null, { kind: 'truncate' }] });
    const db = join(dir, 'a.sqlite');
    const result = await runCli(['backfill', '--entity', 'lab', '--project', 'rl', '--db', db, '--page-size', '20'], {
      env: env(),
    });
    emulator.setFaults(undefined);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/runs: 45 new, 0 updated, 0 unchanged, 0 failed \(45 in W&B\)/);
    expect(result.stdout).toMatch(/W&B: \d+ requests, [1-9]\d* retries, 0 rate-limited/);
    // Plain log lines when stderr is not a terminal.
    expect(result.stderr).toMatch(/lab\/rl: 45\/45 runs/);
    expect(result.stdout + result.stderr).not.toContain(KEY);
    const again = await runCli(['backfill', '--entity', 'lab', '--project', 'rl', '--db', db], { env: env() });
    expect(again.stdout).toMatch(/0 new, 0 updated, 45 unchanged/);
  }, 60_000);

  it('fails fast on a bad key with a clear message and exit 1, without echoing the key', async () => {
    const wrong = 'wrong-key-0000111122223333';
    const result = await runCli(['backfill', '--entity', 'lab', '--project', 'rl', '--db', join(dir, 'b.sqlite')], {
      env: env(wrong),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/rejected the API key/);
    expect(result.stdout + result.stderr).not.toContain(wrong);
  });

  it('names an unknown project', async () => {
    const result = await runCli(['backfill', '--entity', 'lab', '--project', 'nope', '--db', join(dir, 'c.sqlite')], {
      env: env(),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/lab\/nope not found/);
  });
});
