import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestNodes } from '../../src/jobs/ingest.js';
import { explainRuns, findRuns } from '../../src/query/find-runs.js';
import { compareGroups } from '../../src/query/compare.js';
import type { RunStore } from '../../src/db/store.js';
import { corpus, expectedRunId, statusOf } from '../helpers/corpus.js';
import { tempStore } from '../helpers/db.js';
import { makeRun, type RunSpec } from '../helpers/runs.js';

const specs = corpus();
let store: RunStore;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ store, cleanup } = await tempStore());
  await ingestNodes(
    store,
    specs.map((s, i) => makeRun({ ...s, flattened: i % 2 === 0 })),
  );
});
afterAll(async () => cleanup());

async function ids(where: string | Record<string, unknown>): Promise<string[]> {
  const rows = await findRuns(store, { where, columns: ['run_id'], limit: 1000 });
  return rows.map((r) => String(r['run_id'])).sort();
}
const expectIds = (pred: (s: RunSpec) => boolean) => specs.filter(pred).map(expectedRunId).sort();
const obj = (s: RunSpec, name: string) => s.objectives?.[name]?.[1] ?? s.summaryOnly?.[name]?.[1] ?? null;

describe('the filter language on every kind of attribute', () => {
  it.each<[string, (s: RunSpec) => boolean]>([
    ['batch_size >= 64', (s) => Number(s.batch_size) >= 64],
    [
      "gradient_method = 'mgda' and status = 'completed'",
      (s) => s.gradient_method === 'mgda' && statusOf(s) === 'completed',
    ],
    ['config.training.gradient_accumulation_steps > 4', (s) => (s.gas ?? 1) > 4],
    ['summary."train/kl" < 0.1', (s) => (s.kl ?? 0) < 0.1],
    ['summary.train/kl <= 0.1', (s) => (s.kl ?? 0) <= 0.1],
    ['objective.DRD5_activity > 0.8', (s) => obj(s, 'DRD5_activity')! > 0.8],
    ['objective.COMT_activity.normalized_mean >= 0.4', (s) => obj(s, 'COMT_activity')! / 2 >= 0.4],
    ['objective."5-HT2A_activity" is not null', (s) => obj(s, '5-HT2A_activity') !== null],
    ['objective."pIC50.DRD1" > 6', (s) => (obj(s, 'pIC50.DRD1') ?? 0) > 6],
    ['objective.SA_score is null', (s) => obj(s, 'SA_score') === null],
    ['objective.DRD5_activity.pass_rate = 0.25', () => true],
    [
      'objective.DRD5_activity > 0.9 or objective.COMT_activity > 0.9',
      (s) => obj(s, 'DRD5_activity')! > 0.9 || obj(s, 'COMT_activity')! > 0.9,
    ],
    ["config.gradient_method in ('pcgrad', 'imtlg')", (s) => ['pcgrad', 'imtlg'].includes(s.gradient_method!)],
    ["not (gradient_method in ('pcgrad', 'imtlg'))", (s) => !['pcgrad', 'imtlg'].includes(s.gradient_method!)],
    ["tags = 'baseline'", (s) => (s.tags ?? []).includes('baseline')],
    ["run_name like 'run-r00%'", (s) => s.name.startsWith('r00')],
    ["run_name ~ '^run-r01[0-4]$'", (s) => /^r01[0-4]$/.test(s.name)],
    ['config.training.learning_rate >= 0.001', (s) => Number(s.learning_rate) >= 0.001],
    ['not config.training.gradient_accumulation_steps > 4', (s) => !((s.gas ?? 1) > 4)],
    ['not objective."5-HT2A_activity" > 0.1', (s) => !((obj(s, '5-HT2A_activity') ?? 0) > 0.1)],
    ['config.reward.enable_moving_targets = true', () => true],
    [
      "config.host = 'expanse' and not config.training.batch_size in (16, 32)",
      (s) => ![16, 32].includes(Number(s.batch_size)),
    ],
  ])('%s', async (where, pred) => {
    const expected = expectIds(pred);
    expect(expected.length).toBeGreaterThan(0);
    expect(await ids(where)).toEqual(expected);
  });

  it('treats a missing value as false and its negation as true (two-valued logic)', async () => {
    const all = expectIds(() => true);
    const some = await ids('objective."5-HT2A_activity" > 0.1');
    const rest = await ids('not objective."5-HT2A_activity" > 0.1');
    expect([...some, ...rest].sort()).toEqual(all);
  });

  it('translates W&B Mongo-style filters, including dotted config keys W&B cannot match', async () => {
    const mongo = {
      'config.training.batch_size': { $gte: 64 },
      'summary_metrics.train/kl': { $lt: 0.1 },
      state: 'finished',
    };
    expect(await ids(mongo)).toEqual(
      expectIds((s) => Number(s.batch_size) >= 64 && (s.kl ?? 0) < 0.1 && s.state === 'finished'),
    );
    const or = { $or: [{ 'config.gradient_method.value': 'mgda' }, { 'objective.DRD5_activity': { $gt: 0.9 } }] };
    expect(await ids(or)).toEqual(expectIds((s) => s.gradient_method === 'mgda' || obj(s, 'DRD5_activity')! > 0.9));
  });

  it('sorts by any field with NULLs last and shows any field as a column', async () => {
    const rows = await findRuns(store, {
      columns: ['run_id', 'objective.DRD5_activity', 'config.training.batch_size', 'summary."train/kl"'],
      order: ['-objective.DRD5_activity'],
      limit: 5,
    });
    const top = [...specs].sort((a, b) => obj(b, 'DRD5_activity')! - obj(a, 'DRD5_activity')!).slice(0, 5);
    expect(rows.map((r) => r['objective.DRD5_activity'])).toEqual(top.map((s) => obj(s, 'DRD5_activity')));
    expect(rows[0]!['config.training.batch_size']).toBe(Number(top[0]!.batch_size));
  });

  it('gives the same rows through late materialization (small limits) and the direct form (large limits)', async () => {
    for (const [where, order] of [
      ['config.training.gradient_accumulation_steps > 2', ['-summary."train/kl"', 'batch_size']],
      ['objective.COMT_activity > 0.3', ['-objective.DRD5_activity']],
      ["tags = 'sweep'", ['objective.SA_score', '-created_at']],
    ] as const) {
      const columns = ['run_id', 'config.training.batch_size', 'objective.DRD5_activity'];
      const late = await findRuns(store, { where, order: [...order], columns, limit: 1000 });
      const direct = await findRuns(store, { where, order: [...order], columns, limit: 100_000 });
      expect(late.length).toBeGreaterThan(0);
      expect(direct).toEqual(late);
    }
  });

  it('lists runs lacking the sort objective after those that have it', async () => {
    const rows = await findRuns(store, {
      columns: ['run_id', 'objective.SA_score'],
      order: ['objective.SA_score'],
      limit: 1000,
    });
    const values = rows.map((r) => r['objective.SA_score']);
    const firstNull = values.indexOf(null);
    expect(firstNull).toBeGreaterThan(0);
    expect(values.slice(firstNull).every((v) => v === null)).toBe(true);
    const numbers = values.slice(0, firstNull) as number[];
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    expect(rows).toHaveLength(specs.length);
  });

  it('points at the offending token of a bad filter and runs nothing', async () => {
    await expect(ids('batch_size >= ')).rejects.toThrow(/expected a value/);
    await expect(ids('batchsize >= 64')).rejects.toThrow(/unknown column 'batchsize'; did you mean 'batch_size'/);
    await expect(ids('config.training.batchsize > 1')).rejects.toThrow(/did you mean config\.training\.batch_size/);
    await expect(ids('objective.DRD4_activity > 1')).rejects.toThrow(/did you mean 'DRD5_activity'/);
  });

  it('binds every value as a parameter', async () => {
    const { sql, params } = await explainRuns(store, { where: "gradient_method = 'x'' or 1=1 --'" });
    expect(sql).not.toContain('1=1');
    expect(params).toContain("x' or 1=1 --");
    expect(await ids("gradient_method = 'x'' or 1=1 --'")).toEqual([]);
  });
});

describe('the first page, newest first', () => {
  // 5% of the 48 runs is 3: a filter matching more is broad, and its page is read by walking the runs
  // (at 100K runs SQLite walks idx_created_at; here it scans the small covering index) instead of looking
  // up each match by run_key.
  it.each([
    ["tags = 'baseline'", /SCAN r USING/, (s: RunSpec) => (s.tags ?? []).includes('baseline')],
    [
      'objective.DRD5_activity > 0.98',
      /SEARCH r USING COVERING INDEX idx_runs_order \(run_key=\?/,
      (s: RunSpec) => obj(s, 'DRD5_activity')! > 0.98,
    ],
  ])('%s', async (where, plan, pred) => {
    const explained = await explainRuns(store, { where, limit: 5 });
    expect(explained.plan.join('\n')).toMatch(plan);
    const newestFirst = specs
      .filter(pred)
      .sort((a, b) =>
        b.createdAt! < a.createdAt!
          ? -1
          : b.createdAt! > a.createdAt!
            ? 1
            : expectedRunId(a) < expectedRunId(b)
              ? -1
              : 1,
      )
      .slice(0, 5)
      .map(expectedRunId);
    const rows = await findRuns(store, { where, columns: ['run_id'], limit: 5 });
    expect(rows.map((r) => r['run_id'])).toEqual(newestFirst);
  });
});

describe('answered from indexes, not by parsing JSON', () => {
  it.each([
    ['config.training.gradient_accumulation_steps > 4', /SEARCH run_attributes USING PRIMARY KEY/],
    ['summary."train/kl" < 0.1', /SEARCH run_attributes USING PRIMARY KEY/],
    ["tags = 'baseline'", /SEARCH run_attributes USING PRIMARY KEY/],
    ['objective.COMT_activity > 0.8', /idx_obj_name /],
    ['objective.DRD5_activity.normalized_mean > 0.4', /idx_obj_normalized_mean/],
    // A text bound is a range of the text values only; a negation looks up the runs it excludes.
    ["config.gradient_method < 'n'", /PRIMARY KEY \(key_id=\? AND run_bucket=\? AND value>\? AND value<\?\)/],
    ["tags not in ('baseline')", /PRIMARY KEY \(key_id=\? AND run_bucket=\? AND value=\?\)/],
    ["config.gradient_method != 'mgda'", /PRIMARY KEY \(key_id=\? AND run_bucket=\? AND value=\?\)/],
    ['batch_size >= 64', /SEARCH r USING INDEX idx_batch_size \(batch_size>\? AND batch_size<\?\)/],
    [`config.training.batch_size in (${Array.from({ length: 100 }, (_, i) => i).join(', ')})`, /value=\?/],
  ])('%s', async (where, index) => {
    const { plan, sql } = await explainRuns(store, { where, order: ['run_id'] });
    expect(plan.join('\n')).toMatch(index);
    expect(sql).not.toMatch(/json_extract/);
  });
});

describe('group comparison', () => {
  it('reports n, mean, std, min, max per group (MGDA vs PCGrad on DRD5)', async () => {
    const result = await compareGroups(store, {
      by: 'gradient_method',
      objective: 'DRD5_activity',
      where: "status = 'completed'",
    });
    for (const method of ['mgda', 'pcgrad']) {
      const values = specs
        .filter((s) => s.gradient_method === method && statusOf(s) === 'completed')
        .map((s) => obj(s, 'DRD5_activity')!);
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1));
      const group = result.groups.find((g) => g.group === method)!;
      expect(group.n).toBe(values.length);
      expect(group.mean).toBeCloseTo(mean, 10);
      expect(group.std).toBeCloseTo(std, 10);
      expect(group.min).toBe(Math.min(...values));
      expect(group.max).toBe(Math.max(...values));
    }
  });

  it('compares an objective statistic other than raw_mean (normalized_mean)', async () => {
    const result = await compareGroups(store, {
      by: 'gradient_method',
      metric: 'objective.COMT_activity.normalized_mean',
    });
    for (const group of result.groups) {
      const values = specs.filter((s) => s.gradient_method === group.group).map((s) => obj(s, 'COMT_activity')! / 2);
      expect(group.n).toBe(values.length);
      expect(group.mean).toBeCloseTo(values.reduce((a, b) => a + b, 0) / values.length, 10);
    }
    expect(result.groups).toHaveLength(4);
  });

  it('groups by a config path and compares a summary metric', async () => {
    const result = await compareGroups(store, { by: 'config.training.batch_size', metric: 'summary."train/loss"' });
    expect(result.groups.map((g) => g.group).sort()).toEqual([16, 128, 32, 64].sort());
    expect(result.groups.reduce((a, g) => a + g.n, 0)).toBe(specs.length);
  });
});
