import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import type { createNormalizer } from '../../src/jobs/normalize-pool.js';
import { normalizeSafely, packResults, unpackResults, type NormalizeResult } from '../../src/jobs/normalize-pool.js';
import { corpus } from '../helpers/corpus.js';
import { makeRun } from '../helpers/runs.js';
import { ingestNodes } from '../../src/jobs/ingest.js';
import { tempStore } from '../helpers/db.js';

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

describe('a normalization worker that dies (issue 12 item 15)', () => {
  const compiledPool = new URL('../../dist/jobs/normalize-pool.js', import.meta.url);
  it.runIf(existsSync(compiledPool))('rejects the pending batch and every later one with the reason', async () => {
    const pool = (await import(compiledPool.href)) as { createNormalizer: typeof createNormalizer };
    const normalizer = pool.createNormalizer({}, true, { exitOnBatch: 1 });
    try {
      expect(await normalizer.normalize(nodes.slice(0, 2))).toHaveLength(2);
      await expect(normalizer.normalize(nodes.slice(2, 4))).rejects.toThrow(
        /the normalization worker stopped \(exit code 7\) with 1 batch\(es\) unanswered/,
      );
      await expect(normalizer.normalize(nodes.slice(4, 6))).rejects.toThrow(/exit code 7/);
    } finally {
      await normalizer.close();
    }
  });

  it.runIf(existsSync(compiledPool))('a node too deep to send to the worker fails alone', async () => {
    const pool = (await import(compiledPool.href)) as { createNormalizer: typeof createNormalizer };
    const normalizer = pool.createNormalizer({}, true);
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    try {
      const results = await normalizer.normalize([
        { name: 'deep', project: { name: 'p', entityName: 'e' }, config: { a: deep } },
        nodes[0],
      ]);
      expect(results[0]).toMatchObject({
        ok: false,
        run: 'deep',
        error: expect.stringMatching(/nested more than 500/),
      });
      expect(results[1]).toMatchObject({ ok: true });
    } finally {
      await normalizer.close();
    }
  });

  it.runIf(existsSync(compiledPool))(
    'an ingest whose worker dies fails with the reason; running it again completes it',
    async () => {
      const pool = (await import(compiledPool.href)) as { createNormalizer: typeof createNormalizer };
      const { store, cleanup } = await tempStore();
      const runs = Array.from({ length: 30 }, (_, i) => makeRun({ name: `w${i}` }));
      const normalizer = pool.createNormalizer({}, true, { exitOnBatch: 2 });
      try {
        await expect(ingestNodes(store, runs, { batchSize: 5, normalizer })).rejects.toThrow(
          /the normalization worker stopped \(exit code 7\)/,
        );
        const { n } = (await store.all('SELECT count(*) AS n FROM training_runs'))[0] as { n: number };
        expect(n).toBeGreaterThan(0);
        expect(n).toBeLessThan(30);
        const again = await ingestNodes(store, runs, { batchSize: 5, parallel: true });
        expect(again.inserted + again.unchanged).toBe(30);
        expect(again.unchanged).toBe(n);
      } finally {
        await normalizer.close();
        await cleanup();
      }
    },
  );
});
