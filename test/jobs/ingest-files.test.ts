import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '../../src/db/open-store.js';
import { findRuns } from '../../src/query/find-runs.js';
import { readRunFile } from '../../src/jobs/read-run-lines.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/db.js';

// Issue 12 items 2, 9 and 10 through `traindb ingest` on real files (CLI tests run dist/: build first).
const project = { name: 'p', entityName: 'e' };
const node = (name: string, config: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ name, state: 'finished', project, config, ...extra });

let dir: string;
let cleanup: () => void;
beforeAll(() => ({ dir, cleanup } = tempDir()));
afterAll(() => cleanup());

async function load(file: string, text: string, db: string, input?: string) {
  writeFileSync(join(dir, file), text);
  return runCli(['ingest', '--file', input === undefined ? join(dir, file) : '-', '--db', join(dir, db)], { input });
}

async function query(db: string, options: Parameters<typeof findRuns>[1]) {
  const { store } = await openStore(join(dir, db));
  try {
    return await findRuns(store, options);
  } finally {
    await store.close();
  }
}

describe('export files (issue 12 item 10)', () => {
  const lines = [node('a', '{"lr": 1}'), '{"name": "b", oops', node('c', '{"lr": 3}')].join('\n');

  it('a .json file holding JSON lines: the bad line fails alone, the others are written', async () => {
    const result = await load('lines.json', lines, 'lines.sqlite');
    expect(result.stderr).toMatch(/failed: run b: line 2: not valid JSON/);
    expect(result.stdout).toMatch(/2 new, .* 1 failed/);
    expect(result.code).toBe(3);
  });

  it('standard input holding JSON lines: the same', async () => {
    const result = await load('stdin.txt', '', 'stdin.sqlite', lines);
    expect(result.stderr).toMatch(/failed: run b: line 2: not valid JSON/);
    expect(result.stdout).toMatch(/2 new, .* 1 failed/);
  });

  it('a JSON array is streamed element by element: a bad element fails alone with its number', async () => {
    const text = `[${node('a', '{}')}, {"name": "b", "x": tru}, 7, ${node('c', '{}')}]`;
    const result = await load('array.json', text, 'array.sqlite');
    expect(result.stderr).toMatch(/failed: run b: element 2: not valid JSON/);
    expect(result.stderr).toMatch(/failed: run \(element 3\): not a JSON object/);
    expect(result.stdout).toMatch(/2 new, .* 2 failed/);
  });

  it('a GraphQL response and {"runs": [...]} are read by content, whatever the file name', async () => {
    const graphql = JSON.stringify({ data: { project: { runs: { edges: [{ node: JSON.parse(node('g', '{}')) }] } } } });
    expect((await load('export.jsonl', graphql, 'gql.sqlite')).stdout).toMatch(/1 new/);
    expect((await load('export.txt', `{"runs": [${node('r', '{}')}]}`, 'gql.sqlite')).stdout).toMatch(/1 new/);
  });

  it('an array larger than the read buffer is streamed across chunk boundaries, multi-byte characters intact', async () => {
    const runs = Array.from({ length: 400 }, (_, i) =>
      JSON.parse(node(`r${i}`, JSON.stringify({ note: `é€🙂"\\ ${'x'.repeat(8000)}`, i }))),
    );
    const path = join(dir, 'large.json');
    writeFileSync(path, JSON.stringify(runs));
    const failures: Array<{ run: string; reason: string }> = [];
    const read: Array<{ name: string; config: string }> = [];
    for await (const n of readRunFile(path, failures)) read.push(n as { name: string; config: string });
    expect(failures).toEqual([]);
    expect(read.map((r) => r.name)).toEqual(runs.map((r: { name: string }) => r.name));
    expect(read.every((r, i) => r.config === runs[i].config)).toBe(true);
  });

  it('a file that is not JSON at all is bad input (exit 2), named with how it starts', async () => {
    const result = await load('runs.csv', 'name,lr\na,1\n', 'csv.sqlite');
    expect(result.stderr).toMatch(/runs\.csv: not a W&B export: .*line 1 starts with "name,lr"/);
    expect(result.code).toBe(2);
  });

  it('a 200,000-deep line fails alone; the runs around it are written', async () => {
    const deep = `{"name": "deep", "config": ${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
    const result = await load('deep.jsonl', [node('a', '{}'), deep, node('c', '{}')].join('\n'), 'deep.sqlite');
    expect(result.stderr).toMatch(/failed: run deep: line 2: nested more than 510 levels deep/);
    expect(result.stdout).toMatch(/2 new, .* 1 failed/);
    expect(result.code).toBe(3);
  });

  it('a config deeper than 500 levels fails its run alone; config.* queries keep working database-wide', async () => {
    const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const text = [
      node('too-deep', nested(600)),
      // A dotted key is nesting too: 2 + 599 levels.
      node('dotted', JSON.stringify({ x: { [Array.from({ length: 600 }, () => 'k').join('.')]: 1 } })),
      node('deep-ok', nested(400)),
      node('flat', '{"a": 5}'),
    ].join('\n');
    const result = await load('nested.jsonl', text, 'nested.sqlite');
    expect(result.stderr).toMatch(/failed: run too-deep: config is nested more than 500 levels deep/);
    expect(result.stderr).toMatch(/failed: run dotted: config is nested more than 500 levels deep/);
    expect(result.stdout).toMatch(/2 new, .* 2 failed/);
    const rows = await query('nested.sqlite', { columns: ['run_id', 'config.a'], order: ['config.a'], limit: 10 });
    expect(rows.map((r) => r['run_id'])).toEqual(expect.arrayContaining(['e/p/deep-ok', 'e/p/flat']));
  });
});

describe('what is stored for non-finite and big numbers (issue 12 item 9)', () => {
  it('inline config and summary keep NaN/Infinity, and config keeps integers beyond 2^53 exactly', async () => {
    const text = [
      '{"name": "inline", "project": {"name": "p", "entityName": "e"}, "config": {"lr": NaN, "cap": Infinity, "seed": 9007199254740993},',
      ' "summaryMetrics": {"loss": -Infinity, "big": 18446744073709551615}}',
    ].join('');
    const wire = node('wire', '{"seed": {"value": 9007199254740993}, "lr": {"value": NaN}}', {
      summaryMetrics: '{"big": 9007199254740993}',
    });
    const result = await load('numbers.jsonl', `${text}\n${wire}`, 'numbers.sqlite');
    expect(result.code).toBe(0);
    const rows = await query('numbers.sqlite', {
      columns: ['run_id', 'config_json', 'final_metrics_json'],
      order: ['run_id'],
      limit: 10,
    });
    expect(rows.map((r) => r['run_id'])).toEqual(['e/p/inline', 'e/p/wire']);
    expect(rows[0]!['config_json']).toBe('{"lr":"NaN","cap":"Infinity","seed":9007199254740993}');
    expect(rows[0]!['final_metrics_json']).toBe('{"loss":"-Infinity","big":18446744073709551615}');
    expect(rows[1]!['config_json']).toBe('{"seed":9007199254740993,"lr":"NaN"}');
    expect(rows[1]!['final_metrics_json']).toBe('{"big": 9007199254740993}');
    // The index holds the nearest double, so a comparison with the number finds it.
    const found = await query('numbers.sqlite', { where: 'config.seed > 9007199254740990', columns: ['run_id'] });
    expect(found.map((r) => r['run_id']).sort()).toEqual(['e/p/inline', 'e/p/wire']);
  });
});

describe('prototype keys through a file and a query (issue 12 item 2)', () => {
  it('config."__proto__".x is stored and found; later runs keep their attributes', async () => {
    const text = [
      node('proto', '{"x.__proto__.loop.y": 1, "__proto__": {"x": 7}, "constructor": {"prototype": 3}}'),
      node('later', '{"loop": {"y": 2}, "lr": 5}'),
    ].join('\n');
    const result = await load('proto.jsonl', text, 'proto.sqlite');
    expect(result.code).toBe(0);
    const ids = async (where: string) =>
      (await query('proto.sqlite', { where, columns: ['run_id'] })).map((r) => r['run_id']);
    expect(await ids('config."__proto__".x = 7')).toEqual(['e/p/proto']);
    expect(await ids('config.x."__proto__".loop.y = 1')).toEqual(['e/p/proto']);
    expect(await ids('config.loop.y = 2')).toEqual(['e/p/later']);
    expect(await ids('config.lr = 5')).toEqual(['e/p/later']);
  });
});
