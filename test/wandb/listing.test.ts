import { Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { WandbRunNode } from '../../src/core/wandb-run.js';
import {
  createWandbClient,
  decodeOffsetCursor,
  offsetCursor,
  type RunsPage,
  type WandbClientOptions,
} from '../../src/wandb/index.js';
import { cursorOf, fakeWandb, makeRuns, sendJson, startServer, type Handler, type TestServer } from './server.js';

const API_KEY = 'test-key-0123456789abcdef0123456789abcdef';
let server: TestServer | undefined;
let agent: Agent | undefined;

afterEach(async () => {
  await agent?.destroy();
  await server?.close();
  server = undefined;
  agent = undefined;
});

async function setup(handler: Handler, options: Partial<WandbClientOptions> = {}) {
  server = await startServer(handler);
  agent = new Agent();
  const client = createWandbClient({
    baseUrl: server.url,
    apiKey: API_KEY,
    dispatcher: agent,
    requestsPerSecond: 1000,
    minRetryDelayMs: 5,
    maxRetryDelayMs: 20,
    ...options,
  });
  return { client, server };
}

async function collect(pages: AsyncIterable<RunsPage>): Promise<RunsPage[]> {
  const out: RunsPage[] = [];
  for await (const page of pages) out.push(page);
  return out;
}

describe('listRuns', () => {
  it('sends one POST per page with the heavy fields, Basic auth and JSON-string filters', async () => {
    const runs = makeRuns(250);
    const { client, server } = await setup(
      fakeWandb(() => runs),
      { pageSize: 100 },
    );

    const pages = await collect(client.listRuns({ entity: 'acme', project: 'vision', filters: { state: 'finished' } }));

    expect(pages.map((p) => p.runs.length)).toEqual([100, 100, 50]);
    expect(pages.map((p) => p.requestCount)).toEqual([1, 1, 1]);
    expect(pages.map((p) => p.hasNextPage)).toEqual([true, true, false]);
    expect(server.requests).toHaveLength(3);
    const [firstReq] = server.requests;
    expect(firstReq?.headers.authorization).toBe(`Basic ${Buffer.from(`api:${API_KEY}`).toString('base64')}`);
    expect(firstReq?.headers['content-type']).toBe('application/json');
    expect(firstReq?.operationName).toBe('ListRuns');
    expect(firstReq?.query).toContain('summaryMetrics');
    expect(firstReq?.query).toContain('systemMetrics');
    expect(firstReq?.variables).toMatchObject({
      entity: 'acme',
      project: 'vision',
      first: 100,
      order: '+created_at',
      filters: '{"state":"finished"}',
    });
    expect(firstReq?.variables['after'] ?? null).toBeNull();
    expect(server.requests[1]?.variables['after']).toBe(cursorOf(99));

    const all = pages.flatMap((p) => p.runs);
    expect(all.map((r) => r.name)).toEqual(runs.map((r) => r.name));
    expect(all[0]).toMatchObject({
      name: 'run0000',
      config: runs[0]?.config,
      summaryMetrics: runs[0]?.summaryMetrics,
      project: { name: 'vision', entityName: 'acme' },
      user: { username: 'alice' },
    });
    expect(client.stats()).toEqual({ requests: 3, retries: 0, rateLimited: 0, byStatus: { '200': 3 } });
  });

  it('honours a per-call page size and order', async () => {
    const { client, server } = await setup(
      fakeWandb(() => makeRuns(5)),
      { pageSize: 100 },
    );
    const pages = await collect(
      client.listRuns({ entity: 'acme', project: 'vision', pageSize: 2, order: '-heartbeat_at' }),
    );
    expect(pages.map((p) => p.runs.length)).toEqual([2, 2, 1]);
    expect(server.requests.map((r) => r.variables['first'])).toEqual([2, 2, 2]);
    expect(server.requests[0]?.variables['order']).toBe('-heartbeat_at');
  });

  it('yields each run name once when offsets shift between pages', async () => {
    // Two runs are created while paging: the second page starts two positions "early".
    let runs: WandbRunNode[] = makeRuns(6);
    const base = fakeWandb(() => runs);
    const { client } = await setup(
      (req, res) => {
        if (req.index === 1) runs = [...makeRuns(2, 'new'), ...runs];
        return base(req, res);
      },
      { pageSize: 3 },
    );
    const pages = await collect(client.listRuns({ entity: 'acme', project: 'vision' }));
    const names = pages.flatMap((p) => p.runs.map((r) => r.name));
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(expect.arrayContaining(makeRuns(6).map((r) => r.name)));
    expect(pages[1]?.runs.map((r) => r.name)).toEqual(['run0003']); // run0001, run0002 were dropped
  });

  it('resumes after a cursor', async () => {
    const runs = makeRuns(7);
    const { client, server } = await setup(
      fakeWandb(() => runs),
      { pageSize: 3 },
    );
    const first = await collect(client.listRuns({ entity: 'acme', project: 'vision' }));
    const resumeFrom = first[0]?.endCursor ?? null;
    expect(decodeOffsetCursor(resumeFrom)).toBe(2);

    const resumed = await collect(client.listRuns({ entity: 'acme', project: 'vision', startAfter: resumeFrom }));
    expect(resumed.flatMap((p) => p.runs.map((r) => r.name))).toEqual(runs.slice(3).map((r) => r.name));
    expect(server.requests.at(-2)?.variables['after']).toBe(resumeFrom);
    expect(offsetCursor(3)).toBe(resumeFrom);
    expect(offsetCursor(0)).toBeNull();
  });

  it('handles an empty project', async () => {
    const { client } = await setup(fakeWandb(() => []));
    const pages = await collect(client.listRuns({ entity: 'acme', project: 'vision' }));
    expect(pages).toEqual([{ runs: [], endCursor: null, hasNextPage: false, requestCount: 1, poisonRuns: [] }]);
  });

  it('stops with an error instead of looping when the cursor does not advance', async () => {
    const { client } = await setup((_req, res) =>
      sendJson(res, 200, {
        data: {
          project: {
            name: 'vision',
            entityName: 'acme',
            runs: { edges: [], pageInfo: { endCursor: null, hasNextPage: true } },
          },
        },
      }),
    );
    await expect(collect(client.listRuns({ entity: 'acme', project: 'vision' }))).rejects.toMatchObject({
      code: 'WANDB_BAD_RESPONSE',
    });
  });
});

describe('getRuns', () => {
  it('fetches named runs in batches with a name $in filter; missing names are absent', async () => {
    const runs = makeRuns(10);
    const { client, server } = await setup(
      fakeWandb(() => runs),
      { pageSize: 2 },
    );
    const got = await client.getRuns({
      entity: 'acme',
      project: 'vision',
      names: ['run0001', 'run0005', 'nope', 'run0009', 'run0001'],
    });

    expect(got.map((r) => r.name).sort()).toEqual(['run0001', 'run0005', 'run0009']);
    expect(got[0]?.project).toEqual({ name: 'vision', entityName: 'acme' });
    expect(server.requests).toHaveLength(2);
    expect(server.requests.map((r) => JSON.parse(String(r.variables['filters'])))).toEqual([
      { name: { $in: ['run0001', 'run0005'] } },
      { name: { $in: ['nope', 'run0009'] } },
    ]);
    expect(server.requests.map((r) => r.variables['first'])).toEqual([2, 2]);
  });

  it('sends nothing for no names', async () => {
    const { client, server } = await setup(fakeWandb(() => makeRuns(3)));
    expect(await client.getRuns({ entity: 'acme', project: 'vision', names: [] })).toEqual([]);
    expect(server.requests).toHaveLength(0);
  });
});

describe('countRuns and viewer', () => {
  it('counts runs with filters', async () => {
    const { client, server } = await setup(fakeWandb(() => makeRuns(42)));
    expect(await client.countRuns({ entity: 'acme', project: 'vision' })).toBe(42);
    expect(await client.countRuns({ entity: 'acme', project: 'vision', filters: { name: { $in: ['run0001'] } } })).toBe(
      1,
    );
    expect(server.requests.map((r) => r.operationName)).toEqual(['CountRuns', 'CountRuns']);
  });

  it('returns the viewer', async () => {
    const { client } = await setup(fakeWandb(() => []));
    expect(await client.viewer()).toMatchObject({ username: 'alice' });
  });

  it('fails on a viewer-less answer as an auth problem', async () => {
    const { client } = await setup((_req, res) => sendJson(res, 200, { data: { viewer: null } }));
    await expect(client.viewer()).rejects.toMatchObject({ code: 'WANDB_AUTH' });
  });
});
