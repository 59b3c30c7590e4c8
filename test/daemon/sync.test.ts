import { afterEach, describe, expect, it } from 'vitest';
import { createSyncRunJob } from '../../src/jobs/sync-run.js';
import { SILENT_LOGGER } from '../../src/jobs/registry.js';
import { hash53 } from '../../src/core/hash.js';
import { findRuns } from '../../src/query/find-runs.js';
import { E, P, getJson, liveRun, startHarness, waitFor, wandbTime, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function runRow(name: string): Promise<Record<string, unknown> | undefined> {
  const [row] = await h!.rows('SELECT * FROM training_runs WHERE wandb_run_id = ?', [name]);
  return row;
}

async function events(runId: string): Promise<Array<Record<string, unknown>>> {
  return h!.rows('SELECT from_status, to_status, source FROM run_status_events WHERE run_id = ? ORDER BY id', [runId]);
}

/** How many polls finish until `condition` holds: "within one poll" allows the one in flight plus the next. */
async function pollsUntil(condition: () => Promise<boolean>): Promise<number> {
  const before = h!.daemon.progress.polls;
  await waitFor(condition, { timeoutMs: 15_000, what: 'the change to reach the database' });
  return h!.daemon.progress.polls - before;
}

describe('daemon: polling W&B into the database', () => {
  it('brings runs created, edited and finished in W&B into the database within one poll', async () => {
    h = await startHarness({ runs: [liveRun({ name: 'a1', state: 'running' })] });
    await waitFor(async () => (await runRow('a1'))?.['status'] === 'running', { what: 'a1 to be synced' });
    // The start-up reconcile lists everything too; let it finish so the polls alone are measured.
    await h.startupReconciled();

    h.emu.addRuns(E, P, [liveRun({ name: 'a2', state: 'running', loss: 0.9 })]);
    expect(await pollsUntil(async () => (await runRow('a2')) !== undefined)).toBeLessThanOrEqual(2);

    h.emu.updateRun(E, P, 'a2', (n) => ({
      summaryMetrics: JSON.stringify({ ...JSON.parse(String(n.summaryMetrics)), 'train/loss': 0.25 }),
    }));
    expect(await pollsUntil(async () => (await runRow('a2'))?.['final_loss'] === 0.25)).toBeLessThanOrEqual(2);

    h.emu.updateRun(E, P, 'a2', { state: 'finished' });
    expect(await pollsUntil(async () => (await runRow('a2'))?.['status'] === 'completed')).toBeLessThanOrEqual(2);
    const row = await runRow('a2');
    expect(row).toMatchObject({ state: 'finished', status: 'completed', final_loss: 0.25 });
    expect(await events(String(row!['run_id']))).toEqual([
      { from_status: null, to_status: 'running', source: 'wandb' },
      { from_status: 'running', to_status: 'completed', source: 'wandb' },
    ]);
    // The watermark is kept in W&B's zone-less form.
    const [state] = await h.rows("SELECT watermark FROM sync_state WHERE kind = 'poll'");
    expect(state!['watermark']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
  });

  it('records running → crashed exactly once however often the run is polled and processed', async () => {
    h = await startHarness({ runs: [liveRun({ name: 'c1', state: 'running' })] });
    await waitFor(async () => (await runRow('c1'))?.['status'] === 'running', { what: 'c1 running' });
    await h.startupReconciled();
    const runningNode = h.emu.getRun(E, P, 'c1')!;
    h.emu.updateRun(E, P, 'c1', { state: 'crashed' });
    await waitFor(async () => (await runRow('c1'))?.['status'] === 'crashed', { what: 'c1 crashed' });
    await h.polls(5);

    // Processed again and again: the same data, and the older running data arriving late.
    const crashedNode = h.emu.getRun(E, P, 'c1')!;
    const sync = createSyncRunJob({ store: h.store, normalize: {}, staleAfterMs: 600_000 });
    for (let i = 0; i < 3; i++) {
      expect(
        (await sync({ entity: E, project: P, node: crashedNode, source: 'wandb' }, { log: SILENT_LOGGER })).result,
      ).toBe('unchanged');
      expect(
        (await sync({ entity: E, project: P, node: runningNode, source: 'wandb' }, { log: SILENT_LOGGER })).result,
      ).toBe('stale');
    }
    // ...and through the queue, once its finished jobs are gone and ids can be reused (at-least-once).
    await h.daemon.queues.sync.clean(0, 10_000, 'completed');
    const item = (node: typeof crashedNode, versionMs: number) => ({
      payload: { entity: E, project: P, node, source: 'wandb' as const },
      versionMs,
      contentHash: hash53(JSON.stringify(node)),
    });
    await h.daemon.queues.enqueuer.syncRuns([item(crashedNode, 2), item(runningNode, 1), item(crashedNode, 3)]);
    await waitFor(async () => (await h!.daemon.queues.sync.getJobCounts('completed'))['completed'] === 3, {
      what: 'reprocessing',
    });
    await h.polls(3);

    const runId = String((await runRow('c1'))!['run_id']);
    expect(await events(runId)).toEqual([
      { from_status: null, to_status: 'running', source: 'wandb' },
      { from_status: 'running', to_status: 'crashed', source: 'wandb' },
    ]);
    expect(await h.rows('SELECT count(*) AS n FROM training_runs')).toEqual([{ n: 1 }]);
  });

  it('fails a run that cannot be normalized with its reason, once, without holding up the others', async () => {
    h = await startHarness({
      runs: [
        { ...liveRun({ name: 'bad1', state: 'running' }), config: '{"lr": ' },
        liveRun({ name: 'ok1', state: 'finished' }),
        liveRun({ name: 'ok2', state: 'running' }),
      ],
    });
    await waitFor(async () => (await h!.rows('SELECT count(*) AS n FROM training_runs'))[0]!['n'] === 2, {
      what: 'the good runs',
    });
    await waitFor(async () => (await h!.daemon.queues.sync.getFailed()).length === 1, { what: 'the failed job' });
    await h.polls(4);
    const failed = await h.daemon.queues.sync.getFailed();
    expect(failed).toHaveLength(1);
    expect(failed[0]!.failedReason).toMatch(/run bad1: config is not valid JSON/);
    expect(failed[0]!.attemptsMade).toBe(1);
    expect(failed[0]!.id).toMatch(/^run-lab-molecule-rl-bad1-\d+-[0-9a-z]+$/);
    expect(await runRow('bad1')).toBeUndefined();

    // A later, fixed version is a new job and lands.
    h.emu.updateRun(E, P, 'bad1', { config: JSON.stringify({ lr: { value: 0.1 } }) });
    await waitFor(async () => (await runRow('bad1')) !== undefined, { what: 'the fixed run' });
  });

  it('links a run registered at launch to its W&B run instead of duplicating it', async () => {
    h = await startHarness();
    const yaml = [
      'run_id: launch-42',
      'gradient_method: pcgrad',
      'training:',
      '  batch_size: 64',
      'objectives:',
      '  - {name: DRD5_activity, alias: DRD5_activity_maximize, weight: 1, direction: maximize, params: {uniprot: P21918}}',
    ].join('\n');
    const res = await fetch(`${h.url}/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        config_yaml: yaml,
        host: 'ec2',
        instance_id: 'i-0abc',
        config_file_path: 's3://cfg/run.yaml',
      }),
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ run_id: 'launch-42', created: true, status: 'launched' });
    const [launched] = await h.rows('SELECT run_id, status, batch_size, gradient_method, host FROM training_runs');
    expect(launched).toEqual({
      run_id: 'launch-42',
      status: 'launched',
      batch_size: 64,
      gradient_method: 'pcgrad',
      host: 'ec2',
    });
    expect(await h.rows('SELECT objective_name, uniprot FROM run_objectives')).toEqual([
      { objective_name: 'DRD5_activity', uniprot: 'P21918' },
    ]);
    // Registering again changes nothing.
    const again = await fetch(`${h.url}/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ run_id: 'launch-42', config: {} }),
    });
    expect(again.status).toBe(200);

    await h.startupReconciled();
    h.emu.addRuns(E, P, [
      liveRun({
        name: 'w42',
        state: 'running',
        launchId: 'launch-42',
        batch_size: 64,
        gradient_method: 'pcgrad',
        host: 'ec2',
      }),
    ]);
    await waitFor(async () => (await runRow('w42')) !== undefined, { what: 'the W&B run' });
    expect(
      await h.rows('SELECT run_id, wandb_run_id, status, host, instance_id, config_file_path FROM training_runs'),
    ).toEqual([
      {
        run_id: 'launch-42',
        wandb_run_id: 'w42',
        status: 'running',
        host: 'ec2',
        instance_id: 'i-0abc',
        config_file_path: 's3://cfg/run.yaml',
      },
    ]);
    expect(await events('launch-42')).toEqual([
      { from_status: null, to_status: 'launched', source: 'launch' },
      { from_status: 'launched', to_status: 'running', source: 'wandb' },
    ]);

    const patch = await fetch(`${h.url}/runs/launch-42`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ error_log_s3_key: 's3://logs/42.txt', blog_post_url: 'https://blog/42' }),
    });
    expect(patch.status).toBe(200);
    h.emu.updateRun(E, P, 'w42', { state: 'finished' });
    await waitFor(async () => (await runRow('w42'))?.['status'] === 'completed', { what: 'the finish' });
    // Sync never overwrites attachments.
    expect(await h.rows('SELECT error_log_s3_key, blog_post_url FROM training_runs')).toEqual([
      { error_log_s3_key: 's3://logs/42.txt', blog_post_url: 'https://blog/42' },
    ]);
  });

  it('marks a running run whose heartbeat stopped as stale once, and revives it when the heartbeat resumes', async () => {
    h = await startHarness({
      settings: { staleAfterMs: 2000 },
      runs: [liveRun({ name: 's1', state: 'running' }), liveRun({ name: 'z1', state: 'running', agoMs: 3_600_000 })],
    });
    // Already silent for an hour when first seen: stored as stale straight away.
    await waitFor(async () => (await runRow('z1'))?.['status'] === 'stale', { what: 'z1 stale' });
    await waitFor(async () => (await runRow('s1'))?.['status'] === 'stale', {
      timeoutMs: 15_000,
      what: 's1 to go stale',
    });
    await h.polls(4);
    expect(await events('lab/molecule-rl/s1')).toEqual([
      { from_status: null, to_status: 'running', source: 'wandb' },
      { from_status: 'running', to_status: 'stale', source: 'heartbeat' },
    ]);
    expect(await events('lab/molecule-rl/z1')).toEqual([
      { from_status: null, to_status: 'stale', source: 'heartbeat' },
    ]);
    const [detail] = await h.rows(
      "SELECT detail FROM run_status_events WHERE to_status = 'stale' AND run_id = 'lab/molecule-rl/s1'",
    );
    expect(JSON.parse(String(detail!['detail']))).toHaveProperty('heartbeatAt');

    h.emu.updateRun(E, P, 's1', { heartbeatAt: wandbTime() });
    await waitFor(async () => (await runRow('s1'))?.['status'] === 'running', { what: 's1 revived' });
    expect((await events('lab/molecule-rl/s1')).at(-1)).toEqual({
      from_status: 'stale',
      to_status: 'running',
      source: 'wandb',
    });
  });
});

describe('daemon: several processes side by side', () => {
  let second: Harness | undefined;
  afterEach(async () => {
    await second?.stop();
    second = undefined;
  });

  it('shares one Redis prefix and one database without duplicate rows or transitions', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `p${i}`);
    h = await startHarness({ runs: names.map((name) => liveRun({ name, state: 'running' })) });
    second = await startHarness({ sibling: h });
    const count = async () => Number((await h!.rows('SELECT count(*) AS n FROM training_runs'))[0]!['n']);
    await waitFor(async () => (await count()) === names.length, { what: 'the first sync' });
    for (const name of names) h.emu.updateRun(E, P, name, { state: name.endsWith('1') ? 'crashed' : 'finished' });
    await waitFor(async () => (await h!.store.listWandbRunIds(E, P, 'active')).length === 0, {
      what: 'every run to end',
    });
    // Polls go to whichever process asks first: count them together.
    const polls = () => h!.daemon.progress.polls + second!.daemon.progress.polls;
    const target = polls() + 4;
    await waitFor(() => polls() >= target, { what: '4 more polls' });

    expect(await count()).toBe(names.length);
    const perRun = await h.rows(
      `SELECT run_id, group_concat(coalesce(from_status, '-') || '>' || to_status, ' ') AS path
       FROM (SELECT * FROM run_status_events ORDER BY id) GROUP BY run_id ORDER BY run_id`,
    );
    expect(perRun).toHaveLength(names.length);
    for (const row of perRun) expect(String(row['path'])).toMatch(/^->running running>(completed|crashed)$/);
    // Readiness reads the last poll from the shared database: both are ready whoever polled.
    expect((await getJson(`${h.url}/readyz`)).status).toBe(200);
    expect((await getJson(`${second.url}/readyz`)).status).toBe(200);
  });
});

describe('daemon: the reconcile', () => {
  it('catches an edit to a finished run that left its timestamps alone, and marks a deleted run', async () => {
    const old = Date.now() - 2 * 86_400_000;
    h = await startHarness({
      settings: { reconcileIntervalMs: 1500 },
      runs: [
        liveRun({ name: 'f1', state: 'finished', loss: 0.5, agoMs: Date.now() - old }),
        liveRun({ name: 'd1', state: 'finished', agoMs: Date.now() - old }),
      ],
    });
    await waitFor(async () => (await h!.rows('SELECT count(*) AS n FROM training_runs'))[0]!['n'] === 2, {
      what: 'the first reconcile',
    });
    const reconciledAt = async () => (await h!.store.getSyncState(E, P, 'reconcile'))?.updatedAt ?? '';

    // W&B's summary.update() on a finished run need not move updatedAt or heartbeatAt.
    const before = await reconciledAt();
    h.emu.updateRun(
      E,
      P,
      'f1',
      (n) => ({
        summaryMetrics: JSON.stringify({ ...JSON.parse(String(n.summaryMetrics)), 'train/loss': 0.125 }),
        updatedAt: n.updatedAt,
        heartbeatAt: n.heartbeatAt,
      }),
      { touchHeartbeat: false },
    );
    h.emu.deleteRun(E, P, 'd1');
    await waitFor(async () => (await runRow('f1'))?.['final_loss'] === 0.125, { what: 'the edit' });
    // The reconcile records itself after its jobs are enqueued, so the edit can land a moment earlier.
    await waitFor(async () => (await reconciledAt()) !== before, { what: 'the reconcile that caught it' });
    await waitFor(async () => (await runRow('d1'))?.['deleted_at'] !== null, { what: 'the deletion mark' });

    // Marked once, never removed, hidden from queries.
    await waitFor(
      async () =>
        (await reconciledAt()) >
        (await h!.rows("SELECT max(observed_at) AS t FROM run_status_events WHERE to_status = 'deleted'"))[0]!['t']!,
      { what: 'one more reconcile' },
    );
    expect(await events('lab/molecule-rl/d1')).toEqual([
      { from_status: null, to_status: 'completed', source: 'reconcile' },
      { from_status: 'completed', to_status: 'deleted', source: 'reconcile' },
    ]);
    expect((await runRow('d1'))?.['status']).toBe('completed');
    expect((await findRuns(h.store, { columns: ['run_id'] })).map((r) => r['run_id'])).toEqual(['lab/molecule-rl/f1']);

    // Served again: restored, with the way back recorded.
    h.emu.addRuns(E, P, [liveRun({ name: 'd1', state: 'finished', agoMs: Date.now() - old })]);
    await waitFor(async () => (await runRow('d1'))?.['deleted_at'] === null, { what: 'the restore' });
    expect((await events('lab/molecule-rl/d1')).at(-1)).toEqual({
      from_status: 'deleted',
      to_status: 'completed',
      source: 'reconcile',
    });
  });
});
