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

const TOKEN = 'api-token-0123456789';
let store: RunStore;
let cleanup: () => Promise<void>;
let server: Server;
let base: string;
let redisUp = true;

beforeAll(async () => {
  ({ store, cleanup } = await tempStore());
  await ingestNodes(store, [
    makeRun({ name: 'a', gradient_method: 'mgda', state: 'finished', objectives: { QED: ['maximize', 0.8] } }),
    makeRun({ name: 'b', gradient_method: 'mgda', state: 'crashed', objectives: { QED: ['maximize', 0.6] } }),
    makeRun({ name: 'c', gradient_method: 'pcgrad', state: 'finished', objectives: { QED: ['maximize', 0.4] } }),
  ]);
  server = createHttpServer({
    store,
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
      runs: [
        { run_id: 'lab/molecule-rl/a', status: 'completed', 'objective.QED': 0.8 },
        { run_id: 'lab/molecule-rl/b', status: 'crashed', 'objective.QED': 0.6 },
      ],
    });
    const mongo = await call(
      'GET',
      `/runs?${new URLSearchParams({ mongo: '{"state": "finished"}', columns: 'run_id', limit: '1', order: 'run_id' })}`,
    );
    expect(mongo.json).toEqual({ count: 1, runs: [{ run_id: 'lab/molecule-rl/a' }] });

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
