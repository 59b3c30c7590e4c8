import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/db/open-store.js';
import type { Row, RunStore } from '../../src/db/store.js';
import { ingestNodes } from '../../src/jobs/ingest.js';
import { csvCell } from '../../src/cli/format.js';
import { writeParquet } from '../../src/cli/export/parquet.js';
import { fileSink } from '../../src/cli/export/sink.js';
import { EXPORT_COLUMNS } from '../../src/cli/commands/export.js';
import { scanColumnTypes } from '../../src/query/column-types.js';
import { findAllRuns, iterateRuns } from '../../src/query/find-runs.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/db.js';
import { makeRun } from '../helpers/runs.js';

// 250 runs (more than the old silent cap of 100) with text that needs quoting, a config value whose type
// varies from run to run.
const N = 250;
let dir: string;
let rmDir: () => void;
let db: string;
let store: RunStore;

beforeAll(async () => {
  ({ dir, cleanup: rmDir } = tempDir());
  db = join(dir, 'runs.sqlite');
  ({ store } = await openStore(db, { create: true }));
  const nodes = Array.from({ length: N }, (_, i) => {
    const node = makeRun({
      name: i % 10 === 0 ? `p${i}, "quoted"\nnext line` : `p${String(i).padStart(3, '0')}`,
      gradient_method: ['mgda', 'pcgrad', 'imtlg'][i % 3]!,
      batch_size: [16, 32, 64][i % 3]!,
      learning_rate: 0.0001 * (1 + (i % 4)),
      loss: (i % 9) / 10,
      createdAt: `2026-03-0${1 + (i % 9)}T12:00:00`,
      objectives: { DRD5_activity: ['maximize', i % 4 === 0 ? null : (i % 17) / 17] },
    });
    const mixed = i % 3 === 0 ? '7' : i % 3 === 1 ? '"seven"' : undefined;
    if (mixed) node.config = String(node.config).replace(/^\{/, `{"mixed": {"value": ${mixed}}, `);
    return node;
  });
  expect((await ingestNodes(store, nodes)).failed).toEqual([]);
}, 120_000);
afterAll(async () => {
  await store.close();
  rmDir();
});

const COLUMNS = ['run_id', 'run_name', 'batch_size', 'learning_rate', 'config.mixed', 'summary."train/loss"'];
const LABELS = ['run_id', 'run_name', 'batch_size', 'learning_rate', 'config.mixed', 'summary.train/loss'];

function csvOf(rows: readonly Row[], cols: readonly string[]): string {
  return (
    [
      cols.map((c) => csvCell(c, { safe: true })).join(','),
      ...rows.map((r) => cols.map((c) => csvCell(r[c], { safe: true })).join(',')),
    ].join('\n') + '\n'
  );
}

describe('traindb query: no silent cap (issue 12 item 11)', () => {
  it('--format csv and json return every match, in order', async () => {
    const all = await findAllRuns(store, { columns: ['run_id', 'run_name'] });
    expect(all).toHaveLength(N);
    const csv = await runCli(['query', '--db', db, '--format', 'csv', '-c', 'run_id,run_name']);
    expect(csv.code).toBe(0);
    expect(csv.stdout).toBe(csvOf(all, ['run_id', 'run_name']));
    const json = await runCli(['query', '--db', db, '--format', 'json', '-c', 'run_id,run_name']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(all);
    const some = await runCli(['query', '--db', db, '--format', 'json', '-n', '120', '-c', 'run_id']);
    expect((JSON.parse(some.stdout) as unknown[]).length).toBe(120);
  });

  it('the table shows 100 and says how many match and how to get the rest', async () => {
    const r = await runCli(['query', '--db', db, '-c', 'run_id']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`100 of ${N} shown`);
    expect(r.stdout).toMatch(/--limit all/);
    const all = await runCli(['query', '--db', db, '-c', 'run_id', '--limit', 'all']);
    expect(all.stdout).toContain(`(${N} rows)`);
    expect(all.stdout).not.toMatch(/ shown/);
    const few = await runCli(['query', '--db', db, '-c', 'run_id', '-w', 'batch_size = 16', '-n', '5000']);
    expect(few.stdout).not.toMatch(/ shown/);
  });

  it('-n 0 is rejected with the way to ask for every match', async () => {
    for (const bad of ['0', '-3', '1.5', 'many']) {
      const r = await runCli(['query', '--db', db, '-n', bad]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`got '${bad}'`);
      expect(r.stderr).toContain('--limit all');
    }
  });
});

describe('traindb export (issue 12 item 18)', () => {
  it('csv to stdout: every match with the chosen columns, in order', async () => {
    const where = "gradient_method != 'imtlg'";
    const rows = await findAllRuns(store, { where, columns: COLUMNS, order: ['-batch_size'] });
    expect(rows.length).toBeGreaterThan(150);
    const r = await runCli(['export', '--db', db, '-w', where, '-c', COLUMNS.join(','), '-o', '-batch_size']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(csvOf(rows, LABELS));
  });

  it('jsonl to a file: one object per run', async () => {
    const out = join(dir, 'runs.jsonl');
    const r = await runCli(['export', '--db', db, '-c', COLUMNS.join(','), '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`exported ${N} runs`);
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
    const rows = await findAllRuns(store, { columns: COLUMNS });
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual(
      rows.map((row) =>
        Object.fromEntries(
          Object.entries(row).map(([k, v]) => [k, typeof v === 'number' && !Number.isFinite(v) ? String(v) : v]),
        ),
      ),
    );
  });

  it('parquet: typed columns that read back (hyparquet) to the query answer', async () => {
    const out = join(dir, 'runs.parquet');
    const cols = [...COLUMNS, 'objective.DRD5_activity', 'mixed_precision'];
    const r = await runCli(['export', '--db', db, '-c', cols.join(','), '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const bytes = readFileSync(out);
    const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const meta = parquetMetadata(file);
    const types = Object.fromEntries(meta.schema.slice(1).map((s) => [s.name, [s.type, s.converted_type ?? '']]));
    expect(types).toEqual({
      run_id: ['BYTE_ARRAY', 'UTF8'],
      run_name: ['BYTE_ARRAY', 'UTF8'],
      batch_size: ['INT64', ''],
      learning_rate: ['DOUBLE', ''],
      'config.mixed': ['BYTE_ARRAY', 'UTF8'],
      'summary.train/loss': ['DOUBLE', ''],
      'objective.DRD5_activity': ['DOUBLE', ''],
      mixed_precision: ['BOOLEAN', ''],
    });
    const read = (await parquetReadObjects({ file })) as Array<Record<string, unknown>>;
    const rows = await findAllRuns(store, { columns: cols });
    expect(read).toHaveLength(N);
    const expected = rows.map((row) => ({
      ...row,
      batch_size: BigInt(row['batch_size'] as number),
      'config.mixed': row['config.mixed'] === null ? null : String(row['config.mixed']),
      mixed_precision: null, // no run has it: typed by its column's declared type
    }));
    expect(read).toEqual(expected);
    expect(read.filter((x) => x['objective.DRD5_activity'] === null)).toHaveLength(Math.ceil(N / 4));
  });

  it('parquet is written in row groups of a bounded size', async () => {
    const out = join(dir, 'groups.parquet');
    const options = { columns: [...EXPORT_COLUMNS] };
    const sink = fileSink(out);
    const n = await writeParquet(
      iterateRuns(store, { ...options, pageSize: 30 }),
      sink,
      await scanColumnTypes(store, options),
      100,
    );
    await sink.close(true);
    expect(n).toBe(N);
    const bytes = readFileSync(out);
    const meta = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    // Pages of 30 are gathered until a group holds at least 100 rows.
    expect(meta.row_groups.map((g) => Number(g.num_rows))).toEqual([120, 120, 10]);
  });

  it('bad input exits 2 and leaves no file behind', async () => {
    const out = join(dir, 'never.csv');
    const r = await runCli(['export', '--db', db, '-c', 'run_id,bogus_column', '--out', out]);
    expect(r.code).toBe(2);
    expect(existsSync(out)).toBe(false);
    const f = await runCli(['export', '--db', db, '--format', 'xlsx']);
    expect(f.code).toBe(2);
    expect(f.stderr).toMatch(/csv, jsonl or parquet/);
  });
});
