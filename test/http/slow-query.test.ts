import { spawn, type ChildProcess } from 'node:child_process';
import { get as httpGet, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReadPool, ReadPoolOptions } from '../../src/app/read-pool.js';
import type { RunStore } from '../../src/db/store.js';
import { generateRuns } from '../../src/dev/generate/index.js';
import { createHttpServer } from '../../src/http/server.js';
import { ingestNodes } from '../../src/jobs/ingest.js';
import { tempStore } from '../helpers/db.js';
import { testPool } from './read-pool-helper.js';

/**
 * A genuinely slow query on real data that no index can serve: one run, ordered by 100 summary fields (the
 * sort-key cap), each read from every run's JSON (300,000 json_extract calls) for an answer of a few bytes.
 * It ran on the event loop before, so /healthz waited for it.
 */
let store: RunStore;
let path: string;
let cleanup: () => Promise<void>;
let slowQuery: string;
/** A full page of 300 summary columns: a 15 MB answer. */
let bigQuery: string;
const servers: Array<{ server: Server; pool: ReadPool }> = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  ({ store, path, cleanup } = await tempStore());
  await ingestNodes(store, generateRuns({ runs: 3000, seed: 7 }));
  const summary = await store.listAttributeKeys('summary');
  expect(summary.length).toBeGreaterThan(300);
  const order = summary.slice(0, 100).map((k) => `summary."${k.path}"`);
  slowQuery = `/runs?${new URLSearchParams({ order: order.join(','), columns: 'run_id', limit: '1' })}`;
  const columns = summary.slice(0, 300).map((k) => `summary."${k.path}"`);
  bigQuery = `/runs?${new URLSearchParams({ columns: columns.join(','), limit: '1000' })}`;
}, 120_000);

afterAll(async () => {
  for (const child of children) child.kill();
  for (const { server, pool } of servers) {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await pool.close();
  }
  await cleanup();
});

async function serve(options: Partial<ReadPoolOptions> = {}): Promise<{ base: string; pool: ReadPool }> {
  const pool = await testPool(path, options);
  const server = createHttpServer({
    reads: pool,
    checks: [],
    metrics: { contentType: 'text/plain', render: async () => '' },
    launch: async () => ({ runId: 'x', created: false, status: null }),
    annotate: async () => false,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push({ server, pool });
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, pool };
}

/** The built server with a pool of query threads in a child process; resolves to its base URL. */
async function serveInChild(): Promise<string> {
  const dist = pathToFileURL(join(fileURLToPath(new URL('../../dist/', import.meta.url)))).href;
  const code = `
    const { openStore } = await import(${JSON.stringify(`${dist}/db/open-store.js`)});
    const { startReadPool } = await import(${JSON.stringify(`${dist}/app/read-pool.js`)});
    const { createHttpServer } = await import(${JSON.stringify(`${dist}/http/server.js`)});
    const db = process.env.TRAINDB_TEST_DB;
    await openStore(db, { create: true });
    const reads = await startReadPool({ database: db, threads: 1, queryTimeoutMs: 60000, maxQueued: 4 });
    const server = createHttpServer({
      reads, checks: [], metrics: { contentType: 'text/plain', render: async () => '' },
      launch: async () => ({ runId: 'x', created: false, status: null }), annotate: async () => false,
    });
    server.listen(0, '127.0.0.1', () => console.log('port ' + server.address().port));`;
  const script = join(dirname(path), 'serve.mjs');
  writeFileSync(script, code);
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, TRAINDB_TEST_DB: path },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const port = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /port (\d+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`the server exited (${code}) before listening`)));
  });
  return `http://127.0.0.1:${port}`;
}

/** GET on a fresh connection (not fetch's pool); resolves to the status and the parsed body. */
function getAlone(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    httpGet(url, { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
        }),
      );
    }).on('error', reject);
  });
}

async function get(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('queries run off the event loop', () => {
  it('/healthz answers within 100 ms while a slow query runs', async () => {
    // The server runs in its own process, as the daemon does: a client sharing its event loop could not
    // see it block (the client's own timers would wait too).
    const base = await serveInChild();
    const probe = async (): Promise<number> => {
      const t = performance.now();
      const res = await fetch(`${base}/healthz`);
      await res.text();
      expect(res.status).toBe(200);
      return performance.now() - t;
    };
    await probe(); // connects: the probes below measure answers, not connection set-up
    let done = false;
    const started = Date.now();
    // On a connection of its own, so that the probes keep theirs.
    const query = getAlone(`${base}${slowQuery}`).finally(() => (done = true));
    const probes: number[] = [];
    while (!done) {
      probes.push(await probe());
      await new Promise((r) => setTimeout(r, 20));
    }
    const answer = await query;
    const queryMs = Date.now() - started;
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ count: 1, total: 3000, next: expect.any(String) });
    // The query was slow enough for several probes to land while it ran, and none of them waited for it.
    expect(probes.length, `query took ${queryMs} ms`).toBeGreaterThanOrEqual(3);
    expect(Math.max(...probes), `probes (ms): ${probes.map((p) => Math.round(p)).join(' ')}`).toBeLessThan(100);
  });

  it('stops a query past query_timeout with a 503 naming the limit, and the next query gets a fresh thread', async () => {
    const { base, pool } = await serve({ queryTimeoutMs: 80 });
    const slow = await get(`${base}${slowQuery}`);
    expect(slow.status).toBe(503);
    expect(slow.body).toMatchObject({
      code: 'QUERY_TIMEOUT',
      error: expect.stringMatching(/query time limit \(0\.08 s\)/),
      details: { timeoutMs: 80 },
    });
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    // Answered by the replacement thread (the stopped one may still be finishing its SQLite step), once
    // it has opened the database: its start-up would otherwise eat most of 80 ms.
    while (pool.stats().ready < 1) await new Promise((r) => setTimeout(r, 10));
    const quick = await get(`${base}/runs?columns=run_id&limit=1`);
    expect(quick).toMatchObject({ status: 200, body: { count: 1, total: 3000 } });
    expect(pool.stats()).toMatchObject({ threads: 1, ready: 1 });
  });

  it('refuses queries beyond the queue with 503 UNAVAILABLE instead of holding them all', async () => {
    const { base } = await serve({ threads: 1, maxQueued: 1 });
    const answers = await Promise.all([1, 2, 3, 4].map(() => get(`${base}${slowQuery}`)));
    const statuses = answers.map((a) => a.status).sort();
    // One runs, one waits, the others are refused at once.
    expect(statuses).toEqual([200, 200, 503, 503]);
    expect(answers.find((a) => a.status === 503)!.body).toMatchObject({
      code: 'UNAVAILABLE',
      error: expect.stringMatching(/too many queries at once: 1 running and 1 waiting/),
    });
  });

  it('drops a waiting query whose client has gone, so that it holds no place in the queue', async () => {
    const { base, pool } = await serve({ threads: 1, maxQueued: 1 });
    const until = async (condition: () => boolean): Promise<void> => {
      while (!condition()) await new Promise((r) => setTimeout(r, 5));
    };
    const first = get(`${base}${slowQuery}`);
    await until(() => pool.stats().running === 1);
    const gone = new AbortController();
    const second = fetch(`${base}${slowQuery}`, { signal: gone.signal }).catch(() => 'aborted');
    await until(() => pool.stats().queued === 1);
    gone.abort();
    await until(() => pool.stats().queued === 0);
    const third = get(`${base}${slowQuery}`);
    expect(await second).toBe('aborted');
    expect((await first).status).toBe(200);
    expect((await third).status).toBe(200);
  });

  it('fails a query that needs more memory than a thread may use, alone, with a 503', async () => {
    const { base } = await serve({ memoryMb: 24 });
    const big = await get(`${base}${bigQuery}`);
    expect(big.status).toBe(503);
    expect(big.body).toMatchObject({ code: 'UNAVAILABLE', error: expect.stringMatching(/more than the 24 MB/) });
    expect((await get(`${base}/runs?columns=run_id&limit=1`)).status).toBe(200);
  });
});
