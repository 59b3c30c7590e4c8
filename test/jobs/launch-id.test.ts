import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { normalizeRun } from '../../src/core/normalize/run.js';
import { registerLaunch } from '../../src/jobs/launch.js';
import type { RunStore } from '../../src/db/store.js';
import { tempStore } from '../helpers/db.js';
import { makeRun } from '../helpers/runs.js';

// Issue 12 item 15: a launch id with surrounding spaces is trimmed at launch and at W&B sync alike.
let store: RunStore;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ store, cleanup } = await tempStore()));
afterEach(async () => cleanup());

const rows = async () =>
  (await store.all('SELECT run_id, status, wandb_run_id FROM training_runs ORDER BY run_id')).map((r) => ({ ...r }));

describe('launch ids with surrounding whitespace', () => {
  it('a given id and the W&B run carrying it in its config meet on one row', async () => {
    const outcome = await registerLaunch(store, { runId: '  L1 ', config: { lr: 1 } }, { launchIdKey: 'run_id' });
    expect(outcome.runId).toBe('L1');
    await store.upsertRun(normalizeRun(makeRun({ name: 'w1', launchId: ' L1  ', state: 'running' })));
    expect(await rows()).toEqual([{ run_id: 'L1', status: 'running', wandb_run_id: 'w1' }]);
  });

  it('an id taken from the config is trimmed the same way', async () => {
    await registerLaunch(store, { config: 'run_id: " L2 "\nlr: 1\n' }, { launchIdKey: 'run_id' });
    await store.upsertRun(normalizeRun(makeRun({ name: 'w2', launchId: 'L2 ' })));
    expect((await rows()).map((r) => [r.run_id, r.wandb_run_id])).toEqual([['L2', 'w2']]);
  });

  it('an id that is only whitespace is refused with a message; a differing config id too', async () => {
    await expect(registerLaunch(store, { runId: '   ', config: {} }, { launchIdKey: 'run_id' })).rejects.toThrow(
      /the run id is empty/,
    );
    await expect(
      registerLaunch(store, { runId: 'A ', config: { run_id: 'B' } }, { launchIdKey: 'run_id' }),
    ).rejects.toThrow(/the run id A differs from the config's run_id \(B\)/);
    await expect(
      registerLaunch(store, { runId: ' B ', config: { run_id: 'B ' } }, { launchIdKey: 'run_id' }),
    ).resolves.toMatchObject({
      runId: 'B',
    });
  });

  it('a YAML config keeps integers beyond 2^53 exactly and NaN as W&B writes it (item 9)', async () => {
    await registerLaunch(
      store,
      { config: 'run_id: L3\nseed: 9007199254740993\nlr: .nan\nsteps: 10\n' },
      { launchIdKey: 'run_id' },
    );
    const [row] = await store.all("SELECT config_json, max_steps FROM training_runs WHERE run_id = 'L3'");
    expect(row).toEqual({
      config_json: '{"run_id":"L3","seed":9007199254740993,"lr":"NaN","steps":10}',
      max_steps: null,
    });
  });

  it('a config nested deeper than 500 levels is bad input, however deep', async () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = { a: deep };
    await expect(registerLaunch(store, { runId: 'D', config: deep }, { launchIdKey: 'run_id' })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringMatching(/nested more than 500 levels deep/),
    });
    const dotted = { [Array.from({ length: 600 }, () => 'k').join('.')]: 1 };
    await expect(registerLaunch(store, { runId: 'D', config: dotted }, { launchIdKey: 'run_id' })).rejects.toThrow(
      /nested more than 500 levels deep \(dotted keys count as levels\)/,
    );
    expect(await store.all('SELECT run_id FROM training_runs')).toEqual([]);
  });
});
