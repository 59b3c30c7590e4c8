import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestNodes } from '../../src/jobs/ingest.js';
import {
  countRuns,
  explainRuns,
  findRuns,
  findRunsPage,
  iterateRuns,
  type FindRunsOptions,
} from '../../src/query/find-runs.js';
import { queryRuns, queryRunsByObjectives } from '../../src/query/seed-api.js';
import { isBadInput } from '../../src/core/errors.js';
import type { RunStore } from '../../src/db/store.js';
import { tempStore } from '../helpers/db.js';
import { makeRun } from '../helpers/runs.js';

// 1,100 runs: more than one page of the direct (non-late-materialized) form, with ties, missing values and
// a config value that is an integer, a real, text, a boolean, an object or absent from run to run.
const N = 1100;
let store: RunStore;
let cleanup: () => Promise<void>;

function mixed(i: number): string | undefined {
  switch (i % 6) {
    case 0:
      return undefined;
    case 1:
      return String(i % 7);
    case 2:
      return JSON.stringify(`t${i % 4}`);
    case 3:
      return '2.5';
    case 4:
      return i % 12 === 4 ? 'true' : '{"a": 1}';
    default:
      return String(-(i % 3) - 0.5);
  }
}

beforeAll(async () => {
  ({ store, cleanup } = await tempStore());
  const nodes = Array.from({ length: N }, (_, i) => {
    const node = makeRun({
      name: `p${String(i).padStart(4, '0')}`,
      state: ['finished', 'crashed', 'running'][i % 3]!,
      gradient_method: ['mgda', 'pcgrad', 'imtlg', 'aligned_mtl'][i % 4]!,
      batch_size: [16, 32, 64][i % 3]!,
      kl: (i % 5) / 10,
      tags: i % 3 === 0 ? ['baseline'] : [],
      // Only 9 distinct creation times: long runs of ties broken by run_id.
      createdAt: `2026-03-0${1 + (i % 9)}T12:00:00`,
      objectives: {
        // Every fourth run has no DRD5 value (config only): the leaderboard's unranked tail.
        DRD5_activity: ['maximize', i % 4 === 0 ? null : (i % 17) / 17],
      },
    });
    const value = mixed(i);
    if (value !== undefined) node.config = String(node.config).replace(/^\{/, `{"mixed": {"value": ${value}}, `);
    return node;
  });
  const summary = await ingestNodes(store, nodes);
  expect(summary.failed).toEqual([]);
}, 120_000);
afterAll(async () => cleanup());

async function allPages(options: FindRunsOptions, pageSize: number): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  for (let pages = 0; pages < N + 2; pages++) {
    const page = await findRunsPage(store, { ...options, columns: ['run_id'], limit: pageSize, after });
    expect(page.rows.length).toBeLessThanOrEqual(pageSize);
    ids.push(...page.rows.map((r) => String(r['run_id'])));
    if (page.next === null) return ids;
    expect(page.rows.length).toBe(pageSize);
    after = page.next;
  }
  throw new Error('paging did not end');
}

const ORDERS: string[][] = [
  ['-created_at'],
  ['created_at'],
  ['batch_size'],
  ['-batch_size', 'created_at'],
  ['-config.mixed'],
  ['config.mixed'],
  ['config.mixed', '-summary."train/kl"'],
  ['summary."train/kl"', '-batch_size'],
  ['-objective.DRD5_activity'],
  ['objective.DRD5_activity'],
  ['-objective.DRD5_activity', 'config.mixed'],
  ['objective.DRD5_activity.normalized_mean desc', '-created_at'],
  ['-objective.DRD5_activity.pass_rate'],
  ['tags'],
];
const FILTERS: Array<string | undefined> = [
  undefined,
  "config.gradient_method = 'mgda'",
  "status = 'completed' and batch_size >= 32",
  'objective.DRD5_activity > 0.5',
];

describe('keyset paging', () => {
  it.each(ORDERS.map((o) => [o.join(', '), o] as const))(
    'following next visits every match once, in order: %s',
    async (_, order) => {
      for (const where of FILTERS) {
        const unpaged = (await findRuns(store, { where, order, columns: ['run_id'], limit: 100_000 })).map((r) =>
          String(r['run_id']),
        );
        expect(unpaged.length).toBe(await countRuns(store, { where }));
        for (const size of [97, 1000]) {
          expect(await allPages({ where, order }, size), `${where} by ${order.join(',')} in pages of ${size}`).toEqual(
            unpaged,
          );
        }
      }
    },
    60_000,
  );

  it('pages of 1 and 7 through a leaderboard with ties and missing values', async () => {
    const options = { where: 'batch_size = 16', order: ['-objective.DRD5_activity', 'created_at'] };
    const unpaged = (await findRuns(store, { ...options, columns: ['run_id'], limit: 100_000 })).map((r) =>
      String(r['run_id']),
    );
    expect(unpaged.length).toBeGreaterThan(300);
    expect(await allPages(options, 1)).toEqual(unpaged);
    expect(await allPages(options, 7)).toEqual(unpaged);
  }, 60_000);

  it('the last page has next null; columns are those asked for, without the cursor column', async () => {
    const page = await findRunsPage(store, { columns: ['run_name', 'batch_size'], limit: N });
    expect(page.rows).toHaveLength(N);
    expect(page.next).toBeNull();
    expect(Object.keys(page.rows[0]!)).toEqual(['run_name', 'batch_size']);
    const first = await findRunsPage(store, { columns: ['*'], limit: 3 });
    expect(Object.keys(first.rows[0]!)).not.toContain('__traindb_cursor_run_id');
    expect(first.next).not.toBeNull();
  });

  it('a tampered cursor or one from another query is a bad-input error', async () => {
    const { next } = await findRunsPage(store, { order: ['batch_size'], limit: 5 });
    expect(next).toMatch(/^[A-Za-z0-9_-]+$/);
    const decoded = JSON.parse(Buffer.from(next!, 'base64url').toString()) as { id: string };
    const altered = Buffer.from(JSON.stringify({ ...decoded, id: decoded.id.replace(/.$/, 'x') })).toString(
      'base64url',
    );
    for (const [after, order, message] of [
      [altered, ['batch_size'], /altered/],
      [`${next!.slice(0, -3)}AAA`, ['batch_size'], /cursor/],
      ['not-a-cursor', ['batch_size'], /not a page cursor/],
      [next!, ['-batch_size'], /different filter, order/],
    ] as const) {
      const error = await findRunsPage(store, { order: [...order], limit: 5, after }).catch((e: unknown) => e);
      expect(isBadInput(error), String(error)).toBe(true);
      expect(String((error as Error).message)).toMatch(message);
    }
    await expect(findRunsPage(store, { where: 'batch_size = 16', order: ['batch_size'], after: next })).rejects.toThrow(
      /different filter/,
    );
    await expect(findRunsPage(store, { limit: 0 })).rejects.toThrow(/page size/);
  });

  it('iterateRuns stops at a limit across pages', async () => {
    const seen: number[] = [];
    for await (const page of iterateRuns(store, { columns: ['run_id'], limit: 250, pageSize: 100 }))
      seen.push(page.rows.length);
    expect(seen).toEqual([100, 100, 50]);
  });
});

describe('the seed API returns every match (issue 12 item 11)', () => {
  it('queryRuns and queryRunsByObjectives are not capped at 100', async () => {
    const rows = await queryRuns(store, { batch_size: 16 });
    expect(rows.length).toBe(await countRuns(store, { where: 'batch_size = 16' }));
    expect(rows.length).toBeGreaterThan(300);
    expect(new Set(rows.map((r) => r['run_id'])).size).toBe(rows.length);
    const byObjective = await queryRunsByObjectives(store, { DRD5_activity: { min: 0.1 } });
    expect(byObjective.length).toBe(await countRuns(store, { where: 'objective.DRD5_activity >= 0.1' }));
    expect(byObjective.length).toBeGreaterThan(500);
    expect(await queryRuns(store, { batch_size: 16 }, { limit: 10 })).toHaveLength(10);
  });
});

describe('the paging corpus', () => {
  it('holds what the orders above are meant to exercise', async () => {
    const rows = await findRuns(store, { columns: ['config.mixed', 'objective.DRD5_activity'], limit: N });
    expect(rows).toHaveLength(N);
    const kinds = new Set(rows.map((r) => (r['config.mixed'] === null ? 'null' : typeof r['config.mixed'])));
    expect([...kinds].sort()).toEqual(['null', 'number', 'string']);
    expect(rows.filter((r) => r['objective.DRD5_activity'] === null)).toHaveLength(N / 4);
    // The broad filter's first page walks the sort column's index (the strategy paging must continue).
    const walk = await explainRuns(store, { where: FILTERS[1], order: ['-created_at'], limit: 97 });
    expect(walk.sql).toContain('+r.run_key IN');
  });
});

describe('a keyset cursor, not an offset', () => {
  it('runs added before the cursor between pages neither repeat nor shift the rest', async () => {
    const own = await tempStore();
    try {
      const run = (i: number, day: number) =>
        makeRun({
          name: `k${String(i).padStart(2, '0')}`,
          createdAt: `2026-03-${String(day).padStart(2, '0')}T12:00:00`,
        });
      await ingestNodes(
        own.store,
        Array.from({ length: 30 }, (_, i) => run(i, 1 + (i % 20))),
      );
      const options = { columns: ['run_id'], order: ['-created_at'], limit: 10 };
      const before = (await findRuns(own.store, { ...options, limit: 100 })).map((r) => r['run_id']);
      const first = await findRunsPage(own.store, options);
      // Two newer runs sort first: an offset cursor would now repeat the first page's last two rows.
      await ingestNodes(own.store, [run(90, 28), run(91, 27)]);
      const second = await findRunsPage(own.store, { ...options, after: first.next });
      expect(second.rows.map((r) => r['run_id'])).toEqual(before.slice(10, 20));
    } finally {
      await own.cleanup();
    }
  });
});
