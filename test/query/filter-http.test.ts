import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpServer } from '../../src/http/server.js';
import { ingestNodes } from '../../src/jobs/ingest.js';
import { tempStore } from '../helpers/db.js';
import { makeRun } from '../helpers/runs.js';

// The filter over HTTP, without a token: a tree-shaped object is never a tree, bad input is a 400.
let server: Server;
let base: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const temp = await tempStore();
  cleanup = temp.cleanup;
  await ingestNodes(temp.store, [makeRun({ name: 'a', loss: 'NaN' }), makeRun({ name: 'b', loss: 2 })]);
  server = createHttpServer({
    store: temp.store,
    checks: [],
    metrics: { contentType: 'text/plain', render: async () => '' },
    launch: async () => ({ runId: 'x', created: false, status: null }),
    annotate: async () => false,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await cleanup();
});

const ATTACK = JSON.stringify({
  kind: 'compare',
  field: { scope: 'column', name: 'status' },
  op: '= status OR 1 = 1 OR status =',
  value: 'x',
});

describe('filters over HTTP', () => {
  it.each([
    ['the tree attack on /runs', `/runs?mongo=${encodeURIComponent(ATTACK)}`],
    [
      'the tree attack on /compare',
      `/compare?by=status&metric=${encodeURIComponent('summary."train/loss"')}&mongo=${encodeURIComponent(ATTACK)}`,
    ],
    ['a column named toString', `/runs?where=${encodeURIComponent('toString = 1')}`],
    ['a column list that is not one field', `/runs?columns=${encodeURIComponent('run_id is null or status')}`],
    ['a lookbehind', `/runs?where=${encodeURIComponent("run_name ~ '(?<=a)b'")}`],
    ['5,000 parentheses', `/runs?where=${encodeURIComponent(`${'('.repeat(5000)}status = 'x'${')'.repeat(5000)}`)}`],
  ])('%s is a 400 without rows', async (_label, path) => {
    const response = await fetch(`${base}${path}`);
    const body = (await response.json()) as Record<string, unknown>;
    expect(response.status).toBe(400);
    expect(body['runs']).toBeUndefined();
    expect(body['groups']).toBeUndefined();
  });

  it('GET /compare reports the values it left out', async () => {
    const response = await fetch(
      `${base}/compare?by=gradient_method&metric=${encodeURIComponent('summary."train/loss"')}`,
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as { groups: unknown[] };
    expect(body.groups).toEqual([
      { group: 'mgda', n: 1, mean: 2, std: null, min: 2, max: 2, non_finite: 1, non_numeric: 0 },
    ]);
  });
});
