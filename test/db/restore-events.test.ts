import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { normalizeRun } from '../../src/core/normalize/run.js';
import type { RunStore } from '../../src/db/store.js';
import { tempStore } from '../helpers/db.js';
import { makeRun } from '../helpers/runs.js';

// Issue 12 item 14: every way back from 'deleted' is an event between real statuses.
let store: RunStore;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ store, cleanup } = await tempStore()));
afterEach(async () => cleanup());

const ref = { entity: 'lab', project: 'molecule-rl', wandbRunIds: ['r1'] };

async function events(): Promise<Array<[unknown, unknown, unknown]>> {
  const rows = await store.all('SELECT from_status, to_status, source FROM run_status_events ORDER BY id');
  return rows.map((r) => [r['from_status'], r['to_status'], r['source']]);
}
async function deletedAt(): Promise<unknown> {
  return (await store.all("SELECT deleted_at FROM training_runs WHERE wandb_run_id = 'r1'"))[0]!['deleted_at'];
}

describe('restoring a deleted run', () => {
  it('re-ingesting changed data for a deleted run records deleted → its status', async () => {
    await store.upsertRun(normalizeRun(makeRun({ name: 'r1', state: 'running', updatedAt: '2026-03-01T10:00:00' })));
    await store.markRunsDeleted(ref);
    expect(await deletedAt()).not.toBeNull();
    const outcome = await store.upsertRun(
      normalizeRun(makeRun({ name: 'r1', state: 'finished', updatedAt: '2026-03-02T10:00:00' })),
    );
    expect(await deletedAt()).toBeNull();
    expect(outcome.transition).toEqual({ from: 'deleted', to: 'completed' });
    expect(await events()).toEqual([
      [null, 'running', 'wandb'],
      ['running', 'deleted', 'reconcile'],
      ['deleted', 'completed', 'wandb'],
    ]);
  });

  it('the same data again leaves it deleted and records nothing', async () => {
    const run = normalizeRun(makeRun({ name: 'r1', state: 'finished' }));
    await store.upsertRun(run);
    await store.markRunsDeleted(ref);
    expect((await store.upsertRun(run)).result).toBe('unchanged');
    expect(await deletedAt()).not.toBeNull();
    expect(await events()).toHaveLength(2);
  });

  it('restoreRuns records deleted → the status the run has, never an invented one', async () => {
    await store.upsertRun(normalizeRun(makeRun({ name: 'r1', state: 'killed' })));
    await store.markRunsDeleted(ref);
    expect(await store.restoreRuns(ref)).toHaveLength(1);
    expect(await events()).toEqual([
      [null, 'killed', 'wandb'],
      ['killed', 'deleted', 'reconcile'],
      ['deleted', 'killed', 'reconcile'],
    ]);
  });

  it('a run that never had a status is restored to "unknown"', async () => {
    const node = { ...makeRun({ name: 'r1' }), state: null };
    await store.upsertRun(normalizeRun(node));
    await store.markRunsDeleted(ref);
    await store.restoreRuns(ref);
    expect(await events()).toEqual([
      [null, 'deleted', 'reconcile'],
      ['deleted', 'unknown', 'reconcile'],
    ]);
  });
});
