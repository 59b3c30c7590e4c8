import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestNodes } from '../../src/jobs/ingest.js';
import { runCli } from '../helpers/cli.js';
import { tempStore } from '../helpers/db.js';

// The filter's doors as a user meets them: exit 2 with a message for bad input, never exit 1 (needs a build).
let path: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const temp = await tempStore();
  path = temp.path;
  const node = (name: string, method: string, loss: unknown) => ({
    name,
    displayName: name,
    state: 'finished',
    createdAt: '2026-03-01T12:00:00',
    project: { name: 'cli', entityName: 'lab' },
    config: JSON.stringify({ gradient_method: { value: method } }),
    summaryMetrics: `{"train/loss": ${JSON.stringify(loss)}}`,
  });
  await ingestNodes(temp.store, [node('r1', 'mgda', 1), node('r2', 'mgda', 'NaN'), node('r3', 'mgda', '-Infinity')]);
  await temp.store.close();
  cleanup = temp.cleanup;
});
afterAll(async () => cleanup());

describe('traindb query/compare with hostile filters', () => {
  it('rejects the tree-shaped --mongo attack with exit 2 and prints no rows', async () => {
    const attack =
      '{"kind":"compare","field":{"scope":"column","name":"status"},"op":"= status OR 1 = 1 OR status =","value":"x"}';
    const result = await runCli(['query', '--db', path, '--mongo', attack, '--format', 'json']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
  });

  it.each(['null', '5', '[]', '"x"'])('--mongo %s is exit 2', async (mongo) => {
    const result = await runCli(['query', '--db', path, '--mongo', mongo]);
    expect(result.code).toBe(2);
  });

  it.each([
    ['-c', 'run_id is null or status', /expected one field name but found 'is'/],
    ['-w', 'toString = 1', /unknown column 'toString'/],
    ['-w', "run_name ~ '(a)\\1'", /backreferences/],
    ['-w', `${'('.repeat(5000)}status = 'x'${')'.repeat(5000)}`, /200 levels/],
  ])('%s %s is exit 2', async (flag, value, message) => {
    const result = await runCli(['query', '--db', path, flag, value]);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toContain('status is null');
    expect(result.code).toBe(2);
  });

  it('compare leaves NaN and -Infinity out and says how many', async () => {
    const result = await runCli([
      'compare',
      '--db',
      path,
      '--by',
      'gradient_method',
      '--metric',
      'summary."train/loss"',
      '--format',
      'json',
    ]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([
      { gradient_method: 'mgda', n: 1, mean: 1, std: null, min: 1, max: 1, non_finite: 2, non_numeric: 0 },
    ]);
  });
});
