import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startWandbEmulator } from '../../src/dev/emulator/index.js';
import type { WandbEmulator } from '../../src/dev/emulator/index.js';
import { generateRuns } from '../../src/dev/generate/index.js';
import { basicAuth, gql } from './helpers.js';

const E = 'molgen-lab';
const P = 'multiobjective-rl';
const logLines: string[] = [];
let emu: WandbEmulator;

beforeAll(async () => {
  emu = await startWandbEmulator({
    apiKey: 'k-secret-123456',
    projects: [{ entity: E, project: P, runs: generateRuns({ runs: 40, seed: 9 }) }],
    log: (line) => logLines.push(line),
  });
});
afterAll(() => emu.close());

describe('W&B emulator: transport, auth, validation', () => {
  it('listens on 127.0.0.1 with an ephemeral port', () => {
    expect(emu.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(emu.port).toBeGreaterThan(0);
  });

  it('answers 401 with a W&B-like errors body for a missing or wrong key', async () => {
    for (const key of [null, 'wrong-key', '']) {
      const res = await gql(emu, '{ viewer { username } }', {}, { key });
      expect(res.status).toBe(401);
      expect(res.body.errors[0].message).toEqual(expect.any(String));
      expect(res.text).not.toContain('k-secret-123456');
    }
    const ok = await gql(emu, '{ viewer { username entity } }');
    expect(ok.status).toBe(200);
    expect(ok.body.data.viewer).toEqual({ username: 'emulator', entity: E });
  });

  it('rejects a query that does not validate against schema.graphql with 400 and errors', async () => {
    const res = await gql(
      emu,
      'query { project(name: "x", entityName: "y") { runs { edges { node { name notAField } } } } }',
    );
    expect(res.status).toBe(400);
    expect(res.body.errors[0].message).toContain('notAField');
    expect(res.body.data).toBeUndefined();
    const syntax = await gql(emu, 'query { project(');
    expect(syntax.status).toBe(400);
    expect(syntax.body.errors[0].message).toMatch(/Syntax Error/);
    const notJson = await gql(emu, '', {}, { rawBody: '{"query": ' });
    expect(notJson.status).toBe(400);
  });

  it('accepts a #graphql comment line and an empty operationName', async () => {
    const res = await gql(
      emu,
      '#graphql\nquery Count($e: String, $p: String) { project(name: $p, entityName: $e) { runCount } }',
      { e: E, p: P },
      { operationName: '' },
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: { project: { runCount: 40 } } });
  });

  it('answers project: null for an unknown project and run: null for an unknown run', async () => {
    const missing = await gql(emu, 'query { project(name: "nope", entityName: "molgen-lab") { name } }');
    expect(missing.status).toBe(200);
    expect(missing.body).toEqual({ data: { project: null } });
    const run = await gql(
      emu,
      `query { project(name: "${P}", entityName: "${E}") { name entityName run(name: "zzzzzzzz") { name } } }`,
    );
    expect(run.body).toEqual({ data: { project: { name: P, entityName: E, run: null } } });
  });

  it('serves a run with JSON-string fields, key restriction and zone-less timestamps', async () => {
    const stored = emu.listRuns(E, P)[3]!;
    const res = await gql(
      emu,
      `query Run($e: String, $p: String, $n: String!) { project(name: $p, entityName: $e) { run(name: $n) {
        id name displayName state createdAt heartbeatAt updatedAt projectId project { name entityName }
        config(keys: ["gradient_method", "not_there"]) full: config summaryMetrics(keys: ["_step"]) systemMetrics } } }`,
      { e: E, p: P, n: stored.name },
    );
    expect(res.status).toBe(200);
    const run = res.body.data.project.run;
    expect(run.name).toBe(stored.name);
    expect(run.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    expect(Object.keys(JSON.parse(run.config))).toEqual(['gradient_method']);
    expect(run.full).toBe(stored.config);
    expect(Object.keys(JSON.parse(run.summaryMetrics))).toEqual(['_step']);
    expect(run.project).toEqual({ name: P, entityName: E });
    expect(typeof run.systemMetrics).toBe('string');
  });

  it("normalises timestamps of added runs to W&B's form and fills a storage id", async () => {
    emu.addRuns('lab2', 'tiny', [
      { name: 'abc12345', createdAt: '2026-03-01T12:34:56.789Z', state: 'running', config: { lr: { value: 0.1 } } },
    ]);
    const res = await gql(
      emu,
      'query { project(name: "tiny", entityName: "lab2") { run(name: "abc12345") { id createdAt heartbeatAt config } } }',
    );
    expect(res.body.data.project.run).toEqual({
      id: expect.any(String),
      createdAt: '2026-03-01T12:34:56',
      heartbeatAt: '2026-03-01T12:34:56',
      config: '{"lr":{"value":0.1}}',
    });
  });

  it('gzips large answers when asked, like api.wandb.ai', async () => {
    const res = await request(`${emu.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basicAuth(emu.apiKey), 'accept-encoding': 'gzip' },
      body: JSON.stringify({
        query: `{ project(name: "${P}", entityName: "${E}") { runs(first: 5) { edges { node { config } } } } }`,
      }),
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-encoding']).toBe('gzip');
    await res.body.arrayBuffer();
  });

  it('rejects other methods and paths', async () => {
    const get = await request(`${emu.url}/graphql`, { method: 'GET' });
    expect(get.statusCode).toBe(405);
    await get.body.text();
    const other = await request(`${emu.url}/api/v1/runs`, { method: 'POST', body: '{}' });
    expect(other.statusCode).toBe(404);
    await other.body.text();
  });

  it('counts requests by status and operation', async () => {
    emu.resetStats();
    await gql(emu, 'query Viewer { viewer { id } }');
    await gql(emu, 'query Viewer { viewer { id } }', {}, { key: 'bad' });
    await gql(emu, '{ viewer { nope } }');
    const s = emu.stats();
    expect(s.requests).toBe(3);
    expect(s.byStatus).toEqual({ 200: 1, 401: 1, 400: 1 });
    expect(s.byOperation).toEqual({ Viewer: 1, '(anonymous)': 1 });
  });

  it('never logs the API key', () => {
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.join('\n')).not.toContain('k-secret-123456');
    expect(logLines.join('\n')).not.toContain(Buffer.from('api:k-secret-123456').toString('base64'));
  });
});
