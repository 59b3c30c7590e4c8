import { Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import {
  WandbError,
  createWandbClient,
  type RunsPage,
  type WandbClientEvent,
  type WandbClientOptions,
} from '../../src/wandb/index.js';
import { serverRetryAfterMs } from '../../src/wandb/retry-policy.js';
import { fakeWandb, makeRuns, sendJson, startServer, type Handler, type TestServer } from './server.js';

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
  const events: WandbClientEvent[] = [];
  const client = createWandbClient({
    baseUrl: server.url,
    apiKey: API_KEY,
    dispatcher: agent,
    requestsPerSecond: 1000,
    minRetryDelayMs: 5,
    maxRetryDelayMs: 20,
    onEvent: (e) => events.push(e),
    ...options,
  });
  return { client, server, events };
}

/** Answers the first `failures.length` requests with the given handlers, then delegates to `then`. */
function failFirst(failures: Handler[], then: Handler): Handler {
  return (req, res) => (failures[req.index] ?? then)(req, res);
}

async function collect(pages: AsyncIterable<RunsPage>): Promise<RunsPage[]> {
  const out: RunsPage[] = [];
  for await (const page of pages) out.push(page);
  return out;
}

async function rejection(promise: Promise<unknown>): Promise<WandbError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(WandbError);
    return err as WandbError;
  }
  throw new Error('expected a rejection');
}

const count = { entity: 'acme', project: 'vision' };

describe('retries', () => {
  it('waits at least Retry-After seconds after a 429', async () => {
    const { client, server, events } = await setup(
      failFirst(
        [(_q, res) => sendJson(res, 429, { error: 'rate limit exceeded' }, { 'retry-after': '1' })],
        fakeWandb(() => makeRuns(3)),
      ),
    );
    expect(await client.countRuns(count)).toBe(3);
    const [a, b] = server.requests;
    expect((b?.at ?? 0) - (a?.at ?? 0)).toBeGreaterThanOrEqual(990);
    expect(client.stats()).toMatchObject({ requests: 2, retries: 1, rateLimited: 1, byStatus: { '429': 1, '200': 1 } });
    expect(events).toContainEqual(expect.objectContaining({ type: 'rate-limited', retryAfterMs: 1000 }));
    expect(events).toContainEqual(expect.objectContaining({ type: 'retry', status: 429, attempt: 1, delayMs: 1000 }));
  });

  it('waits at least RateLimit-Reset seconds after a 429', async () => {
    const { client, server } = await setup(
      failFirst(
        [
          (_q, res) =>
            sendJson(
              res,
              429,
              { error: 'rate limit exceeded' },
              { 'ratelimit-limit': '100', 'ratelimit-remaining': '0', 'ratelimit-reset': '1' },
            ),
        ],
        fakeWandb(() => makeRuns(3)),
      ),
    );
    expect(await client.countRuns(count)).toBe(3);
    const [a, b] = server.requests;
    expect((b?.at ?? 0) - (a?.at ?? 0)).toBeGreaterThanOrEqual(990);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2024-01-01T00:00:00Z');
    expect(serverRetryAfterMs({ 'retry-after': '2' }, now)).toBe(2000);
    expect(serverRetryAfterMs({ 'retry-after': 'Mon, 01 Jan 2024 00:00:03 GMT' }, now)).toBe(3000);
    expect(serverRetryAfterMs({ 'retry-after': '1', 'ratelimit-reset': '4' }, now)).toBe(4000);
    expect(serverRetryAfterMs({ 'retry-after': 'soon' }, now)).toBeUndefined();
    expect(serverRetryAfterMs({}, now)).toBeUndefined();
  });

  it('retries 5xx answers', async () => {
    const { client, events } = await setup(
      failFirst(
        [(_q, res) => sendJson(res, 503, { error: 'unavailable' }), (_q, res) => sendJson(res, 502, 'bad gateway')],
        fakeWandb(() => makeRuns(3)),
      ),
    );
    expect(await client.countRuns(count)).toBe(3);
    expect(client.stats()).toMatchObject({ requests: 3, retries: 2, byStatus: { '503': 1, '502': 1, '200': 1 } });
    expect(events.filter((e) => e.type === 'retry').map((e) => (e.type === 'retry' ? e.reason : ''))).toEqual([
      'HTTP 503',
      'HTTP 502',
    ]);
  });

  it('retries a body cut short by a dropped connection', async () => {
    const { client } = await setup(
      failFirst(
        [
          (_q, res) => {
            res.writeHead(200, { 'content-type': 'application/json', 'content-length': '5000' });
            res.write('{"data": {"project": {"runCou');
            setTimeout(() => res.socket?.destroy(), 20);
          },
        ],
        fakeWandb(() => makeRuns(3)),
      ),
    );
    expect(await client.countRuns(count)).toBe(3);
    expect(client.stats().retries).toBe(1);
  });

  it('retries an unparsable 200 body', async () => {
    const { client, events } = await setup(
      failFirst(
        [
          (_q, res) => {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end('{"data": {"project": {"runCou');
          },
        ],
        fakeWandb(() => makeRuns(3)),
      ),
    );
    expect(await client.countRuns(count)).toBe(3);
    expect(events).toContainEqual(expect.objectContaining({ type: 'retry', code: 'WANDB_BAD_RESPONSE' }));
  });

  it('retries a reset connection and a timed-out request', async () => {
    const { client, events } = await setup(
      failFirst(
        [
          (_q, res) => {
            res.socket?.destroy();
          },
          () => {
            /* never answers */
          },
        ],
        fakeWandb(() => makeRuns(3)),
      ),
      { timeoutMs: 300 },
    );
    expect(await client.countRuns(count)).toBe(3);
    const retries = events.filter((e) => e.type === 'retry');
    expect(retries.map((e) => (e.type === 'retry' ? e.code : ''))).toEqual(['WANDB_NETWORK', 'WANDB_TIMEOUT']);
    expect(client.stats().byStatus).toMatchObject({ network: 1, timeout: 1, '200': 1 });
  });

  it('gives up after the configured retries with the last error', async () => {
    const { client, server } = await setup((_q, res) => sendJson(res, 500, { errors: [{ message: 'boom' }] }), {
      retries: 2,
    });
    const err = await rejection(client.countRuns(count));
    expect(server.requests).toHaveLength(3);
    expect(err).toMatchObject({ code: 'WANDB_HTTP', status: 500, retryable: true, attempts: 3 });
    expect(err.message).toContain('HTTP 500');
    expect(err.message).toContain('boom');
    expect(err.message).toContain('counting runs of acme/vision');
    expect(err.message).toContain('gave up after 3 attempts');
  });

  it('stops waiting when the client signal aborts', async () => {
    const controller = new AbortController();
    const { client } = await setup((_q, res) => sendJson(res, 503, {}), {
      signal: controller.signal,
      minRetryDelayMs: 10_000,
      maxRetryDelayMs: 10_000,
    });
    const started = performance.now();
    const pending = client.countRuns(count);
    setTimeout(() => controller.abort(new Error('shutting down')), 100);
    await expect(pending).rejects.toThrow('shutting down');
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('survives an onEvent that throws', async () => {
    const { client } = await setup(
      fakeWandb(() => makeRuns(2)),
      {
        onEvent: () => {
          throw new Error('logger broke');
        },
      },
    );
    expect(await client.countRuns(count)).toBe(2);
  });
});

describe('fail fast', () => {
  it.each([401, 403])('HTTP %i is an auth error, not retried', async (status) => {
    const { client, server } = await setup((_q, res) => sendJson(res, status, { error: 'unauthorized' }));
    const err = await rejection(client.countRuns(count));
    expect(server.requests).toHaveLength(1);
    expect(err).toMatchObject({ code: 'WANDB_AUTH', status, retryable: false });
    expect(err.message).toContain(`W&B rejected the API key (HTTP ${status}) at ${server.url}: check WANDB_API_KEY`);
  });

  it('an unknown project is not found, not retried', async () => {
    const { client, server } = await setup(fakeWandb(() => makeRuns(3)));
    const err = await rejection(collect(client.listRuns({ entity: 'acme', project: 'nope' })));
    expect(server.requests).toHaveLength(1);
    expect(err.code).toBe('WANDB_NOT_FOUND');
    expect(err.message).toBe(
      `W&B project acme/nope not found at ${server.url} (check --entity/--project, and that the key can see it)`,
    );
  });

  it('HTTP 400 carries the GraphQL messages', async () => {
    const { client, server } = await setup((_q, res) =>
      sendJson(res, 400, {
        errors: [{ message: 'Cannot query field "bogus" on type "Run".', locations: [{ line: 3, column: 5 }] }],
      }),
    );
    const err = await rejection(client.countRuns(count));
    expect(server.requests).toHaveLength(1);
    expect(err).toMatchObject({ code: 'WANDB_BAD_REQUEST', status: 400, retryable: false });
    expect(err.message).toContain('Cannot query field "bogus" on type "Run".');
  });

  it('HTTP 200 with errors is a GraphQL failure, not retried', async () => {
    const { client, server } = await setup((_q, res) =>
      sendJson(res, 200, { errors: [{ message: 'permission denied' }], data: null }),
    );
    const err = await rejection(client.countRuns(count));
    expect(server.requests).toHaveLength(1);
    expect(err).toMatchObject({ code: 'WANDB_GRAPHQL', retryable: false });
    expect(err.message).toContain('permission denied');
  });

  it.each([404, 409, 410, 413, 422, 501])('HTTP %i is not retried', async (status) => {
    const { client, server } = await setup((_q, res) => sendJson(res, status, { error: 'nope' }));
    const err = await rejection(client.countRuns(count));
    expect(server.requests).toHaveLength(1);
    expect(err).toMatchObject({ status, retryable: false });
    expect(client.stats().retries).toBe(0);
  });

  it('a refused connection names the base URL', async () => {
    const { client, server } = await setup(
      fakeWandb(() => []),
      { retries: 1 },
    );
    await server.close();
    const err = await rejection(client.countRuns(count));
    expect(err.code).toBe('WANDB_NETWORK');
    expect(err.message).toContain(server.url);
    expect(err.message).toContain('ECONNREFUSED');
  });
});

describe('poison runs', () => {
  it('shrinks the page around a failing run, skips it, and returns all the others', async () => {
    const runs = makeRuns(30);
    const bad = runs[13]?.name ?? '';
    const { client, server, events } = await setup(
      fakeWandb(() => runs, { poison: new Set([bad]) }),
      { pageSize: 8, retries: 1 },
    );

    const pages = await collect(client.listRuns({ entity: 'acme', project: 'vision' }));
    const names = pages.flatMap((p) => p.runs.map((r) => r.name));
    expect(names).toEqual(runs.map((r) => r.name).filter((n) => n !== bad));

    const poison = pages.flatMap((p) => p.poisonRuns);
    expect(poison).toEqual([
      expect.objectContaining({ entity: 'acme', project: 'vision', offset: 13, name: bad, status: 500 }),
    ]);
    expect(events).toContainEqual(expect.objectContaining({ type: 'poison-run' }));
    const shrinks = events.flatMap((e) => (e.type === 'page-shrunk' ? [[e.offset, e.from, e.to]] : []));
    expect(shrinks[0]).toEqual([8, 8, 4]);
    expect(shrinks.at(-1)?.[2]).toBe(1);
    // After the skip the page size grows back to 8.
    const listRequests = server.requests.filter((r) => r.operationName === 'ListRuns');
    expect(listRequests.at(-1)?.variables['first']).toBe(8);
    // Only the poison page needed more than one request.
    expect(pages.filter((p) => p.requestCount > 1).length).toBeGreaterThan(0);
    expect(pages.reduce((n, p) => n + p.requestCount, 0)).toBe(server.requests.length);
  });

  it('reports a poison run without a name when even the light query fails for it', async () => {
    const runs = makeRuns(5);
    const bad = runs[0]?.name ?? '';
    const { client } = await setup(
      fakeWandb(() => runs, { poison: new Set([bad]), poisonBreaksProbe: true }),
      {
        pageSize: 2,
        retries: 0,
      },
    );
    const pages = await collect(client.listRuns({ entity: 'acme', project: 'vision' }));
    expect(pages.flatMap((p) => p.runs.map((r) => r.name))).toEqual(runs.slice(1).map((r) => r.name));
    const [poison] = pages.flatMap((p) => p.poisonRuns);
    expect(poison).toMatchObject({ offset: 0, after: null });
    expect(poison?.name).toBeUndefined();
  });

  it('does not skip runs when W&B fails for everything', async () => {
    const { client, events } = await setup((_q, res) => sendJson(res, 503, { error: 'down' }), {
      pageSize: 4,
      retries: 1,
    });
    const err = await rejection(collect(client.listRuns({ entity: 'acme', project: 'vision' })));
    expect(err).toMatchObject({ code: 'WANDB_HTTP', status: 503 });
    expect(err.message).toContain('nothing skipped');
    expect(events.some((e) => e.type === 'poison-run')).toBe(false);
  });

  it('isolates a poison run in getRuns too', async () => {
    const runs = makeRuns(6);
    const { client } = await setup(
      fakeWandb(() => runs, { poison: new Set(['run0002']) }),
      { pageSize: 4, retries: 0 },
    );
    const got = await client.getRuns({ entity: 'acme', project: 'vision', names: runs.map((r) => r.name) });
    expect(got.map((r) => r.name)).toEqual(['run0000', 'run0001', 'run0003', 'run0004', 'run0005']);
  });
});

describe('rate cap', () => {
  it('spaces requests: 10 requests at 20 rps take at least ~450 ms', async () => {
    const { client, server } = await setup(
      fakeWandb(() => makeRuns(1)),
      { requestsPerSecond: 20 },
    );
    const started = performance.now();
    await Promise.all(Array.from({ length: 10 }, () => client.countRuns(count)));
    expect(performance.now() - started).toBeGreaterThanOrEqual(445);
    const at = server.requests.map((r) => r.at);
    expect((at.at(-1) ?? 0) - (at[0] ?? 0)).toBeGreaterThanOrEqual(430);
  });

  it('counts retries against the same cap', async () => {
    const { client, server } = await setup(
      failFirst(
        [(_q, res) => sendJson(res, 500, {}), (_q, res) => sendJson(res, 500, {})],
        fakeWandb(() => makeRuns(1)),
      ),
      { requestsPerSecond: 10, minRetryDelayMs: 0, maxRetryDelayMs: 0 },
    );
    await client.countRuns(count);
    const at = server.requests.map((r) => r.at);
    expect((at[2] ?? 0) - (at[0] ?? 0)).toBeGreaterThanOrEqual(190);
  });
});
