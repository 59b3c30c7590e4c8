import type { ChildProcess } from 'node:child_process';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TraindbError } from '../../src/core/errors.js';
import type { WandbRunNode } from '../../src/core/wandb-run.js';
import type { RunStore } from '../../src/db/store.js';
import { startWandbEmulator, type WandbEmulator } from '../../src/dev/emulator/index.js';
import { generateRuns } from '../../src/dev/generate/index.js';
import { runBackfill } from '../../src/jobs/backfill.js';
import type { WriteRetryInfo } from '../../src/jobs/write-retry.js';
import { createWandbClient } from '../../src/wandb/index.js';
import { tempStore } from '../helpers/db.js';
import { holdWriteLock } from '../helpers/lock-holder.js';

const ENTITY = 'lab';
const PROJECT = 'busy';

let emulator: WandbEmulator;
let store: RunStore;
let path: string;
let closeStore: () => Promise<void>;
let holder: ChildProcess | undefined;

beforeEach(async () => {
  ({ store, path, cleanup: closeStore } = await tempStore());
});
afterEach(async () => {
  holder?.kill('SIGKILL');
  holder = undefined;
  await closeStore();
  await emulator?.close();
});

async function start(runs: WandbRunNode[]): Promise<void> {
  emulator = await startWandbEmulator({ projects: [{ entity: ENTITY, project: PROJECT, runs }] });
}

const client = () =>
  createWandbClient({ baseUrl: emulator.url, apiKey: emulator.apiKey, pageSize: 3, requestsPerSecond: 1000 });

const storedIds = async () =>
  (await store.all('SELECT wandb_run_id FROM training_runs ORDER BY wandb_run_id')).map((r) => r['wandb_run_id']);

async function holdLockInAnotherProcess(dbPath: string, holdMs: number): Promise<void> {
  holder = await holdWriteLock(dbPath, holdMs);
}

describe('backfill against a database another process is writing to', () => {
  it('waits out a held write lock with retries, reports them, and skips no run', async () => {
    const runs = generateRuns({ runs: 6, seed: 11, entity: ENTITY, project: PROJECT });
    await start(runs);
    // Held for 12.5 s: past the first attempt at the page (5 s busy timeout) and past a one-run-at-a-time
    // retry of its first run (5 s more), released while its second run waits. Writing runs one by one
    // and committing the cursor with whichever run gets through is what skipped the first run.
    await holdLockInAnotherProcess(path, 12_500);
    const retries: WriteRetryInfo[] = [];
    const result = await runBackfill(client(), store, {
      entity: ENTITY,
      project: PROJECT,
      normalize: {},
      pageSize: 3,
      retry: { onRetry: (info) => retries.push(info) },
    });
    expect(result.failed).toEqual([]);
    expect(result.inserted).toBe(6);
    expect(await storedIds()).toEqual(runs.map((r) => r.name).sort());
    expect(await store.listSyncFailures(ENTITY, PROJECT)).toEqual([]);
    expect(retries.length).toBeGreaterThan(0);
    expect(retries[0]).toMatchObject({ attempt: 1, attempts: 7, what: expect.stringMatching(/3 runs of lab\/busy/) });
    expect(retries[0]!.error.message).toMatch(/database is locked/);
    // Nothing left to resume: a second backfill starts over and finds every run unchanged.
    const again = await runBackfill(client(), store, { entity: ENTITY, project: PROJECT, normalize: {}, pageSize: 3 });
    expect(again).toMatchObject({ resumed: false, inserted: 0, unchanged: 6, failed: [] });
  }, 90_000);

  it('stops with a clear error when the lock outlasts the retries, keeps the cursor before the page, and a resume gets every run', async () => {
    const runs = generateRuns({ runs: 6, seed: 12, entity: ENTITY, project: PROJECT });
    await start(runs);
    // A second, real connection to the same file takes the write lock right after the first page is
    // committed, and keeps it until the backfill has given up.
    const other = new Database(path);
    let pages = 0;
    let error: unknown;
    try {
      await runBackfill(client(), store, {
        entity: ENTITY,
        project: PROJECT,
        normalize: {},
        pageSize: 3,
        retry: { policy: { retries: 1, minDelayMs: 50, maxDelayMs: 50 } },
        onProgress: () => {
          if (++pages === 2) other.exec('BEGIN IMMEDIATE'); // the first call reports the start, the second page 1
        },
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TraindbError);
    expect(error).toMatchObject({ code: 'UNAVAILABLE', transient: true });
    const message = (error as Error).message;
    expect(message).toMatch(/^backfill of lab\/busy stopped: could not write 3 runs of lab\/busy/);
    expect(message).toMatch(/database is locked/);
    expect(message).toMatch(/on each of 2 attempts/);
    expect(message).toContain(`3 runs are committed; the cursor stays before this page (first run ${runs[3]!.name})`);
    other.exec('COMMIT');
    other.close();

    expect(await storedIds()).toEqual(
      runs
        .slice(0, 3)
        .map((r) => r.name)
        .sort(),
    );
    const state = await store.getSyncState(ENTITY, PROJECT, 'backfill');
    expect(JSON.parse(state!.detail!)).toMatchObject({ done: 3, complete: false });

    const resumed = await runBackfill(client(), store, {
      entity: ENTITY,
      project: PROJECT,
      normalize: {},
      pageSize: 3,
    });
    expect(resumed).toMatchObject({ resumed: true, inserted: 3, failed: [] });
    expect(await storedIds()).toEqual(runs.map((r) => r.name).sort());
  }, 60_000);

  it('records a run that cannot be normalized in sync_failures, with the cursor that passes it, and clears it once fixed', async () => {
    const runs = generateRuns({ runs: 7, seed: 13, entity: ENTITY, project: PROJECT });
    const bad = runs[4]!.name;
    runs[4] = { ...runs[4]!, config: '{"lr": ' };
    await start(runs);
    const result = await runBackfill(client(), store, { entity: ENTITY, project: PROJECT, normalize: {}, pageSize: 3 });
    expect(result.failed).toEqual([{ run: bad, reason: expect.stringMatching(/config is not valid JSON/) }]);
    expect(result.inserted).toBe(6);
    const failures = await store.listSyncFailures(ENTITY, PROJECT);
    expect(failures).toEqual([
      { run: bad, kind: 'backfill', reason: result.failed[0]!.reason, failedAt: expect.any(String) },
    ]);
    // Visible to plain SQL too.
    expect(await store.all('SELECT wandb_run_id, reason FROM sync_failures')).toEqual([
      { wandb_run_id: bad, reason: result.failed[0]!.reason },
    ]);

    emulator.updateRun(ENTITY, PROJECT, bad, { config: JSON.stringify({ lr: { value: 0.1 } }) });
    const again = await runBackfill(client(), store, { entity: ENTITY, project: PROJECT, normalize: {}, pageSize: 3 });
    expect(again).toMatchObject({ inserted: 1, failed: [] });
    expect(await store.listSyncFailures(ENTITY, PROJECT)).toEqual([]);
  });
});
