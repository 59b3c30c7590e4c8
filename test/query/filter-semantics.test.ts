import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestNodes } from '../../src/jobs/ingest.js';
import { findRuns } from '../../src/query/find-runs.js';
import type { RunStore } from '../../src/db/store.js';
import { tempStore } from '../helpers/db.js';
import { CASES, RUNS, type Filter } from './filter-semantics.cases.js';

// The table of filter semantics, run against SQLite through findRuns. Another engine runs the same CASES.
let store: RunStore;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ store, cleanup } = await tempStore());
  await ingestNodes(
    store,
    RUNS.map((run, i) => ({
      id: `storage-${run.name}`,
      name: `id-${run.name}`,
      displayName: run.name,
      state: 'finished',
      tags: run.tags ?? [],
      jobType: run.jobType ?? null,
      createdAt: `2026-03-0${i + 1}T12:00:00`,
      updatedAt: `2026-03-0${i + 1}T13:00:00`,
      project: { name: 'semantics', entityName: 'lab' },
      config: JSON.stringify(Object.fromEntries(Object.entries(run.config).map(([k, v]) => [k, { value: v }]))),
      summaryMetrics: JSON.stringify(run.summary ?? {}),
    })),
  );
});
afterAll(async () => cleanup());

async function names(filter: Filter): Promise<string[]> {
  const rows = await findRuns(store, { where: filter, columns: ['run_name'], limit: 1000 });
  return rows.map((r) => String(r['run_name'])).sort();
}

describe('filter semantics (test/query/filter-semantics.cases.ts)', () => {
  it('stores every run of the table', async () => {
    expect(await names('')).toEqual(RUNS.map((r) => r.name).sort());
  });

  it.each(CASES.map((c) => [typeof c.filter === 'string' ? c.filter : JSON.stringify(c.filter), c] as const))(
    '%s',
    async (_label, c) => {
      if (Array.isArray(c.expect)) expect(await names(c.filter)).toEqual([...c.expect].sort());
      else await expect(names(c.filter)).rejects.toThrow((c.expect as { error: RegExp }).error);
    },
  );
});
