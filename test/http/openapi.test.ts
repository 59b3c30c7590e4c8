import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReadPool } from '../../src/app/read-pool.js';
import type { RunStore } from '../../src/db/store.js';
import { openApiDocument } from '../../src/http/openapi.js';
import { createHttpServer, ENDPOINTS } from '../../src/http/server.js';
import { ingestNodes } from '../../src/jobs/ingest.js';
import { annotateRun, launchInputFromBody, registerLaunch } from '../../src/jobs/launch.js';
import { tempStore } from '../helpers/db.js';
import { makeRun } from '../helpers/runs.js';
import { testPool } from './read-pool-helper.js';

type Json = Record<string, unknown>;
interface Operation {
  parameters?: Json[];
  requestBody?: Json;
  responses: Record<string, Json>;
}

const TOKEN = 'openapi-0123456789abcdef0123456789abcdef';
const doc = openApiDocument() as {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: Record<string, Record<string, Json>>;
};
let store: RunStore;
let cleanup: () => Promise<void>;
let pool: ReadPool;
let server: Server;
let base: string;

beforeAll(async () => {
  let path: string;
  ({ store, path, cleanup } = await tempStore());
  await ingestNodes(store, [makeRun({ name: 'a', gradient_method: 'mgda', objectives: { QED: ['maximize', 0.8] } })]);
  pool = await testPool(path);
  server = createHttpServer({
    reads: pool,
    token: TOKEN,
    checks: [],
    metrics: { contentType: 'text/plain; version=0.0.4', render: async () => 'x 1\n' },
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

/** Follows a local `$ref` (`#/components/...`); anything else is returned as is. */
function deref(value: Json): Json {
  const ref = value['$ref'];
  if (typeof ref !== 'string') return value;
  const target = ref
    .replace(/^#\//, '')
    .split('/')
    .reduce<unknown>((node, key) => (node as Json | undefined)?.[key], doc);
  if (target === undefined) throw new Error(`dangling $ref ${ref}`);
  return deref(target as Json);
}

function operations(): Array<{ method: string; path: string; op: Operation }> {
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
  );
}

/** An example request for each documented operation, filling required parameters and bodies. */
const EXAMPLES: Record<string, { path: string; body?: unknown }> = {
  'GET /runs': { path: '/runs?columns=run_id,objective.QED&limit=1' },
  'POST /runs': { path: '/runs', body: { run_id: 'L-openapi', config: { gradient_method: 'mgda' } } },
  'PATCH /runs/{run_id}': {
    path: `/runs/${encodeURIComponent('lab/molecule-rl/a')}`,
    body: { blog_post_url: 'https://b/1' },
  },
  'GET /compare': { path: '/compare?by=gradient_method&objective=QED' },
};

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1 whose every $ref resolves', () => {
    expect(doc.openapi).toBe('3.1.0');
    const walk = (node: unknown): void => {
      if (node === null || typeof node !== 'object') return;
      if (typeof (node as Json)['$ref'] === 'string') deref(node as Json);
      Object.values(node as Json).forEach(walk);
    };
    walk(doc);
  });

  it('describes exactly the endpoints the server routes, with exactly the query parameters each accepts', () => {
    const documented = operations().map((o) => `${o.method} ${o.path}`);
    expect(documented.sort()).toEqual(ENDPOINTS.map((e) => `${e.method} ${e.path}`).sort());
    for (const { method, path, op } of operations()) {
      const endpoint = ENDPOINTS.find((e) => e.method === method && e.path === path)!;
      const query = (op.parameters ?? []).map(deref).filter((p) => p['in'] === 'query');
      expect(query.map((p) => p['name']).sort(), `${method} ${path}`).toEqual([...(endpoint.params ?? [])].sort());
    }
  });

  it('is served at /openapi.json', async () => {
    const res = await fetch(`${base}/openapi.json`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(JSON.parse(JSON.stringify(doc)));
  });

  it('every documented operation is answered, with a status and body shape the document lists', async () => {
    for (const { method, path, op } of operations()) {
      const example = EXAMPLES[`${method} ${path}`] ?? { path };
      const res = await fetch(`${base}${example.path}`, {
        method,
        headers: {
          authorization: `Bearer ${TOKEN}`,
          ...(example.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(example.body === undefined ? {} : { body: JSON.stringify(example.body) }),
      });
      const label = `${method} ${example.path} → ${res.status}`;
      expect(res.status, label).toBeLessThan(300);
      const documented = deref(op.responses[String(res.status)] ?? {});
      expect(documented['description'], `${label} is not documented`).toBeDefined();
      const content = documented['content'] as Record<string, { schema?: Json }> | undefined;
      const schema = content?.['application/json']?.schema;
      if (schema) {
        const body = (await res.json()) as Json;
        for (const key of (deref(schema)['required'] as string[] | undefined) ?? []) {
          expect(body, `${label}: ${key}`).toHaveProperty(key);
        }
      } else {
        expect(res.headers.get('content-type'), label).toMatch(new RegExp(`^${Object.keys(content ?? {})[0]}`));
      }
    }
  });

  it('nothing else is answered: other paths are 404, other methods 405, both with a documented error body', async () => {
    for (const path of ['/', '/run', '/runs/a/../../admin', '/admin', '/openapi.yaml', '/healthz/x']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(404);
      expect(await res.json()).toMatchObject({ code: 'NOT_FOUND', error: expect.stringMatching(/openapi\.json/) });
    }
    for (const [path, methods] of Object.entries(doc.paths)) {
      const concrete = path.replace('{run_id}', 'x');
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
        if (method.toLowerCase() in methods) continue;
        const res = await fetch(`${base}${concrete}`, { method });
        expect(res.status, `${method} ${concrete}`).toBe(405);
        expect(res.headers.get('allow')?.split(', ').sort()).toEqual(
          Object.keys(methods)
            .map((m) => m.toUpperCase())
            .sort(),
        );
        expect(await res.json()).toMatchObject({ code: 'METHOD_NOT_ALLOWED' });
      }
    }
  });
});
