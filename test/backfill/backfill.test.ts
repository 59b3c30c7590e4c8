import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startWandbEmulator, type WandbEmulator } from '../../src/dev/emulator/index.js';
import { generateRuns } from '../../src/dev/generate/index.js';
import { runBackfill } from '../../src/jobs/backfill.js';
import { normalizeRun } from '../../src/core/normalize/run.js';
import type { WandbRunNode } from '../../src/core/wandb-run.js';
import type { RunStore } from '../../src/db/store.js';
import { createWandbClient, type WandbClientOptions } from '../../src/wandb/index.js';
import { tempStore } from '../helpers/db.js';

const ENTITY = 'lab';
const PROJECT = 'molecule-rl';
const normalize = {};

let emulator: WandbEmulator;
let store: RunStore;
let closeStore: () => Promise<void>;

beforeEach(async () => {
  ({ store, cleanup: closeStore } = await tempStore());
});
afterEach(async () => {
  await closeStore();
  await emulator?.close();
});

async function start(runs: WandbRunNode[], options: Parameters<typeof startWandbEmulator>[0] = {}) {
  emulator = await startWandbEmulator({ projects: [{ entity: ENTITY, project: PROJECT, runs }], ...options });
  return emulator;
}

function client(extra: Partial<WandbClientOptions> = {}) {
  return createWandbClient({
    baseUrl: emulator.url,
    apiKey: emulator.apiKey,
    pageSize: 25,
    requestsPerSecond: 1000,
    minRetryDelayMs: 5,
    maxRetryDelayMs: 50,
    ...extra,
  });
}

/** The database holds exactly the emulator's runs, each equal to its own normalization. */
async function expectMirror(nodes: readonly WandbRunNode[]) {
  const rows = await store.all('SELECT * FROM training_runs ORDER BY wandb_run_id');
  expect(rows.map((r) => r['wandb_run_id'])).toEqual(nodes.map((n) => n.name).sort());
  const byName = new Map(rows.map((r) => [r['wandb_run_id'], r]));
  for (const node of nodes) {
    const expected = normalizeRun(node, normalize);
    const row = byName.get(node.name)!;
    for (const [column, value] of Object.entries(expected.run)) {
      if (column === 'run_id' && row['run_id'] !== value) continue; // launch-id collisions are kept apart on purpose
      expect([node.name, column, row[column]]).toEqual([node.name, column, value]);
    }
  }
  const objectives = await store.all('SELECT count(*) AS n FROM run_objectives');
  expect(objectives[0]!['n']).toBe(nodes.reduce((a, n) => a + normalizeRun(n).objectives.length, 0));
}

describe('backfill over HTTP against the W&B emulator', () => {
  it('copies a multi-page project exactly in ceil(N / page) + a few requests', async () => {
    const runs = generateRuns({ runs: 120, seed: 3, entity: ENTITY, project: PROJECT });
    await start(runs);
    const indexes = () => store.all("SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name");
    const before = await indexes();
    // As a bulk load (indexes set aside while copying): everything must be back at the end.
    const result = await runBackfill(client(), store, {
      entity: ENTITY,
      project: PROJECT,
      normalize,
      pageSize: 25,
      bulkMinRuns: 1,
    });
    expect(result).toMatchObject({ inserted: 120, failed: [], total: 120 });
    await expectMirror(runs);
    expect(await indexes()).toEqual(before);
    expect(await store.all('SELECT * FROM deferred_indexes')).toEqual([]);
    // 1 runCount + ceil(120/25) = 5 pages; allow a small constant, never one request per run.
    expect(emulator.stats().requests).toBeLessThanOrEqual(Math.ceil(120 / 25) + 2);
  });

  it('misses nothing and duplicates nothing while runs are created during paging', async () => {
    const all = generateRuns({ runs: 100, seed: 4, entity: ENTITY, project: PROJECT });
    const initial = all.slice(0, 70);
    const later = all.slice(70);
    await start(initial, {
      hooks: {
        beforePage: (info, emu) => {
          // Ten new runs appear before each of the next three pages.
          if (info.pageIndex >= 1 && info.pageIndex <= 3) emu.addRuns(ENTITY, PROJECT, later.splice(0, 10));
        },
      },
    });
    const result = await runBackfill(client(), store, { entity: ENTITY, project: PROJECT, normalize, pageSize: 25 });
    expect(result.failed).toEqual([]);
    await expectMirror(emulator.listRuns(ENTITY, PROJECT));
    expect(emulator.listRuns(ENTITY, PROJECT)).toHaveLength(100);
  });

  it('gives the identical result with 20% of requests answered 429/500/cut off, honouring Retry-After', async () => {
    const runs = generateRuns({ runs: 80, seed: 5, entity: ENTITY, project: PROJECT });
    // Every fifth request fails, in turn with a 429 (Retry-After: 1), a 500 and a body cut off mid-stream.
    const kinds = [
      { kind: 'rateLimit', retryAfterSeconds: 1 },
      { kind: 'httpError', status: 500 },
      { kind: 'truncate' },
    ] as const;
    const script = Array.from({ length: 60 }, (_, i) => (i % 5 === 4 ? kinds[Math.floor(i / 5) % 3]! : null));
    await start(runs, { faults: { script } });
    const retryDelays: number[] = [];
    const c = client({
      retries: 10,
      onEvent: (e) => {
        if (e.type === 'retry' && e.status === 429) retryDelays.push(e.delayMs);
      },
    });
    const started = Date.now();
    const result = await runBackfill(c, store, { entity: ENTITY, project: PROJECT, normalize, pageSize: 5 });
    const elapsed = Date.now() - started;
    expect(result.failed).toEqual([]);
    const faults = emulator.stats().faultsByKind;
    expect(faults.rateLimit ?? 0).toBeGreaterThan(0);
    expect((faults.httpError ?? 0) + (faults.truncate ?? 0)).toBeGreaterThan(0);
    await expectMirror(runs);
    // Every 429 asked for 1 s: each retry waited at least that long.
    expect(retryDelays.length).toBe(faults.rateLimit);
    for (const delay of retryDelays) expect(delay).toBeGreaterThanOrEqual(1000);
    expect(elapsed).toBeGreaterThanOrEqual(1000 * retryDelays.length);
  });

  it('isolates a poison run, reports it, and lands all the others', async () => {
    const runs = generateRuns({ runs: 40, seed: 6, entity: ENTITY, project: PROJECT });
    const poison = runs[17]!.name;
    await start(runs, { faults: { poisonRuns: [poison] } });
    const result = await runBackfill(client({ retries: 1 }), store, {
      entity: ENTITY,
      project: PROJECT,
      normalize,
      pageSize: 10,
    });
    expect(result.failed).toEqual([{ run: poison, reason: expect.stringMatching(/skipped/) }]);
    await expectMirror(runs.filter((r) => r.name !== poison));
  });

  it('resumes after an interruption without refetching committed pages', async () => {
    const runs = generateRuns({ runs: 60, seed: 8, entity: ENTITY, project: PROJECT });
    await start(runs);
    const abort = new AbortController();
    let pages = 0;
    await runBackfill(client({ signal: abort.signal }), store, {
      entity: ENTITY,
      project: PROJECT,
      normalize,
      pageSize: 10,
      signal: abort.signal,
      bulkMinRuns: 1, // an interrupted bulk load must still put its indexes back
      onProgress: () => {
        if (++pages === 3) abort.abort(new Error('test interrupt'));
      },
    }).catch(() => undefined);
    const done = (await store.all('SELECT count(*) AS n FROM training_runs'))[0]!['n'] as number;
    expect(await store.all('SELECT * FROM deferred_indexes')).toEqual([]);
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(60);
    emulator.resetStats();
    const result = await runBackfill(client(), store, { entity: ENTITY, project: PROJECT, normalize, pageSize: 10 });
    expect(result.resumed).toBe(true);
    expect(result.inserted).toBe(60 - done);
    expect(Math.min(...emulator.stats().pages.map((p) => p.offset))).toBeGreaterThanOrEqual(done);
    await expectMirror(runs);
    // A finished backfill starts over next time (and changes nothing).
    const again = await runBackfill(client(), store, { entity: ENTITY, project: PROJECT, normalize, pageSize: 10 });
    expect(again).toMatchObject({ resumed: false, inserted: 0, unchanged: 60 });
  });

  it('copies only runs created since a date', async () => {
    const runs = generateRuns({ runs: 50, seed: 9, entity: ENTITY, project: PROJECT });
    await start(runs);
    const since = runs[30]!.createdAt!;
    const result = await runBackfill(client(), store, {
      entity: ENTITY,
      project: PROJECT,
      normalize,
      since: `${since}Z`,
    });
    expect(result.inserted).toBe(runs.filter((r) => r.createdAt! >= since).length);
  });

  it('fails fast with clear messages on a bad key and an unknown project, without retries', async () => {
    await start(generateRuns({ runs: 5, seed: 1, entity: ENTITY, project: PROJECT }));
    const badKey = createWandbClient({ baseUrl: emulator.url, apiKey: 'wrong-key-123', minRetryDelayMs: 5 });
    await expect(runBackfill(badKey, store, { entity: ENTITY, project: PROJECT, normalize })).rejects.toThrow(
      /rejected the API key/,
    );
    expect(badKey.stats().retries).toBe(0);
    const c = client();
    await expect(runBackfill(c, store, { entity: ENTITY, project: 'nope', normalize })).rejects.toThrow(
      /lab\/nope not found/,
    );
    expect(c.stats().retries).toBe(0);
  });
});
