import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startWandbEmulator, offsetToCursor } from '../../src/dev/emulator/index.js';
import type { WandbEmulator } from '../../src/dev/emulator/index.js';
import { generateRuns } from '../../src/dev/generate/index.js';
import { gql, pageAll, RUNS_PAGE } from './helpers.js';

const E = 'lab';
const P = 'paging';
const RUNS = generateRuns({ runs: 537, seed: 21, entity: E, project: P });
let emu: WandbEmulator;

beforeAll(async () => {
  emu = await startWandbEmulator({ maxPageSize: 200 });
});
beforeEach(() => {
  emu.setProject(E, P, RUNS);
  emu.setHooks({});
});
afterAll(() => emu.close());

describe('W&B emulator: paging and ordering', () => {
  it('walks every run exactly once with offset cursors when nothing changes', async () => {
    const names = await pageAll(emu, { entity: E, project: P, first: 50 });
    expect(names).toHaveLength(537);
    expect(new Set(names).size).toBe(537);
    // Default order is +created_at (the generator's creation order).
    expect(names).toEqual(RUNS.map((r) => r.name));
  });

  it('encodes cursors as base64("arrayconnection:<offset>") and pages after them', async () => {
    const first = await gql(emu, RUNS_PAGE, { entity: E, project: P, first: 3 });
    const runs = first.body.data.project.runs;
    expect(runs.totalCount).toBe(537);
    expect(runs.edges.map((e: { cursor: string }) => e.cursor)).toEqual([0, 1, 2].map(offsetToCursor));
    expect(Buffer.from(runs.pageInfo.endCursor, 'base64').toString()).toBe('arrayconnection:2');
    expect(runs.pageInfo.hasNextPage).toBe(true);
    const next = await gql(emu, RUNS_PAGE, { entity: E, project: P, first: 2, after: runs.pageInfo.endCursor });
    expect(next.body.data.project.runs.edges.map((e: { node: { name: string } }) => e.node.name)).toEqual([
      RUNS[3]!.name,
      RUNS[4]!.name,
    ]);
    const last = await gql(emu, RUNS_PAGE, { entity: E, project: P, first: 50, after: offsetToCursor(530) });
    expect(last.body.data.project.runs.edges).toHaveLength(6);
    expect(last.body.data.project.runs.pageInfo.hasNextPage).toBe(false);
    const bad = await gql(emu, RUNS_PAGE, { entity: E, project: P, first: 2, after: 'not-a-cursor' });
    expect(bad.status).toBe(200);
    expect(bad.body.errors[0].message).toMatch(/invalid cursor/);
  });

  it('caps pages at maxPageSize while hasNextPage stays true', async () => {
    const res = await gql(emu, RUNS_PAGE, { entity: E, project: P, first: 500 });
    expect(res.body.data.project.runs.edges).toHaveLength(200);
    expect(res.body.data.project.runs.pageInfo.hasNextPage).toBe(true);
  });

  it('orders by -created_at, heartbeat, config and summary values with a stable name tiebreak', async () => {
    const desc = await pageAll(emu, { entity: E, project: P, order: '-created_at', first: 100 });
    expect(desc).toEqual(RUNS.map((r) => r.name).reverse());
    const byHeartbeat = await pageAll(emu, { entity: E, project: P, order: '+heartbeat_at', first: 200 });
    const hb = byHeartbeat.map((n) => emu.getRun(E, P, n)!.heartbeatAt!);
    expect(hb).toEqual([...hb].sort());

    const byBatch = await pageAll(emu, { entity: E, project: P, order: '-config.gradient_method.value', first: 200 });
    const methods = byBatch.map(
      (n) => JSON.parse(emu.getRun(E, P, n)!.config as string).gradient_method.value as string,
    );
    expect(methods).toEqual([...methods].sort().reverse());
    // Ties (same gradient_method) are broken by name, so two walks agree.
    expect(await pageAll(emu, { entity: E, project: P, order: '-config.gradient_method.value', first: 37 })).toEqual(
      byBatch,
    );

    const byLoss = await pageAll(emu, { entity: E, project: P, order: '+summary_metrics.train/loss', first: 200 });
    const losses = byLoss
      .map((n) => JSON.parse(emu.getRun(E, P, n)!.summaryMetrics as string)['train/loss'])
      .filter((v) => typeof v === 'number');
    expect(losses).toEqual([...losses].sort((a, b) => a - b));

    const bad = await gql(emu, RUNS_PAGE, { entity: E, project: P, order: '+nonsense' });
    expect(bad.body.errors[0].message).toMatch(/unsupported order/);
  });

  it('shifts offsets when runs are created during paging (newest first): duplicates appear', async () => {
    const extra = generateRuns({ runs: 30, seed: 21, entity: E, project: P, offset: 537 });
    emu.setHooks({
      beforePage: ({ pageIndex }, e) => {
        // Three new runs land at the head of a -created_at listing before each of pages 1..10.
        if (pageIndex >= 1 && pageIndex <= 10) e.addRuns(E, P, extra.slice((pageIndex - 1) * 3, pageIndex * 3));
      },
    });
    const names = await pageAll(emu, { entity: E, project: P, order: '-created_at', first: 50 });
    expect(names.length).toBeGreaterThan(new Set(names).size);
    expect(emu.stats().pages.length).toBeGreaterThan(0);
  });

  it('with +created_at new runs only append, so one pass sees every old run', async () => {
    const extra = generateRuns({ runs: 30, seed: 21, entity: E, project: P, offset: 537 });
    const names = await pageAll(emu, { entity: E, project: P, order: '+created_at', first: 50 }, (i) => {
      if (i >= 1 && i <= 10) emu.addRuns(E, P, extra.slice((i - 1) * 3, i * 3));
    });
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(expect.arrayContaining(RUNS.map((r) => r.name)));
  });

  it('deleting a run during paging makes a pass miss another run', async () => {
    const names = await pageAll(emu, { entity: E, project: P, first: 50 }, (i) => {
      if (i === 2) emu.deleteRun(E, P, RUNS[0]!.name);
    });
    const missed = RUNS.slice(1).filter((r) => !names.includes(r.name));
    expect(missed).toHaveLength(1);
  });

  it('updateRun bumps updatedAt (and heartbeatAt for live runs) past the previous value', async () => {
    const finished = RUNS.find((r) => r.state === 'finished')!;
    const before = emu.getRun(E, P, finished.name)!;
    const after = emu.updateRun(E, P, finished.name, { tags: ['edited'] });
    expect(after.updatedAt! > before.updatedAt!).toBe(true);
    expect(after.heartbeatAt).toBe(before.heartbeatAt);
    expect(after.tags).toEqual(['edited']);
    const running = RUNS.find((r) => r.state === 'running')!;
    const r2 = emu.updateRun(E, P, running.name, (n) => ({
      summaryMetrics: { ...JSON.parse(n.summaryMetrics as string), _step: 99999 },
    }));
    expect(r2.heartbeatAt! > running.heartbeatAt!).toBe(true);
    expect(JSON.parse(r2.summaryMetrics as string)._step).toBe(99999);
    const res = await gql(emu, RUNS_PAGE, {
      entity: E,
      project: P,
      first: 1,
      filters: JSON.stringify({ updatedAt: { $gt: before.updatedAt }, name: finished.name }),
    });
    expect(res.body.data.project.runs.edges[0].node.updatedAt).toBe(after.updatedAt);
  });

  it('answers runCount and totalCount for a filter', async () => {
    const expected = RUNS.filter((r) => r.state === 'running').length;
    const res = await gql(
      emu,
      `query ($f: JSONString) { project(name: "${P}", entityName: "${E}") { runCount(filters: $f) runs(filters: $f, first: 1) { totalCount } } }`,
      { f: '{"state": "running"}' },
    );
    expect(res.body.data.project).toEqual({ runCount: expected, runs: { totalCount: expected } });
  });
});
