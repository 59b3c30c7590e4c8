import { writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corpus } from '../helpers/corpus.js';
import { tempDir } from '../helpers/db.js';
import { makeRun } from '../helpers/runs.js';
import { runCli } from '../helpers/cli.js';

let dir: string;
let cleanup: () => void;
let db: string;

beforeAll(async () => {
  ({ dir, cleanup } = tempDir());
  db = join(dir, 'cli.sqlite');
  const nodes = corpus().map((s) => makeRun(s));
  // JSON lines, with one malformed run in the middle.
  const lines = nodes.map((n) => JSON.stringify(n));
  lines.splice(3, 0, JSON.stringify({ ...makeRun({ name: 'broken' }), config: '{oops' }));
  lines.splice(10, 0, '{"name": "cut-off", "config": ');
  writeFileSync(join(dir, 'runs.jsonl'), lines.join('\n'));
  writeFileSync(join(dir, 'runs.json'), JSON.stringify({ runs: nodes.slice(0, 5) }));
});
afterAll(() => cleanup());

describe('traindb CLI', () => {
  it('lists every command in --help', async () => {
    const { code, stdout } = await runCli(['--help']);
    expect(code).toBe(0);
    for (const command of [
      'ingest',
      'backfill',
      'query',
      'compare',
      'attributes',
      'objectives',
      'migrate',
      'compact',
      'dev',
    ]) {
      expect(stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    }
  });

  it('ingests a JSON-lines export, reporting the bad run and exiting 3 (partial)', async () => {
    const result = await runCli(['ingest', '--file', join(dir, 'runs.jsonl'), '--db', db]);
    expect(result.stderr).toMatch(/failed: run broken: config is not valid JSON/);
    // A broken line is named by the run name it shows, and by its line number.
    expect(result.stderr).toMatch(/failed: run cut-off: line 11: not valid JSON/);
    expect(result.stdout).toMatch(/ingested 50 runs .*: 48 new, 0 updated, 0 unchanged, 0 older than stored, 2 failed/);
    expect(result.code).toBe(3);
    const again = await runCli(['ingest', '--file', join(dir, 'runs.json'), '--db', db, '--batch-size', '2']);
    expect(again.stdout).toMatch(/0 new, 0 updated, 5 unchanged/);
    expect(again.code).toBe(0);
  });

  it('refuses a --batch-size that is not a whole number >= 1, naming the value', async () => {
    const result = await runCli(['ingest', '--file', join(dir, 'runs.json'), '--db', db, '--batch-size', '0.5']);
    expect(result.stderr).toMatch(/--batch-size must be a whole number >= 1, got 0\.5/);
    expect(result.code).not.toBe(0);
  });

  it('queries with the filter language in json and csv', async () => {
    const { code, stdout } = await runCli([
      'query',
      '--db',
      db,
      '-w',
      "gradient_method = 'mgda' and config.training.gradient_accumulation_steps > 4",
      '-c',
      'run_id,config.training.gradient_accumulation_steps',
      '--format',
      'json',
      '-n',
      '1000',
    ]);
    expect(code).toBe(0);
    const rows = JSON.parse(stdout) as Array<Record<string, unknown>>;
    const expected = corpus().filter((s) => s.gradient_method === 'mgda' && (s.gas ?? 1) > 4);
    expect(rows).toHaveLength(expected.length);
    expect(rows.every((r) => Number(r['config.training.gradient_accumulation_steps']) > 4)).toBe(true);
    const csv = await runCli([
      'query',
      '--db',
      db,
      '-w',
      'objective.DRD5_activity > 0.9',
      '-c',
      'run_id,objective.DRD5_activity',
      '--format',
      'csv',
    ]);
    expect(csv.stdout.split('\n')[0]).toBe('run_id,objective.DRD5_activity');
  });

  it('accepts a W&B Mongo filter', async () => {
    const { code, stdout } = await runCli([
      'query',
      '--db',
      db,
      '--mongo',
      '{"config.training.batch_size": {"$gte": 128}}',
      '--format',
      'json',
      '-n',
      '1000',
    ]);
    expect(code).toBe(0);
    expect((JSON.parse(stdout) as unknown[]).length).toBe(corpus().filter((s) => Number(s.batch_size) >= 128).length);
  });

  it('explains a filter: the SQL and an index search, not a scan of training_runs', async () => {
    const { code, stdout } = await runCli([
      'query',
      '--db',
      db,
      '-w',
      'config.training.gradient_accumulation_steps > 4',
      '--explain',
    ]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/SQL:/);
    expect(stdout).toMatch(/SEARCH run_attributes USING PRIMARY KEY/);
  });

  it('points at the offending token of a bad filter and exits 2', async () => {
    const { code, stderr } = await runCli(['query', '--db', db, '-w', 'batch_size >= and x']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/batch_size >= and x\n\s+\^/);
  });

  it('compares groups', async () => {
    const { code, stdout } = await runCli([
      'compare',
      '--db',
      db,
      '--by',
      'gradient_method',
      '--objective',
      'DRD5_activity',
      '--format',
      'json',
    ]);
    expect(code).toBe(0);
    const rows = JSON.parse(stdout) as Array<{ gradient_method: string; n: number }>;
    expect(rows.map((r) => r.gradient_method).sort()).toEqual(['aligned_mtl', 'imtlg', 'mgda', 'pcgrad']);
    expect(rows.reduce((a, r) => a + r.n, 0)).toBe(48);
  });

  it('lists attributes and objectives, and migrates idempotently', async () => {
    const attrs = await runCli(['attributes', '--db', db, '--source', 'config', '--format', 'csv']);
    expect(attrs.stdout).toContain('config.training.gradient_accumulation_steps');
    const objectives = await runCli(['objectives', '--db', db, '--format', 'json']);
    expect((JSON.parse(objectives.stdout) as Array<{ objective_name: string }>).map((o) => o.objective_name)).toContain(
      '5-HT2A_activity',
    );
    const migrate = await runCli(['migrate', '--db', db]);
    expect(migrate.stdout).toMatch(/up to date/);
  });

  it('uses DATABASE_URL when --db is absent', async () => {
    const { code, stdout } = await runCli(['query', '-c', 'run_id', '-n', '1', '--format', 'json'], {
      env: { DATABASE_URL: db },
    });
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toHaveLength(1);
  });

  it('refuses a backfill without an API key, with the fix', async () => {
    const { code, stderr } = await runCli([
      'backfill',
      '--entity',
      'e',
      '--project',
      'p',
      '--db',
      join(dir, 'x.sqlite'),
    ]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/WANDB_API_KEY is not set/);
  });
});

describe('npm run demo', () => {
  it('runs emulator, backfill and the seed queries with no credentials', async () => {
    const demoDb = join(dir, 'demo.sqlite');
    const { code, stdout } = await runCli(['demo', '--runs', '60', '--db', demoDb]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/backfill: 60 runs written/);
    expect(stdout).toMatch(/Seed SQL: runs where COMT_activity > 0.8/);
    expect(stdout).toMatch(/traindb compare --by gradient_method --objective DRD5_activity/);
    const check = await runCli(['query', '--db', demoDb, '-c', 'run_id', '-n', '1000', '--format', 'json']);
    expect((JSON.parse(check.stdout) as unknown[]).length).toBe(60);
  });
});

describe('a database path that does not exist', () => {
  it('is an error for read commands, not an empty answer', async () => {
    const missing = join(dir, 'typo.sqlite');
    const { code, stderr } = await runCli(['query', '--db', missing]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/no database at .*typo\.sqlite/);
    const { existsSync } = await import('node:fs');
    expect(existsSync(missing)).toBe(false);
  });
});

describe('traindb compact', () => {
  it('gives back free pages and leaves every answer as it was', async () => {
    const file = join(dir, 'compact.sqlite');
    expect((await runCli(['ingest', '--file', join(dir, 'runs.json'), '--db', file])).code).toBe(0);
    // Free pages, as a big load's page splits or a dropped table leave them.
    const raw = new Database(file);
    raw.exec(
      "CREATE TABLE junk AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) SELECT i, printf('%0200d', i) AS pad FROM n; DROP TABLE junk;",
    );
    raw.close();
    const answer = () => runCli(['query', '--db', file, '-c', 'run_id,objective.DRD5_activity', '--format', 'json']);
    const before = await answer();

    const { code, stdout } = await runCli(['compact', '--db', file]);
    expect(code).toBe(0);
    const m = /compacted .*compact\.sqlite: ([\d.]+) MB -> ([\d.]+) MB in [\d.]+ s/.exec(stdout);
    expect(m).not.toBeNull();
    expect(Number(m![1]) - Number(m![2])).toBeGreaterThan(3);
    const after = await answer();
    expect(after.stdout).toBe(before.stdout);
    expect(JSON.parse(after.stdout)).toHaveLength(5);
  });

  it('refuses a database that does not exist', async () => {
    const { code, stderr } = await runCli(['compact', '--db', join(dir, 'nope.sqlite')]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/no database at/);
  });
});
