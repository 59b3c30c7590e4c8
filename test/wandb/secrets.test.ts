import { inspect } from 'node:util';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWandbClient, type WandbClientEvent } from '../../src/wandb/index.js';
import { fakeWandb, makeRuns, sendJson, startServer, type Handler, type TestServer } from './server.js';

const API_KEY = 'sekrit0123456789abcdef0123456789abcdef01';
const FORMS = [API_KEY, Buffer.from(`api:${API_KEY}`).toString('base64'), API_KEY.slice(0, 24)];

/** Everything a log line, an error report or a metrics pipeline could ever print about `value`. */
function everything(value: unknown): string {
  const parts: string[] = [inspect(value, { depth: 20, showHidden: true, getters: true })];
  let cur: unknown = value;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 10; depth++) {
    parts.push(String(cur));
    try {
      parts.push(JSON.stringify(cur, Object.getOwnPropertyNames(cur)));
      parts.push(JSON.stringify(cur));
    } catch {
      // circular: inspect above covers it
    }
    if (cur instanceof Error) {
      parts.push(cur.stack ?? '', cur.message);
      cur = cur.cause;
    } else cur = undefined;
  }
  return parts.join('\n');
}

const runs = makeRuns(6);
const echo: Handler = (req, res) => {
  // A hostile server that echoes the credentials back in every possible place.
  const auth = String(req.headers.authorization);
  const decoded = Buffer.from(auth.replace('Basic ', ''), 'base64').toString();
  const noise = `${auth} ${decoded} ${API_KEY}`;
  switch (req.variables['project']) {
    case 'p401':
      return sendJson(res, 401, { error: `bad key ${noise}` });
    case 'p400':
      return sendJson(res, 400, { errors: [{ message: `Cannot query field "x": ${noise}` }] });
    case 'p500':
      return sendJson(res, 500, { errors: [{ message: `oops ${noise}` }] }, { 'x-echo': API_KEY });
    case 'p429':
      return sendJson(res, 429, { error: noise }, { 'retry-after': '0' });
    case 'p200err':
      return sendJson(res, 200, { errors: [{ message: `denied for ${noise}` }] });
    case 'phtml':
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<html>${noise}`);
      return;
    case 'ptrunc':
      res.writeHead(200, { 'content-length': '9999' });
      res.write(`{"data": "${noise}`);
      setTimeout(() => res.socket?.destroy(), 10);
      return;
    case 'phang':
      return; // never answers
    default:
      return fakeWandb(() => runs, { project: 'vision', poison: new Set(['run0002']) })(req, res);
  }
};

describe('the API key never leaks', () => {
  let server: TestServer;
  let agent: Agent;
  const events: WandbClientEvent[] = [];
  const errors: unknown[] = [];

  beforeAll(async () => {
    server = await startServer(echo);
    agent = new Agent();
  });
  afterAll(async () => {
    await agent.destroy();
    await server.close();
  });

  const client = (overrides: { baseUrl?: string } = {}) =>
    createWandbClient({
      baseUrl: overrides.baseUrl ?? server.url,
      apiKey: API_KEY,
      dispatcher: agent,
      requestsPerSecond: 1000,
      retries: 1,
      minRetryDelayMs: 1,
      maxRetryDelayMs: 2,
      timeoutMs: 200,
      pageSize: 4,
      onEvent: (e) => events.push(e),
    });

  it.each(['p401', 'p400', 'p500', 'p429', 'p200err', 'phtml', 'ptrunc', 'phang', 'missing'])(
    'not in the error for %s',
    async (project) => {
      const err = await client()
        .countRuns({ entity: 'acme', project })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(Error);
      errors.push(err);
      const text = everything(err);
      for (const form of FORMS) expect(text).not.toContain(form);
    },
  );

  it('not in a network error', async () => {
    const closed = await startServer(echo);
    await closed.close();
    const err = await client({ baseUrl: closed.url })
      .viewer()
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'WANDB_NETWORK' });
    errors.push(err);
    for (const form of FORMS) expect(everything(err)).not.toContain(form);
  });

  it('not in a listing with a poison run, nor in any event', async () => {
    const pages = [];
    for await (const page of client().listRuns({ entity: 'acme', project: 'vision' })) pages.push(page);
    expect(pages.flatMap((p) => p.poisonRuns)).toHaveLength(1);
    const text = everything(pages) + everything(events) + JSON.stringify(events);
    expect(events.length).toBeGreaterThan(20);
    for (const form of FORMS) expect(text).not.toContain(form);
  });

  it('while the server really received it', () => {
    expect(server.requests.length).toBeGreaterThan(10);
    expect(server.requests.every((r) => r.headers.authorization === `Basic ${FORMS[1]}`)).toBe(true);
    expect(errors.length).toBe(10);
  });
});
