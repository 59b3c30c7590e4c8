import { afterEach, describe, expect, it } from 'vitest';
import { E, P, getJson, liveRun, startHarness, waitFor, type Harness } from './harness.js';
import { freePort, ThrowawayRedis } from './redis-server.js';

let h: Harness | undefined;
let redis: ThrowawayRedis | undefined;
afterEach(async () => {
  await h?.stop();
  await redis?.stop();
  h = undefined;
  redis = undefined;
});

describe('daemon: Redis restarted underneath it', () => {
  it('turns /readyz 503 while Redis is gone, 200 when it is back (empty), and loses no run', async () => {
    redis = new ThrowawayRedis(await freePort());
    await redis.start();
    h = await startHarness({
      settings: { redisUrl: redis.url },
      runs: [liveRun({ name: 'before', state: 'running' })],
    });
    const count = async () => Number((await h!.rows('SELECT count(*) AS n FROM training_runs'))[0]!['n']);
    await waitFor(async () => (await getJson(`${h!.url}/readyz`)).status === 200 && (await count()) === 1, {
      what: 'ready and synced',
    });

    await redis.stop();
    // Changes keep happening in W&B while Redis is away.
    h.emu.addRuns(E, P, [
      liveRun({ name: 'during-1', state: 'running' }),
      liveRun({ name: 'during-2', state: 'finished' }),
    ]);
    h.emu.updateRun(E, P, 'before', { state: 'crashed' });
    await waitFor(async () => (await getJson(`${h!.url}/readyz`)).status === 503, { what: '/readyz 503' });
    const down = await getJson(`${h.url}/readyz`);
    expect(down.body['failed']).toContain('redis');
    // Long enough for every connection to go through several reconnect attempts and for polls to age.
    await new Promise((r) => setTimeout(r, 2500));
    expect((await getJson(`${h.url}/readyz`)).body['failed']).toEqual(
      expect.arrayContaining(['redis', `poll ${E}/${P}`]),
    );
    expect(await count()).toBe(1);

    // Back without its data: no scheduler, no job. The daemon re-creates its scheduler and, the
    // database being the source of truth, fetches again what it does not hold yet.
    await redis.start();
    await waitFor(async () => (await getJson(`${h!.url}/readyz`)).status === 200, {
      timeoutMs: 30_000,
      what: '/readyz 200 again',
    });
    await waitFor(async () => (await count()) === 3, { timeoutMs: 20_000, what: 'the runs created during the outage' });
    await waitFor(
      async () =>
        (await h!.rows("SELECT status FROM training_runs WHERE wandb_run_id = 'before'"))[0]!['status'] === 'crashed',
      { what: 'the crash' },
    );
    expect(await h.daemon.queues.poll.getJobSchedulersCount()).toBe(1);
    expect(
      await h.rows(
        "SELECT from_status, to_status FROM run_status_events WHERE run_id = 'lab/molecule-rl/before' ORDER BY id",
      ),
    ).toEqual([
      { from_status: null, to_status: 'running' },
      { from_status: 'running', to_status: 'crashed' },
    ]);
  });
});
