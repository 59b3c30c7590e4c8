import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import type { createNormalizer } from '../../src/jobs/normalize-pool.js';
import { normalizeSafely, packResults, unpackResults, type NormalizeResult } from '../../src/jobs/normalize-pool.js';
import { corpus } from '../helpers/corpus.js';
import { makeRun } from '../helpers/runs.js';

const nodes: unknown[] = [
  ...corpus().map((s, i) => makeRun({ ...s, flattened: i % 2 === 0 })),
  { name: 'broken', project: { name: 'p', entityName: 'e' }, config: '{not json' },
  null,
];
const inline: NormalizeResult[] = nodes.map((n) => normalizeSafely(n, {}));

describe('normalized batches crossing the thread boundary', () => {
  it('pack then unpack gives back every result, failures included', () => {
    expect(inline.filter((r) => !r.ok)).toHaveLength(2);
    expect(unpackResults(packResults(inline))).toEqual(inline);
  });

  it('sends each distinct attribute key once per batch', () => {
    const batch = packResults(inline);
    const distinct = new Set(inline.flatMap((r) => (r.ok ? r.run.attributes.map((a) => `${a.source}:${a.path}`) : [])));
    expect(batch.paths).toHaveLength(distinct.size);
  });

  // The worker runs compiled code: `npm test` builds dist/ first.
  const compiledPool = new URL('../../dist/jobs/normalize-pool.js', import.meta.url);
  it.runIf(existsSync(compiledPool))('the worker thread returns what the main thread computes', async () => {
    const pool = (await import(compiledPool.href)) as { createNormalizer: typeof createNormalizer };
    const normalizer = pool.createNormalizer({}, true);
    try {
      expect(normalizer.threaded).toBe(true);
      const [first, second] = await Promise.all([
        normalizer.normalize(nodes.slice(0, 20)),
        normalizer.normalize(nodes.slice(20)),
      ]);
      expect([...first!, ...second!]).toEqual(inline);
    } finally {
      await normalizer.close();
    }
  });
});
