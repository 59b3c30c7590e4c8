import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpServer } from '../../src/http/server.js';
import { evaluateReadiness } from '../../src/http/health.js';
import { annotateRun, launchInputFromBody, registerLaunch } from '../../src/jobs/launch.js';
import { ingestNodes } from '../../src/jobs/ingest.js';
import type { RunStore } from '../../src/db/store.js';
import { tempStore } from '../helpers/db.js';
import { makeRun } from '../helpers/runs.js';
import type { ReadPool } from '../../src/app/read-pool.js';
import { testPool } from './read-pool-helper.js';

const TOKEN = 'api-token-0123456789-0123456789-0123456789';
let store: RunStore;
let cleanup: () => Promise<void>;
let pool: ReadPool;
let server: Server;
let base: string;
let redisUp = true;

beforeAll(async () => {
  let path: string;
  ({ store, cleanup, path } = await tempStore());
  await ingestNodes(store, [
    makeRun({ name: 'a', gradient_method: 'mgda', state: 'finished', objectives: { QED: ['maximize', 0.8] } }),
    makeRun({ name: 'b', gradient_method: 'mgda', state: 'crashed', objectives: { QED: ['maximize', 0.6] } }),
    makeRun({ name: 'c', gradient_method: 'pcgrad', state: 'finished', objectives: { QED: ['maximize', 0.4] } }),
  ]);
  pool = await testPool(path);
  server = createHttpServer({
    reads: pool,
    token: TOKEN,
    checks: [
      {
        name: 'redis',
        check: async () => {
          if (!redisUp) throw new Error('Redis did not answer PING within 1000 ms');
        },
      },
      { name: 'database', check: () => store.checkWritable() },
    ],
    metrics: {
      contentType: 'text/plain; version=0.0.4; charset=utf-8',
      render: async () => '# HELP x y\n# TYPE x counter\nx 1\n',
    },
    launch: (body) => registerLaunch(store, launchInputFromBody(body), { launchIdKey: 'run_id' }),
    annotate: (runId, body) => annotateRun(store, runId, body),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await pool.close();
  await cleanup();
});

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return {
    status: res.status,
    text,
    json: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : null,
  };
}
const auth = { authorization: `Bearer ${TOKEN}` };

describe('HTTP API', () => {
  it('answers health and readiness, naming what failed', async () => {
    expect((await call('GET', '/healthz')).json).toEqual({ status: 'ok' });
    expect(await call('GET', '/readyz')).toMatchObject({ status: 200, json: { status: 'ready', failed: [] } });
    redisUp = false;
    const down = await call('GET', '/readyz');
    redisUp = true;
    expect(down.status).toBe(503);
    expect(down.json).toMatchObject({
      status: 'not ready',
      failed: ['redis'],
      checks: { redis: { ok: false, error: /PING/ }, database: { ok: true } },
    });
  });

  it('bounds each readiness check, so a hung dependency fails instead of hanging the probe', async () => {
    const report = await evaluateReadiness(
      [
        { name: 'hangs', check: () => new Promise(() => undefined) },
        { name: 'fine', check: async () => 'ok' },
      ],
      100,
    );
    expect(report).toEqual({
      ready: false,
      failed: ['hangs'],
      checks: { hangs: { ok: false, error: 'no answer within 100 ms' }, fine: { ok: true, detail: 'ok' } },
    });
  });

  it('serves metrics as text', async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toContain('x 1');
  });

  it('queries runs with the filter language and answers 400 with the message on a bad filter', async () => {
    const q = new URLSearchParams({
      where: "gradient_method = 'mgda'",
      columns: 'run_id,status,objective.QED',
      order: '-objective.QED',
    });
    const ok = await call('GET', `/runs?${q}`);
    expect(ok.json).toEqual({
      count: 2,
      total: 2,
      next: null,
      runs: [
        { run_id: 'lab/molecule-rl/a', status: 'completed', 'objective.QED': 0.8 },
        { run_id: 'lab/molecule-rl/b', status: 'crashed', 'objective.QED': 0.6 },
      ],
    });
    const mongo = await call(
      'GET',
      `/runs?${new URLSearchParams({ mongo: '{"state": "finished"}', columns: 'run_id', limit: '1', order: 'run_id' })}`,
    );
    expect(mongo.json).toMatchObject({ count: 1, total: 2, runs: [{ run_id: 'lab/molecule-rl/a' }] });

    const bad = await call('GET', `/runs?${new URLSearchParams({ where: 'batch_size >> 3' })}`);
    expect(bad.status).toBe(400);
    expect(String(bad.json!['error'])).toMatch(/\^/);
    const unknown = await call('GET', `/runs?${new URLSearchParams({ where: 'gradient_methd = 1' })}`);
    expect(unknown.status).toBe(400);
    expect(String(unknown.json!['error'])).toMatch(/gradient_method/);
    expect((await call('GET', '/runs?limit=-1')).status).toBe(400);
  });

  it('compares groups', async () => {
    const res = await call('GET', `/compare?${new URLSearchParams({ by: 'gradient_method', objective: 'QED' })}`);
    expect(res.json).toMatchObject({
      by: 'gradient_method',
      groups: [
        { group: 'mgda', n: 2, mean: 0.7 },
        { group: 'pcgrad', n: 1, mean: 0.4 },
      ],
    });
    expect((await call('GET', '/compare?objective=QED')).status).toBe(400);
  });

  it('requires the bearer token on writes, registers launches and sets attachments', async () => {
    const body = { run_id: 'L-1', config: { gradient_method: 'mgda', training: { batch_size: 32 } }, host: 'ec2' };
    expect((await call('POST', '/runs', body)).status).toBe(401);
    expect((await call('POST', '/runs', body, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect(await call('POST', '/runs', body, auth)).toMatchObject({
      status: 201,
      json: { run_id: 'L-1', created: true, status: 'launched' },
    });
    expect(await call('POST', '/runs', body, auth)).toMatchObject({ status: 200, json: { created: false } });
    expect((await call('POST', '/runs', { config: {} }, auth)).status).toBe(400);
    expect((await call('POST', '/runs', { run_id: 'x', colour: 'red' }, auth)).json).toEqual({
      error: expect.stringMatching(/unknown field\(s\) colour/),
      code: 'INVALID_INPUT',
    });

    expect((await call('PATCH', '/runs/L-1', { blog_post_url: 'https://b/1' })).status).toBe(401);
    expect(
      await call('PATCH', '/runs/L-1', { blog_post_url: 'https://b/1', crash_report_s3_key: 's3://c/1' }, auth),
    ).toMatchObject({ status: 200 });
    expect(
      await store.all(
        "SELECT status, host, batch_size, blog_post_url, crash_report_s3_key FROM training_runs WHERE run_id = 'L-1'",
      ),
    ).toEqual([
      {
        status: 'launched',
        host: 'ec2',
        batch_size: 32,
        blog_post_url: 'https://b/1',
        crash_report_s3_key: 's3://c/1',
      },
    ]);
    // Run ids with slashes travel encoded.
    expect(
      (await call('PATCH', `/runs/${encodeURIComponent('lab/molecule-rl/a')}`, { error_log_s3_key: 's3://e/a' }, auth))
        .status,
    ).toBe(200);
    expect((await call('PATCH', '/runs/nope', { error_log_s3_key: 'k' }, auth)).status).toBe(404);
    expect((await call('PATCH', '/runs/L-1', { status: 'completed' }, auth)).status).toBe(400);
  });

  it('answers 404, 405, 415 and 400 for what it does not serve', async () => {
    expect((await call('GET', '/nope')).status).toBe(404);
    expect((await call('DELETE', '/runs')).status).toBe(405);
    const noJson = await fetch(`${base}/runs`, { method: 'POST', headers: auth, body: 'run_id=1' });
    expect(noJson.status).toBe(415);
    const broken = await fetch(`${base}/runs`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{',
    });
    expect(broken.status).toBe(400);
  });
});

describe('HTTP API: pages', () => {
  it('answers a page with count, total and a next cursor that visits every match once', async () => {
    const where = "run_id in ('lab/molecule-rl/a', 'lab/molecule-rl/b', 'lab/molecule-rl/c')";
    const first = await call(
      'GET',
      `/runs?${new URLSearchParams({ where, columns: 'run_id', order: 'run_id', limit: '2' })}`,
    );
    expect(first.json).toMatchObject({ count: 2, total: 3, next: expect.any(String) });
    const second = await call(
      'GET',
      `/runs?${new URLSearchParams({ where, columns: 'run_id', order: 'run_id', limit: '2', after: String(first.json!['next']) })}`,
    );
    expect(second.json).toMatchObject({ count: 1, total: 3, next: null });
    const ids = [
      ...(first.json!['runs'] as Array<{ run_id: string }>),
      ...(second.json!['runs'] as Array<{ run_id: string }>),
    ];
    expect(ids.map((r) => r.run_id)).toEqual(['lab/molecule-rl/a', 'lab/molecule-rl/b', 'lab/molecule-rl/c']);
  });

  it('refuses a page larger than the cap with a 400 that names the maximum and the cursor', async () => {
    const res = await call('GET', '/runs?limit=1000000&columns=*');
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ code: 'INVALID_INPUT', error: expect.stringMatching(/1000000.*1000.*next/) });
    expect((await call('GET', '/runs?limit=1000&columns=run_id')).status).toBe(200);
  });
});

describe('HTTP API: bad input is a 400 naming the value, never a 500', () => {
  const q = (path: string, params: Record<string, string>): string => `${path}?${new URLSearchParams(params)}`;
  const cases: Array<[string, string, RegExp]> = [
    ['GET', '/runs?limit=abc', /"abc"/],
    ['GET', '/runs?limit=-1', /"-1"/],
    ['GET', '/runs?limit=0', /limit=0/],
    ['GET', '/runs?limit=1.5', /"1\.5"/],
    ['GET', '/runs?limit=', /limit=""/],
    ['GET', '/runs?include_deleted=maybe', /"maybe".*true or false/],
    ['GET', '/runs?after=garbage', /'garbage'/],
    ['GET', '/runs?after=', /after is empty/],
    ['GET', '/runs?mongo=null', /"null".*JSON object/],
    ['GET', '/runs?mongo=5', /"5".*JSON object/],
    ['GET', q('/runs', { mongo: '[1]' }), /"\[1\]".*JSON object/],
    ['GET', q('/runs', { mongo: '{"state":' }), /not JSON/],
    ['GET', q('/runs', { where: "status = 'x'", mongo: '{}' }), /not both/],
    ['GET', '/runs?columns=', /columns is empty/],
    ['GET', '/runs?order=', /order is empty/],
    // Commas need no encoding in a query: 10,000 columns in 20 KB.
    ['GET', `/runs?columns=${Array.from({ length: 10_000 }, () => 'a').join(',')}`, /10000 fields.*1000/],
    ['GET', '/runs?limt=5', /"limt"/],
    ['GET', '/runs?limit=1&limit=2', /limit is given more than once/],
    ['GET', '/compare?objective=QED', /by=/],
    ['GET', '/compare?by=status', /objective=.*metric=/],
    ['GET', '/compare?by=status&objective=QED&metric=batch_size', /not both/],
    ['GET', '/compare?by=status&objective=QED&include_deleted=maybe', /"maybe"/],
    ['GET', '/compare?by=status&objective=QED&mongo=5', /"5"/],
    ['GET', '/compare?by=status&objective=QED&limit=5', /"limit"/],
    ['PATCH', '/runs/%ZZ', /"%ZZ".*percent-encoding/],
    ['PATCH', '/runs/a%E0%A4%A', /"a%E0%A4%A"/],
    ['PATCH', '/runs/L-1?x=1', /"x"/],
    ['POST', '/runs?dry_run=1', /"dry_run"/],
  ];
  it.each(cases.map(([method, path, message]) => ({ name: `${method} ${path.slice(0, 60)}`, method, path, message })))(
    '$name',
    async ({ method, path, message }) => {
      const body = method === 'GET' ? undefined : { blog_post_url: 'https://b/1' };
      const res = await call(method, path, body, auth);
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({
        code: expect.stringMatching(/^INVALID_/),
        error: expect.stringMatching(message),
      });
    },
  );

  it('bounds the URL (414), the body size (413) and its nesting (400), each with a code', async () => {
    const long = await call('GET', `/runs?${new URLSearchParams({ where: `run_name = '${'x'.repeat(40_000)}'` })}`);
    expect(long).toMatchObject({ status: 414, json: { code: 'URL_TOO_LONG', error: expect.stringMatching(/32768/) } });

    const huge = await call('POST', '/runs', { run_id: 'big', config: { x: 'a'.repeat(2_000_000) } }, auth);
    expect(huge).toMatchObject({ status: 413, json: { code: 'BODY_TOO_LARGE' } });

    const deep = `{"run_id":"deep","config":{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`;
    const res = await fetch(`${base}/runs`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: deep,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'INVALID_INPUT', error: expect.stringMatching(/64 levels/) });
    // The server is still there.
    expect((await call('GET', '/healthz')).status).toBe(200);
  });
});
