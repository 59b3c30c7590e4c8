import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { displayWidth } from '../../src/cli/format.js';
import { tempDir } from '../helpers/db.js';
import { makeRun } from '../helpers/runs.js';
import { runCli } from '../helpers/cli.js';

// Values a W&B project member (or anyone who can write a run) controls, aimed at whoever reads the output.
const ESC_RED = '\u001b[31mred\u001b[0m\u0007';
const BIDI = 'a\u202eb\u0085c\u007fd\u2066e';
const CJK = '模型训练';

// Every character that must never reach a terminal raw.
const RAW_UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

let dir: string;
let cleanup: () => void;
let db: string;

beforeAll(async () => {
  ({ dir, cleanup } = tempDir());
  db = join(dir, 'hostile.sqlite');
  const runs = [
    makeRun({
      name: 'esc',
      gradient_method: ESC_RED,
      host: BIDI,
      learning_rate: -0.5,
      batch_size: '=1+2',
      tags: ['@SUM(A1)'],
    }),
    makeRun({ name: 'wide', gradient_method: CJK, host: '-cmd', learning_rate: 0.1, batch_size: '-0.5', tags: ['+x'] }),
  ];
  writeFileSync(join(dir, 'runs.json'), JSON.stringify(runs));
  const ingest = await runCli(['ingest', '--file', join(dir, 'runs.json'), '--db', db]);
  expect(ingest.code).toBe(0);
});
afterAll(() => cleanup());

const COLUMNS = 'run_name,gradient_method,host,config.training.learning_rate,config.training.batch_size';
const query = (...args: string[]) => runCli(['query', '--db', db, '-c', COLUMNS, '-o', 'run_name', ...args]);

describe('table output of hostile stored values', () => {
  it('escapes control and bidi characters visibly and keeps the columns aligned', async () => {
    const { code, stdout } = await query();
    expect(code).toBe(0);
    expect(stdout).not.toMatch(RAW_UNSAFE);
    expect(stdout).toContain('\\x1b[31mred\\x1b[0m\\x07');
    expect(stdout).toContain('a\\u202eb\\x85c\\x7fd\\u2066e');
    expect(stdout).toContain(CJK);
    // Each cell starts at the display column of its header, wide characters counted twice.
    const lines = stdout.split('\n');
    const header = lines[0]!;
    const hostColumn = header.indexOf('host');
    for (const [line, host] of [
      [lines.find((l) => l.includes('run-esc'))!, 'a\\u202e'],
      [lines.find((l) => l.includes('run-wide'))!, '-cmd'],
    ] as const) {
      expect(displayWidth(line.slice(0, line.indexOf(host)))).toBe(hostColumn);
    }
  });
});

describe('CSV output', () => {
  it('neutralizes text cells a spreadsheet would run as a formula; numbers stay numbers', async () => {
    const { code, stdout } = await query('--format', 'csv');
    expect(code).toBe(0);
    const [, esc, wide] = stdout.split('\n');
    // run-esc: learning_rate is the number -0.5; batch_size is the text "=1+2".
    expect(esc).toMatch(/,-0\.5,'=1\+2$/);
    // run-wide: "-cmd" is text starting with -, "-0.5" is text that is a plain number.
    expect(wide).toBe(`run-wide,${CJK},'-cmd,0.1,-0.5`);
  });

  it('neutralizes tags too', async () => {
    const { stdout } = await runCli(['query', '--db', db, '-c', 'run_name,tags', '-o', 'run_name', '--format', 'csv']);
    expect(stdout).toContain("'@SUM(A1)");
    expect(stdout).toContain("'+x");
  });

  it('gives the stored text unchanged with --csv-raw, control characters included when not on a terminal', async () => {
    const { code, stdout } = await query('--format', 'csv', '--csv-raw');
    expect(code).toBe(0);
    const [, esc, wide] = stdout.split('\n');
    expect(esc).toBe(`run-esc,${ESC_RED},${BIDI},-0.5,=1+2`);
    expect(wide).toBe(`run-wide,${CJK},-cmd,0.1,-0.5`);
  });

  it.skipIf(!hasScript())('escapes control characters when printed to a terminal', () => {
    // `script` gives the CLI a pseudo-terminal as stdout, as a user's shell does.
    const bin = join(import.meta.dirname, '../../bin/traindb.js');
    const command = [process.execPath, bin, 'query', '--db', db, '-c', COLUMNS, '-o', 'run_name', '--format', 'csv']
      .map((a) => `'${a.replace(/'/g, `'\\''`)}'`)
      .join(' ');
    const result = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', env: process.env });
    expect(result.status).toBe(0);
    const out = result.stdout.replace(/\r\n/g, '\n');
    expect(out).not.toMatch(RAW_UNSAFE);
    expect(out).toContain('\\x1b[31mred');
    expect(out).toContain("'=1+2");
  });
});

describe('JSON output', () => {
  it('escapes the characters JSON.stringify leaves raw (DEL, C1, bidi) and parses back to the stored values', async () => {
    const { code, stdout } = await query('--format', 'json');
    expect(code).toBe(0);
    expect(stdout).not.toMatch(RAW_UNSAFE);
    const rows = JSON.parse(stdout) as Array<Record<string, unknown>>;
    expect(rows[0]).toMatchObject({
      run_name: 'run-esc',
      gradient_method: ESC_RED,
      host: BIDI,
      'config.training.learning_rate': -0.5,
      'config.training.batch_size': '=1+2',
    });
  });
});

describe('error messages', () => {
  it('escape stored text they quote (a suggested attribute path)', async () => {
    const file = join(dir, 'keys.json');
    const node = makeRun({ name: 'keys' });
    const config = JSON.parse(node.config as string) as Record<string, unknown>;
    config['evil\u001b'] = { value: 1 };
    writeFileSync(file, JSON.stringify([{ ...node, config: JSON.stringify(config) }]));
    expect((await runCli(['ingest', '--file', file, '--db', db])).code).toBe(0);
    // One edit away from the stored key, so the error suggests it.
    const { code, stderr } = await runCli(['query', '--db', db, '-w', 'config.evil = 1']);
    expect(code).toBe(2);
    expect(stderr).not.toMatch(RAW_UNSAFE);
    expect(stderr).toContain('evil\\x1b');
  });
});

describe('ingest reports', () => {
  it('escape the run names and reasons they quote from the file', async () => {
    const file = join(dir, 'bad-run.json');
    writeFileSync(file, JSON.stringify([{ ...makeRun({ name: 'x\u001b[2Jwipe\u202e' }), config: '{oops' }]));
    const { code, stderr } = await runCli(['ingest', '--file', file, '--db', db]);
    expect(code).toBe(1);
    expect(stderr).not.toMatch(RAW_UNSAFE);
    expect(stderr).toContain('failed: run x\\x1b[2Jwipe\\u202e');
  });
});

function hasScript(): boolean {
  return spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
}
