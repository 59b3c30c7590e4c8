import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReadPool } from '../../src/app/read-pool.js';
import type { RunStore } from '../../src/db/store.js';
import { createHttpServer, type HttpDeps } from '../../src/http/server.js';
import { ingestNodes } from '../../src/jobs/ingest.js';
import { annotateRun, launchInputFromBody, registerLaunch } from '../../src/jobs/launch.js';
import { tempStore } from '../helpers/db.js';
import { makeRun } from '../helpers/runs.js';
import { testPool } from './read-pool-helper.js';

const API_TOKEN = 'api-0123456789abcdef0123456789abcdef';
const READ_TOKEN = 'read-0123456789abcdef0123456789abcdef';
let store: RunStore;
let cleanup: () => Promise<void>;
let pool: ReadPool;
const servers: Server[] = [];

beforeAll(async () => {
  let path: string;
  ({ store, path, cleanup } = await tempStore());
  await ingestNodes(store, [makeRun({ name: 'a', gradient_method: 'mgda', objectives: { QED: ['maximize', 0.8] } })]);
  pool = await testPool(path);
});

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
  await pool.close();
  await cleanup();
});

/** A server configured as if bound to `host`, listening on 127.0.0.1 (where a test can reach it). */
async function serve(host: string, tokens: Pick<HttpDeps, 'token' | 'readToken'>): Promise<number> {
  const server = createHttpServer({
    reads: pool,
    host,
    ...tokens,
    checks: [{ name: 'poll lab/secret-project', check: async () => ({ ageSeconds: 1 }) }],
    metrics: { contentType: 'text/plain', render: async () => 'traindb_runs 1\n' },
    launch: (body) => registerLaunch(store, launchInputFromBody(body), { launchIdKey: 'run_id' }),
    annotate: (runId, body) => annotateRun(store, runId, body),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return (server.address() as AddressInfo).port;
}

/** A raw request, so the Host header can be anything (fetch sets it from the URL). */
function send(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: {
          host: `127.0.0.1:${port}`,
          ...(text === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, json: raw.startsWith('{') ? JSON.parse(raw) : { text: raw } });
        });
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const READS = ['/runs?columns=run_id', '/compare?by=gradient_method&objective=QED', '/metrics'];

describe('reads off loopback', () => {
  it('need a token: the API token or the read token; /healthz, /readyz and /openapi.json stay open', async () => {
    const port = await serve('0.0.0.0', { token: API_TOKEN, readToken: READ_TOKEN });
    for (const path of READS) {
      const anonymous = await send(port, 'GET', path);
      expect(anonymous.status, path).toBe(401);
      expect(anonymous.json).toMatchObject({
        code: 'UNAUTHORIZED',
        error: expect.stringMatching(/TRAINDB_READ_TOKEN/),
      });
      expect((await send(port, 'GET', path, bearer('wrong'))).status, path).toBe(401);
      expect((await send(port, 'GET', path, bearer(READ_TOKEN))).status, path).toBe(200);
      expect((await send(port, 'GET', path, bearer(API_TOKEN))).status, path).toBe(200);
    }
    expect((await send(port, 'GET', '/healthz')).status).toBe(200);
    expect((await send(port, 'GET', '/openapi.json')).status).toBe(200);
    // Any name may reach a server bound off loopback.
    expect((await send(port, 'GET', '/healthz', { host: 'traindb.internal:8080' })).status).toBe(200);
  });

  it('/readyz tells anonymous callers only the status; which checks failed is for readers', async () => {
    const port = await serve('0.0.0.0', { token: API_TOKEN });
    const anonymous = await send(port, 'GET', '/readyz');
    expect(anonymous).toEqual({ status: 200, json: { status: 'ready' } });
    expect(JSON.stringify(anonymous.json)).not.toContain('secret-project');
    expect((await send(port, 'GET', '/readyz', bearer(API_TOKEN))).json).toMatchObject({
      status: 'ready',
      checks: { 'poll lab/secret-project': { ok: true } },
    });
  });

  it('the read token cannot write (403); the API token can', async () => {
    const port = await serve('0.0.0.0', { token: API_TOKEN, readToken: READ_TOKEN });
    const body = { run_id: 'L-auth', config: { gradient_method: 'mgda' } };
    expect(await send(port, 'POST', '/runs', bearer(READ_TOKEN), body)).toMatchObject({
      status: 403,
      json: { code: 'FORBIDDEN', error: expect.stringMatching(/only reads/) },
    });
    expect((await send(port, 'POST', '/runs', {}, body)).status).toBe(401);
    expect((await send(port, 'POST', '/runs', bearer(API_TOKEN), body)).status).toBe(201);
    expect((await send(port, 'PATCH', '/runs/L-auth', bearer(READ_TOKEN), { blog_post_url: 'x' })).status).toBe(403);
  });

  it('refuses tokens shorter than 32 characters when the server is built', () => {
    const deps = { reads: pool, checks: [], metrics: { contentType: '', render: async () => '' } };
    const noop = { launch: async () => ({ runId: '', created: false, status: null }), annotate: async () => false };
    expect(() => createHttpServer({ ...deps, ...noop, host: '0.0.0.0', token: 'short' })).toThrow(
      /TRAINDB_API_TOKEN is 5 characters long; use at least 32/,
    );
    expect(() => createHttpServer({ ...deps, ...noop, token: API_TOKEN, readToken: 'x'.repeat(31) })).toThrow(
      /TRAINDB_READ_TOKEN is 31 characters long/,
    );
  });
});

describe('loopback bind: Host check against DNS rebinding', () => {
  it('answers loopback names and the bound name, with any port', async () => {
    const port = await serve('127.0.0.1', {});
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'LOCALHOST', `[::1]:${port}`, '127.0.0.1']) {
      const res = await send(port, 'GET', '/runs?columns=run_id', { host });
      expect(res.status, host).toBe(200);
    }
    const bound = await serve('127.0.0.2', {});
    expect((await send(bound, 'GET', '/healthz', { host: '127.0.0.2:9' })).status).toBe(200);
  });

  it('refuses any other Host with 421, on every endpoint, naming the Host and why', async () => {
    const port = await serve('127.0.0.1', {});
    for (const host of ['evil.example', `evil.example:${port}`, '127.0.0.1.evil.example', 'localhost.', '10.0.0.5']) {
      for (const path of ['/runs?columns=run_id', '/healthz', '/openapi.json']) {
        const res = await send(port, 'GET', path, { host });
        expect(res.status, `${host} ${path}`).toBe(421);
        expect(res.json).toMatchObject({
          code: 'MISDIRECTED_REQUEST',
          error: expect.stringMatching(/is not this server.*DNS rebinding/),
        });
      }
    }
    const post = await send(port, 'POST', '/runs', { host: 'evil.example' }, { run_id: 'L-evil' });
    expect(post.status).toBe(421);
    expect(await store.all("SELECT run_id FROM training_runs WHERE run_id = 'L-evil'")).toEqual([]);
  });

  it('reads stay open on loopback', async () => {
    const port = await serve('127.0.0.1', { token: API_TOKEN });
    expect((await send(port, 'GET', '/runs?columns=run_id')).status).toBe(200);
    expect((await send(port, 'POST', '/runs', {}, { run_id: 'L-2' })).status).toBe(401);
  });
});
