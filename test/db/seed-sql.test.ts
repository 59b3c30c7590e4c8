import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { ingestNodes } from '../../src/jobs/ingest.js';
import { queryRuns, queryRunsByObjectives } from '../../src/query/seed-api.js';
import type { RunStore } from '../../src/db/store.js';
import { corpus, expectedRunId, statusOf } from '../helpers/corpus.js';
import { tempStore } from '../helpers/db.js';
import { makeRun } from '../helpers/runs.js';

// The seed document's example SQL, verbatim.
const SEED_COMT = `SELECT r.* FROM training_runs r
JOIN run_objectives o ON r.run_id = o.run_id
WHERE o.objective_name = 'COMT_activity' AND o.raw_mean > 0.8;`;

const SEED_COMPARE = `SELECT
  r.gradient_method,
  AVG(o.raw_mean) as avg_drd5,
  COUNT(*) as num_runs
FROM training_runs r
JOIN run_objectives o ON r.run_id = o.run_id
WHERE o.objective_name = 'DRD5_activity' AND r.status = 'completed'
GROUP BY r.gradient_method;`;

const SEED_GAS = `
    SELECT run_id, json_extract(config_json, '$.training.gradient_accumulation_steps') as gas
    FROM training_runs
    WHERE status = 'completed'
      AND json_extract(config_json, '$.training.gradient_accumulation_steps') > 4
`;

const SEED_TWO_OBJECTIVES = `
    SELECT DISTINCT r.*
    FROM training_runs r
    JOIN run_objectives o1 ON r.run_id = o1.run_id
    JOIN run_objectives o2 ON r.run_id = o2.run_id
    WHERE r.status = 'completed'
      AND o1.objective_name = 'COMT_activity' AND o1.raw_mean > 0.8
      AND o2.objective_name = 'DRD5_activity' AND o2.raw_mean > 0.7
`;

const specs = corpus();
const objective = (name: string) => (s: (typeof specs)[number]) => s.objectives?.[name]?.[1] ?? null;
const drd5 = objective('DRD5_activity');
const comt = objective('COMT_activity');
const sorted = (xs: string[]) => [...xs].sort();

describe("the seed document's SQL and query functions on an ingested project", () => {
  let store: RunStore;
  let path: string;
  let cleanup: () => Promise<void>;
  let plain: Database.Database;

  beforeAll(async () => {
    ({ store, path, cleanup } = await tempStore());
    // Half of the runs use the legacy wrapper and a flattened training section: same answers expected.
    const nodes = specs.map((s, i) => makeRun({ ...s, legacyWrapper: i % 2 === 1, flattened: i % 3 === 1 }));
    const summary = await ingestNodes(store, nodes);
    expect(summary.failed).toEqual([]);
    expect(summary.inserted).toBe(specs.length);
    // A user's own sqlite connection, as the seed's Python would open it.
    plain = new Database(path, { readonly: true });
  });
  afterAll(async () => {
    plain.close();
    await cleanup();
  });

  it('finds runs where COMT_activity > 0.8', () => {
    const rows = plain.prepare(SEED_COMT).all() as Array<{ run_id: string }>;
    const expected = specs.filter((s) => (comt(s) ?? 0) > 0.8).map(expectedRunId);
    expect(expected.length).toBeGreaterThan(3);
    expect(sorted(rows.map((r) => r.run_id))).toEqual(sorted(expected));
  });

  it('compares MGDA vs PCGrad on DRD5 over completed runs', () => {
    const rows = plain.prepare(SEED_COMPARE).all() as Array<{
      gradient_method: string;
      avg_drd5: number;
      num_runs: number;
    }>;
    const groups = new Map<string, number[]>();
    for (const s of specs.filter((x) => statusOf(x) === 'completed')) {
      groups.set(s.gradient_method!, [...(groups.get(s.gradient_method!) ?? []), drd5(s)!]);
    }
    expect(rows.length).toBe(groups.size);
    for (const row of rows) {
      const values = groups.get(row.gradient_method)!;
      expect(row.num_runs).toBe(values.length);
      expect(row.avg_drd5).toBeCloseTo(values.reduce((a, b) => a + b, 0) / values.length, 10);
    }
  });

  it('answers the json_extract query on config_json, whether the config was logged nested or flattened', () => {
    const rows = plain.prepare(SEED_GAS).all() as Array<{ run_id: string; gas: number }>;
    const expected = specs.filter((s) => statusOf(s) === 'completed' && (s.gas ?? 1) > 4);
    expect(sorted(rows.map((r) => r.run_id))).toEqual(sorted(expected.map(expectedRunId)));
    expect(rows.every((r) => r.gas > 4)).toBe(true);
  });

  it('answers the two-objective join', () => {
    const rows = plain.prepare(SEED_TWO_OBJECTIVES).all() as Array<{ run_id: string }>;
    const expected = specs
      .filter((s) => statusOf(s) === 'completed' && comt(s)! > 0.8 && drd5(s)! > 0.7)
      .map(expectedRunId);
    expect(sorted(rows.map((r) => r.run_id))).toEqual(sorted(expected));
  });

  it('queryRuns({gradient_method, min_batch_size, status})', async () => {
    const rows = await queryRuns(
      store,
      { gradient_method: 'mgda', min_batch_size: 64, status: 'completed' },
      { limit: 1000 },
    );
    const expected = specs.filter(
      (s) => s.gradient_method === 'mgda' && Number(s.batch_size) >= 64 && statusOf(s) === 'completed',
    );
    expect(expected.length).toBeGreaterThan(0);
    expect(sorted(rows.map((r) => String(r['run_id'])))).toEqual(sorted(expected.map(expectedRunId)));
  });

  it('queryRuns({min_learning_rate: 1e-3}) counts PyYAML "1e-3" strings as numbers', async () => {
    const rows = await queryRuns(store, { min_learning_rate: 1e-3 }, { limit: 1000 });
    const expected = specs.filter((s) => Number(s.learning_rate) >= 1e-3);
    expect(sorted(rows.map((r) => String(r['run_id'])))).toEqual(sorted(expected.map(expectedRunId)));
  });

  it('queryRunsByObjectives as the seed writes it (status inside the objective dict)', async () => {
    const rows = await queryRunsByObjectives(
      store,
      { COMT_activity: { min: 0.8 }, DRD5_activity: { min: 0.7 }, status: 'completed' },
      {},
      { limit: 1000 },
    );
    const expected = specs
      .filter((s) => statusOf(s) === 'completed' && comt(s)! >= 0.8 && drd5(s)! >= 0.7)
      .map(expectedRunId);
    expect(sorted(rows.map((r) => String(r['run_id'])))).toEqual(sorted(expected));
    const withMax = await queryRunsByObjectives(
      store,
      { COMT_activity: { min: 0.2, max: 0.4 } },
      { status: 'completed' },
      { limit: 1000 },
    );
    const expectedMax = specs
      .filter((s) => statusOf(s) === 'completed' && comt(s)! >= 0.2 && comt(s)! <= 0.4)
      .map(expectedRunId);
    expect(sorted(withMax.map((r) => String(r['run_id'])))).toEqual(sorted(expectedMax));
  });

  it('rejects an unknown seed filter key with the accepted forms', async () => {
    await expect(queryRuns(store, { min_batchsize: 64 })).rejects.toThrow(/min_<column>/);
  });
});
