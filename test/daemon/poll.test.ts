import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startWandbEmulator, type WandbEmulator } from '../../src/dev/emulator/index.js';
import { createPollProjectJob, type PollSettings } from '../../src/jobs/poll-project.js';
import { createReconcileProjectJob } from '../../src/jobs/reconcile-project.js';
import { createSyncRunJob } from '../../src/jobs/sync-run.js';
import { SILENT_LOGGER, type JobEnqueuer, type SyncRunItem } from '../../src/jobs/registry.js';
import type { RunStore } from '../../src/db/store.js';
import { createWandbClient, WandbError, type WandbClient } from '../../src/wandb/index.js';
import { syncJobId } from '../../src/worker/queues.js';
import { tempStore } from '../helpers/db.js';
import { API_KEY, E, P, liveRun, wandbTime } from './harness.js';

/** The processors run with no Redis at all: the enqueuer records what a queue would receive. */
class RecordingEnqueuer implements JobEnqueuer {
  items: SyncRunItem[] = [];
  reconciles: number[] = [];
  async syncRuns(items: readonly SyncRunItem[]): Promise<void> {
    this.items.push(...items);
  }
  async reconcile(_p: unknown, periodStartMs: number): Promise<void> {
    this.reconciles.push(periodStartMs);
  }
  take(): SyncRunItem[] {
    return this.items.splice(0);
  }
}

const settings: PollSettings = { overlapMs: 60_000, staleAfterMs: 600_000, reconcileIntervalMs: 3_600_000 };
const ctx = { log: SILENT_LOGGER };
let emu: WandbEmulator;
let store: RunStore;
let cleanup: () => Promise<void>;
let wandb: WandbClient;
let queue: RecordingEnqueuer;

beforeEach(async () => {
  emu = await startWandbEmulator({ apiKey: API_KEY, projects: [{ entity: E, project: P, runs: [] }] });
  ({ store, cleanup } = await tempStore());
  wandb = createWandbClient({ baseUrl: emu.url, apiKey: API_KEY, requestsPerSecond: 500, retries: 0 });
  queue = new RecordingEnqueuer();
});
afterEach(async () => {
  await emu.close();
  await cleanup();
});

async function process(items: SyncRunItem[]): Promise<void> {
  const sync = createSyncRunJob({ store, normalize: {}, staleAfterMs: settings.staleAfterMs });
  for (const item of items) if (!item.poison) await sync(item.payload, ctx);
}

describe('poll processor (no queue)', () => {
  it('enqueues only what the database lacks, with stable ids, and holds the watermark until it is written', async () => {
    const old = Date.now() - 86_400_000;
    emu.addRuns(E, P, [
      liveRun({ name: 'new1', state: 'running' }),
      liveRun({ name: 'old1', state: 'finished', agoMs: Date.now() - old }),
    ]);
    const poll = createPollProjectJob({ wandb, store, normalize: {}, enqueue: queue, settings });

    const first = await poll({ entity: E, project: P }, ctx);
    // Only the run inside the window; the old one is the reconcile's, which is due on a fresh database.
    expect(first).toMatchObject({ changed: 1, enqueued: 1, reconcileDue: true });
    expect(queue.reconciles).toHaveLength(1);
    const items = queue.take();
    expect(items.map((i) => i.payload.node.name)).toEqual(['new1']);
    const firstWatermark = first.watermark!;

    // The jobs were lost (Redis wiped): the next poll finds the same data and the same job id again.
    const again = await poll({ entity: E, project: P }, ctx);
    expect(again.watermark).toBe(firstWatermark);
    const redo = queue.take();
    expect(redo.map(syncJobId)).toEqual(items.map(syncJobId));

    // Written: settled, nothing to enqueue, and the watermark moves up to W&B's own timestamp.
    await process(redo);
    const settled = await poll({ entity: E, project: P }, ctx);
    expect(settled).toMatchObject({ enqueued: 0, settled: 1, active: 0 });
    expect(settled.watermark).toBe(wandbTime(Date.parse(`${emu.getRun(E, P, 'new1')!.heartbeatAt}Z`)));
    expect(queue.take()).toEqual([]);
  });

  it('re-fetches live runs by name even when nothing in the window changed', async () => {
    emu.addRuns(E, P, [liveRun({ name: 'live', state: 'running', agoMs: 2 * 86_400_000 })]);
    const reconcile = createReconcileProjectJob({
      wandb,
      store,
      normalize: {},
      enqueue: queue,
      staleAfterMs: 30 * 86_400_000,
    });
    await reconcile({ entity: E, project: P }, ctx);
    await process(queue.take());
    expect(await store.listWandbRunIds(E, P, 'active')).toEqual(['live']);

    const poll = createPollProjectJob({
      wandb,
      store,
      normalize: {},
      enqueue: queue,
      settings: { ...settings, staleAfterMs: 30 * 86_400_000 },
    });
    // W&B crashed it without moving any timestamp into the window: only the by-name fetch can see it.
    emu.updateRun(E, P, 'live', (n) => ({ state: 'crashed', updatedAt: n.updatedAt, heartbeatAt: n.heartbeatAt }));
    const result = await poll({ entity: E, project: P }, ctx);
    expect(result).toMatchObject({ changed: 0, active: 1, enqueued: 1 });
    await process(queue.take());
    expect(await store.listWandbRunIds(E, P, 'active')).toEqual([]);
  });

  it('falls back to heartbeatAt alone when the server refuses an updatedAt filter', async () => {
    emu.addRuns(E, P, [liveRun({ name: 'r1', state: 'running' })]);
    const strict: Pick<WandbClient, 'listRuns'> = {
      listRuns(args) {
        if (JSON.stringify(args.filters ?? {}).includes('updatedAt')) {
          return {
            [Symbol.asyncIterator]: () => ({
              next: () => Promise.reject(new WandbError('WANDB_BAD_REQUEST', 'unknown filter key updatedAt')),
            }),
          };
        }
        return wandb.listRuns(args);
      },
    };
    const poll = createPollProjectJob({ wandb: strict, store, normalize: {}, enqueue: queue, settings });
    expect(await poll({ entity: E, project: P }, ctx)).toMatchObject({ changed: 1, enqueued: 1 });
    expect(await poll({ entity: E, project: P }, ctx)).toMatchObject({ changed: 1 });
  });
});
