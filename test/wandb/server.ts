/**
 * A scriptable HTTP server for the W&B client's unit tests (real sockets on 127.0.0.1, port 0), and a
 * tiny in-memory stand-in for W&B's run listing (offset cursors, `name $in` filters, a poison run).
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WandbRunNode } from '../../src/core/wandb-run.js';

export interface ReceivedRequest {
  index: number;
  /** performance.now() when the request arrived. */
  at: number;
  headers: IncomingHttpHeaders;
  operationName: string;
  query: string;
  variables: Record<string, unknown>;
}

export type Handler = (req: ReceivedRequest, res: ServerResponse) => void | Promise<void>;

export interface TestServer {
  url: string;
  requests: ReceivedRequest[];
  close(): Promise<void>;
}

export async function startServer(handler: Handler): Promise<TestServer> {
  const requests: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const at = performance.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Partial<ReceivedRequest>;
      const received: ReceivedRequest = {
        index: requests.length,
        at,
        headers: req.headers,
        operationName: body.operationName ?? '',
        query: body.query ?? '',
        variables: body.variables ?? {},
      };
      requests.push(received);
      Promise.resolve(handler(received, res)).catch((err: unknown) => {
        res.statusCode = 599;
        res.end(String(err));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export const cursorOf = (index: number): string => Buffer.from(`arrayconnection:${index}`).toString('base64');

export function makeRuns(count: number, prefix = 'run'): WandbRunNode[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `id-${i}`,
    name: `${prefix}${String(i).padStart(4, '0')}`,
    displayName: `run number ${i}`,
    state: 'finished',
    createdAt: `2024-01-01T00:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}`,
    config: JSON.stringify({ lr: { value: 0.001 * (i + 1) } }),
    summaryMetrics: JSON.stringify({ loss: 1 / (i + 1), _step: i }),
    systemMetrics: '{}',
    user: { username: 'alice' },
  }));
}

export interface FakeWandbOptions {
  entity?: string;
  project?: string;
  /** Names whose presence in a ListRuns page makes it fail with HTTP 500. */
  poison?: Set<string>;
  /** Poison runs also break the name-only probe. */
  poisonBreaksProbe?: boolean;
}

/** Answers ListRuns / ProbeRun / CountRuns / Viewer like W&B does, from an in-memory run list. */
export function fakeWandb(runs: () => WandbRunNode[], options: FakeWandbOptions = {}): Handler {
  const entity = options.entity ?? 'acme';
  const project = options.project ?? 'vision';
  return (req, res) => {
    const v = req.variables;
    if (req.operationName === 'Viewer') {
      sendJson(res, 200, { data: { viewer: { id: 'u1', username: 'alice', name: 'Alice', entity: 'acme' } } });
      return;
    }
    if (v['entity'] !== entity || v['project'] !== project) {
      sendJson(res, 200, { data: { project: null } });
      return;
    }
    const filters = JSON.parse(typeof v['filters'] === 'string' ? v['filters'] : '{}') as { name?: { $in?: string[] } };
    const wanted = filters.name?.$in;
    const all = runs().filter((r) => !wanted || wanted.includes(r.name));
    if (req.operationName === 'CountRuns') {
      sendJson(res, 200, { data: { project: { runCount: all.length } } });
      return;
    }
    const afterIndex =
      typeof v['after'] === 'string' ? Number(Buffer.from(v['after'], 'base64').toString().split(':')[1]) : -1;
    const offset = afterIndex + 1;
    const first = req.operationName === 'ProbeRun' ? 1 : Number(v['first'] ?? 50);
    const slice = all.slice(offset, offset + first);
    const poisoned = slice.some((r) => options.poison?.has(r.name));
    if (poisoned && (req.operationName === 'ListRuns' || options.poisonBreaksProbe)) {
      sendJson(res, 500, { errors: [{ message: 'internal server error' }] });
      return;
    }
    const edges = slice.map((r, i) =>
      req.operationName === 'ProbeRun'
        ? { node: { name: r.name }, cursor: cursorOf(offset + i) }
        : { node: r, cursor: cursorOf(offset + i) },
    );
    sendJson(res, 200, {
      data: {
        project: {
          name: project,
          entityName: entity,
          runs: {
            edges,
            pageInfo: {
              endCursor: edges.length > 0 ? cursorOf(offset + edges.length - 1) : null,
              hasNextPage: offset + first < all.length,
            },
          },
        },
      },
    });
  };
}
