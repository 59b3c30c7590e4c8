import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TraindbError } from '../../src/core/errors.js';
import { cliHint } from '../../src/cli/hints.js';
import { tempDir } from '../helpers/db.js';
import { makeRun } from '../helpers/runs.js';
import { runCli } from '../helpers/cli.js';

let dir: string;
let cleanup: () => void;
let db: string;

beforeAll(async () => {
  ({ dir, cleanup } = tempDir());
  db = join(dir, 'bad-input.sqlite');
  const node = makeRun({ name: 'r1', tags: ['baseline'], objectives: { DRD5_activity: ['maximize', 0.7] } });
  const summary = JSON.parse(node.summaryMetrics as string) as Record<string, unknown>;
  // Keys the filter only reads quoted: a space, a quote, a backslash.
  summary['train loss'] = 0.25;
  summary['say "hi"\\now'] = 1;
  writeFileSync(join(dir, 'runs.json'), JSON.stringify([{ ...node, summaryMetrics: JSON.stringify(summary) }]));
  expect((await runCli(['ingest', '--file', join(dir, 'runs.json'), '--db', db])).code).toBe(0);
});
afterAll(() => cleanup());

/** Exit 2, one `traindb:` line naming `named`, and no stack trace. */
function expectUsageError(result: { code: number | null; stderr: string }, named: string | RegExp): void {
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/^traindb: /);
  if (typeof named === 'string') expect(result.stderr).toContain(named);
  else expect(result.stderr).toMatch(named);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

describe('--mongo that is JSON but not an object', () => {
  for (const value of ['null', '5', '[]', '"x"', 'true']) {
    it(`--mongo ${value} is exit 2 naming the value`, async () => {
      const result = await runCli(['query', '--db', db, '--mongo', value]);
      expectUsageError(result, `--mongo must be a JSON object`);
      expect(result.stderr).toContain(`: ${value}`);
    });
  }

  it('--mongo that is not JSON is exit 2 with the text as typed', async () => {
    expectUsageError(await runCli(['query', '--db', db, '--mongo', '{bad']), /--mongo is not valid JSON .*: \{bad$/m);
  });

  it('--where and --mongo together is exit 2, not one silently ignored', async () => {
    const result = await runCli(['query', '--db', db, '--where', "status = 'x'", '--mongo', '{}']);
    expectUsageError(result, '--where or --mongo');
  });
});

describe('flag values', () => {
  for (const value of ['abc', '1e3', '2.5', '', '-1', '0x10']) {
    it(`query --limit '${value}' is exit 2 naming the value`, async () => {
      expectUsageError(
        await runCli(['query', '--db', db, '--limit', value]),
        `--limit must be a whole number >= 1, got '${value}'`,
      );
    });
  }

  it('demo --runs abc is exit 2 and leaves the demo database alone', async () => {
    const demoDb = join(dir, 'demo.sqlite');
    writeFileSync(demoDb, 'keep me');
    expectUsageError(
      await runCli(['demo', '--runs', 'abc', '--db', demoDb]),
      "--runs must be a whole number >= 1, got 'abc'",
    );
    expect(readFileSync(demoDb, 'utf8')).toBe('keep me');
  });

  it('a PostgreSQL URL (not supported yet) is exit 2 and never prints the password', async () => {
    const result = await runCli(['query', '--db', 'postgres://u:s3cret@localhost/db']);
    expectUsageError(result, 'postgres://u:***@localhost/db');
    expect(result.stderr).not.toContain('s3cret');
  });
});

describe('traindb attributes', () => {
  it('--source bogus is exit 2 naming the accepted sources', async () => {
    expectUsageError(
      await runCli(['attributes', '--db', db, '--source', 'bogus']),
      "--source must be one of config, summary, system, meta, got 'bogus'",
    );
  });

  it('--source meta lists tags as the filter spells it', async () => {
    const { code, stdout } = await runCli(['attributes', '--db', db, '--source', 'meta', '--format', 'json']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual([{ field: 'tags' }]);
  });

  it('lists only fields the query accepts, quoting keys that need it', async () => {
    const { code, stdout } = await runCli(['attributes', '--db', db, '--format', 'json']);
    expect(code).toBe(0);
    const fields = (JSON.parse(stdout) as Array<{ field: string }>).map((r) => r.field);
    expect(fields).toContain('tags');
    expect(fields).toContain('summary."train loss"');
    expect(fields).toContain('summary."say \\"hi\\"\\\\now"');
    expect(fields).toContain('summary.train/loss');
    // Every listed field, as printed, is a field the query language accepts.
    const query = await runCli(['query', '--db', db, '-c', fields.join(','), '--format', 'json']);
    expect(query.stderr).toBe('');
    expect(query.code).toBe(0);
    const [row] = JSON.parse(query.stdout) as Array<Record<string, unknown>>;
    expect(row).toMatchObject({ 'summary.train loss': 0.25, tags: 'baseline' });
    // And in a filter.
    const where = await runCli(['query', '--db', db, '-w', `tags = 'baseline' and summary."train loss" < 1`]);
    expect(where.code).toBe(0);
    expect(where.stdout).toMatch(/\(1 row\)/);
  });
});

describe('traindb --version', () => {
  it('prints the version of the installed package, from any directory', async () => {
    // An installed copy (what `files` in package.json ships) with its own version; run from elsewhere.
    const root = join(import.meta.dirname, '../..');
    const installed = mkdtempSync(join(root, '.tmp-installed-'));
    try {
      for (const part of ['bin', 'dist']) cpSync(join(root, part), join(installed, part), { recursive: true });
      const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
      writeFileSync(join(installed, 'package.json'), JSON.stringify({ ...pkg, version: '9.8.7-test' }));
      const { spawnSync } = await import('node:child_process');
      const run = spawnSync(process.execPath, [join(installed, 'bin/traindb.js'), '--version'], {
        cwd: dir,
        encoding: 'utf8',
      });
      expect(run.status).toBe(0);
      expect(run.stdout.trim()).toBe('9.8.7-test');
    } finally {
      rmSync(installed, { recursive: true, force: true });
    }
    const ours = await runCli(['-V']);
    expect(ours.code).toBe(0);
    expect(ours.stdout.trim()).toBe(
      (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version,
    );
  });
});

describe('a database that does not exist', () => {
  const reads: Array<[string, string[]]> = [
    ['query', ['query']],
    ['compare', ['compare', '--by', 'gradient_method', '--objective', 'DRD5_activity']],
    ['attributes', ['attributes']],
    ['objectives', ['objectives']],
    ['compact', ['compact']],
    ['annotate', ['annotate', 'r1', '--blog-post-url', 'https://example.com']],
  ];
  for (const [name, args] of reads) {
    it(`${name} refuses it with exit 2, names the path and how to create one, and creates nothing`, async () => {
      const missing = join(dir, `missing-${name}`, 'typo.sqlite');
      const result = await runCli([...args, '--db', missing]);
      expectUsageError(result, `no database at ${missing}`);
      expect(result.stderr).toContain('traindb migrate');
      expect(existsSync(join(dir, `missing-${name}`))).toBe(false);
    });
  }

  it('migrate and ingest create it', async () => {
    const made = join(dir, 'made', 'by-migrate.sqlite');
    expect((await runCli(['migrate', '--db', made])).code).toBe(0);
    expect(existsSync(made)).toBe(true);
    const ingested = join(dir, 'made', 'by-ingest.sqlite');
    expect((await runCli(['ingest', '--file', join(dir, 'runs.json'), '--db', ingested])).code).toBe(0);
    expect(existsSync(ingested)).toBe(true);
  });

  it("another program's SQLite file is exit 2 and gets no traindb tables", async () => {
    const other = join(dir, 'other.db');
    const raw = new Database(other);
    raw.exec('CREATE TABLE notes (x TEXT)');
    raw.close();
    expectUsageError(await runCli(['query', '--db', other]), `${other} holds no traindb database`);
    const check = new Database(other, { readonly: true });
    expect(check.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all()).toEqual([{ name: 'notes' }]);
    check.close();
  });

  it('a file that is not a database is exit 2 and left untouched', async () => {
    const notDb = join(dir, 'notes.txt');
    writeFileSync(notDb, 'just some notes\n');
    expectUsageError(await runCli(['query', '--db', notDb]), `${notDb} is not a SQLite database`);
    expect(readFileSync(notDb, 'utf8')).toBe('just some notes\n');
  });
});

describe('hints the CLI adds to errors from lower layers', () => {
  it('names the listing command for an unknown attribute from its details', () => {
    const error = (source: string) =>
      new TraindbError('UNKNOWN_ATTRIBUTE', 'no run has that field', { details: { field: 'x', source } });
    expect(cliHint(error('config'))).toBe('list them with: traindb attributes --source config');
    expect(cliHint(error('meta'))).toBe('list them with: traindb attributes --source meta');
    expect(cliHint(error('objective'))).toBe('list them with: traindb objectives');
  });

  it('prints the hint on its own line for a real unknown field', async () => {
    const config = await runCli(['query', '--db', db, '-w', 'config.nope = 1']);
    expectUsageError(config, 'list them with: traindb attributes --source config');
    const objective = await runCli(['query', '--db', db, '-w', 'objective.nope > 1']);
    expectUsageError(objective, 'list them with: traindb objectives');
  });
});
