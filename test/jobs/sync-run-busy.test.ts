import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UnrecoverableError } from 'bullmq';
import type { ChildProcess } from 'node:child_process';
import { TraindbError } from '../../src/core/errors.js';
import type { RunStore } from '../../src/db/store.js';
import { SILENT_LOGGER } from '../../src/jobs/registry.js';
import { createSyncRunJob } from '../../src/jobs/sync-run.js';
import { tempStore } from '../helpers/db.js';
import { holdWriteLock } from '../helpers/lock-holder.js';
import { makeRun } from '../helpers/runs.js';

let store: RunStore;
let path: string;
let cleanup: () => Promise<void>;
let holder: ChildProcess | undefined;
beforeEach(async () => {
  ({ store, path, cleanup } = await tempStore());
});
afterEach(async () => {
  holder?.kill('SIGKILL');
  holder = undefined;
  await cleanup();
});

describe('the daemon sync job on a busy database', () => {
  it('fails retryably (never as a bad run) while another process holds the write lock, then writes the run', async () => {
    const syncRun = createSyncRunJob({ store, normalize: {}, staleAfterMs: 600_000 });
    const node = makeRun({ name: 'r1', entity: 'lab', project: 'rl', state: 'finished' });
    const payload = { entity: 'lab', project: 'rl', node, source: 'wandb' as const };
    holder = await holdWriteLock(path, 6000);
    const exited = new Promise((resolve) => holder!.once('exit', resolve));
    const error = await syncRun(payload, { log: SILENT_LOGGER }).catch((e: unknown) => e);
    // The worker makes INVALID_RUN unrecoverable; anything else is retried by the queue with backoff.
    expect(error).toBeInstanceOf(TraindbError);
    expect(error).not.toBeInstanceOf(UnrecoverableError);
    expect(error).toMatchObject({ code: 'UNAVAILABLE', transient: true });
    expect((error as Error).message).toBe(
      'could not write run r1 of lab/rl (database is locked); the job will be retried',
    );
    expect(await store.all('SELECT count(*) AS n FROM training_runs')).toEqual([{ n: 0 }]);

    await exited;
    // The queue's next attempt.
    expect(await syncRun(payload, { log: SILENT_LOGGER })).toMatchObject({ result: 'inserted' });
    expect(await store.all('SELECT wandb_run_id FROM training_runs')).toEqual([{ wandb_run_id: 'r1' }]);
  }, 30_000);
});
