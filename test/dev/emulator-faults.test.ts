import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startWandbEmulator, offsetToCursor } from '../../src/dev/emulator/index.js';
import type { FaultSpec, WandbEmulator } from '../../src/dev/emulator/index.js';
import { generateRuns } from '../../src/dev/generate/index.js';
import { basicAuth, gql, RUNS_PAGE, RUN_NAMES_PAGE } from './helpers.js';

const E = 'lab';
const P = 'faults';
const RUNS = generateRuns({ runs: 120, seed: 5, entity: E, project: P });
const VIEWER = 'query Viewer { viewer { username } }';
let emu: WandbEmulator;

beforeAll(async () => {
  emu = await startWandbEmulator({ projects: [{ entity: E, project: P, runs: RUNS }] });
});
beforeEach(() => {
  emu.setFaults(undefined);
  emu.setRateLimit(undefined);
  emu.resetStats();
});
afterAll(() => emu.close());

async function rawPost(): Promise<{ status: number; headers: Record<string, unknown>; text: Promise<string> }> {
  const res = await request(`${emu.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: basicAuth(emu.apiKey) },
    body: JSON.stringify({ query: RUNS_PAGE, variables: { entity: E, project: P, first: 100 } }),
  });
  return { status: res.statusCode, headers: res.headers, text: res.body.text() };
}

describe('W&B emulator: injected faults', () => {
  it('scripts faults by request number, then passes requests through', async () => {
    emu.setFaults({
      script: [
        null,
        { kind: 'httpError', status: 500 },
        undefined,
        { kind: 'httpError', status: 502 },
        { kind: 'httpError', status: 503 },
      ],
    });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await gql(emu, VIEWER)).status);
    expect(statuses).toEqual([200, 500, 200, 502, 503, 200]);
    const s = emu.stats();
    expect(s.faultsInjected).toBe(3);
    expect(s.byStatus).toEqual({ 200: 3, 500: 1, 502: 1, 503: 1 });
    expect(s.faultsByKind).toEqual({ httpError: 3 });
  });

  it('answers 502/503 with non-JSON bodies, as a load balancer does', async () => {
    emu.setFaults({
      script: [
        { kind: 'httpError', status: 502 },
        { kind: 'httpError', status: 503 },
      ],
    });
    const a = await gql(emu, VIEWER);
    expect(a.headers['content-type']).toMatch(/text\/html/);
    expect(a.body).toBeUndefined();
    const b = await gql(emu, VIEWER);
    expect(b.headers['content-type']).toMatch(/text\/plain/);
  });

  it("rate-limits with 429, W&B's body and RateLimit-* / Retry-After headers", async () => {
    emu.setFaults({
      script: [
        { kind: 'rateLimit', retryAfterSeconds: 3, resetSeconds: 4, limit: 50 },
        { kind: 'rateLimit', retryAfterSeconds: null },
      ],
    });
    const res = await gql(emu, VIEWER);
    expect(res.status).toBe(429);
    expect(res.body).toEqual({ error: 'rate limit exceeded' });
    expect(res.headers['ratelimit-limit']).toBe('50');
    expect(res.headers['ratelimit-remaining']).toBe('0');
    expect(res.headers['ratelimit-reset']).toBe('4');
    expect(res.headers['retry-after']).toBe('3');
    const noRetryAfter = await gql(emu, VIEWER);
    expect(noRetryAfter.status).toBe(429);
    expect(noRetryAfter.headers['retry-after']).toBeUndefined();
  });

  it('returns HTTP 200 with errors and data: null', async () => {
    emu.setFaults({ script: [{ kind: 'graphqlError', message: 'boom' }] });
    const res = await gql(emu, VIEWER);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ errors: [{ message: 'boom', path: ['project'] }], data: null });
  });

  it('delays a slow response, then answers normally', async () => {
    emu.setFaults({ script: [{ kind: 'slow', delayMs: 400 }] });
    const started = Date.now();
    const res = await gql(emu, VIEWER);
    expect(Date.now() - started).toBeGreaterThanOrEqual(380);
    expect(res.status).toBe(200);
    expect(res.body.data.viewer.username).toBe('emulator');
  });

  it('cuts a body off mid-stream: headers promise more bytes than arrive', async () => {
    emu.setFaults({ script: [{ kind: 'truncate' }] });
    const res = await rawPost();
    expect(res.status).toBe(200);
    expect(Number(res.headers['content-length'])).toBeGreaterThan(1000);
    await expect(res.text).rejects.toThrow();
    expect((await gql(emu, VIEWER)).status).toBe(200);
    expect(emu.stats().faultsByKind.truncate).toBe(1);
  });

  it('resets the connection without an answer', async () => {
    emu.setFaults({ script: [{ kind: 'reset' }] });
    await expect(gql(emu, VIEWER)).rejects.toThrow();
    expect((await gql(emu, VIEWER)).status).toBe(200);
  });

  it('fails every page that contains a poison run until the client shrinks past it', async () => {
    const poison = RUNS[37]!.name;
    emu.setFaults({ poisonRuns: [poison] });
    const page = (first: number, after: number | null, query = RUNS_PAGE): ReturnType<typeof gql> =>
      gql(emu, query, { entity: E, project: P, first, after: after === null ? null : offsetToCursor(after) });
    expect((await page(50, null)).status).toBe(500);
    expect((await page(50, 29)).status).toBe(500);
    expect((await page(30, 6)).status).toBe(200); // offsets 7..36
    expect((await page(1, 36)).status).toBe(500); // offset 37 alone
    expect((await page(50, 37)).status).toBe(200); // past it
    // A light query (names only) still succeeds, so the client can learn which run it is.
    const light = await page(1, 36, RUN_NAMES_PAGE);
    expect(light.status).toBe(200);
    expect(light.body.data.project.runs.edges[0].node.name).toBe(poison);
    const single = await gql(
      emu,
      `query { project(name: "${P}", entityName: "${E}") { run(name: "${poison}") { config } } }`,
    );
    expect(single.status).toBe(500);
    expect(emu.stats().faultsByKind.poison).toBe(4);

    emu.setFaults({ poisonRuns: [poison], poisonMode: 'any' });
    expect((await page(1, 36, RUN_NAMES_PAGE)).status).toBe(500);
  });

  it('draws random faults reproducibly from a seed', async () => {
    const kinds: FaultSpec[] = [{ kind: 'httpError', status: 503 }, { kind: 'rateLimit' }];
    const run = async (): Promise<number[]> => {
      emu.setFaults({ probability: 0.4, seed: 77, kinds });
      const out: number[] = [];
      for (let i = 0; i < 25; i++) out.push((await gql(emu, VIEWER)).status);
      return out;
    };
    const a = await run();
    const b = await run();
    expect(a).toEqual(b);
    expect(a).toContain(200);
    expect(a.some((s) => s === 503 || s === 429)).toBe(true);
  });

  it('can rate-limit for real with a fixed window and RateLimit headers', async () => {
    emu.setRateLimit({ requests: 3, windowSeconds: 60 });
    const statuses: number[] = [];
    let remaining: unknown;
    for (let i = 0; i < 5; i++) {
      const res = await gql(emu, VIEWER);
      statuses.push(res.status);
      if (i === 1) remaining = res.headers['ratelimit-remaining'];
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(remaining).toBe('1');
    expect(emu.stats().faultsByKind.rateLimiter).toBe(2);
  });

  it('runs onRequest before faults, with the operation name', async () => {
    const seen: string[] = [];
    emu.setHooks({ onRequest: (info) => void seen.push(`${info.requestNumber > 0}:${info.operationName}`) });
    emu.setFaults({ script: [{ kind: 'httpError', status: 500 }] });
    await gql(emu, VIEWER);
    await gql(emu, '{ viewer { id } }');
    expect(seen).toEqual(['true:Viewer', 'true:(anonymous)']);
    emu.setHooks({});
  });
});
