import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { RunStore } from '../db/store.js';
import { compareGroups } from '../query/compare.js';
import { findRuns } from '../query/find-runs.js';
import { requireToken } from './auth.js';
import { evaluateReadiness, type ReadinessCheck } from './health.js';
import { errorResponse, HttpError, readJsonBody, sendJson, sendText } from './respond.js';
import { splitFieldList } from '../query/field-list.js';

export interface HttpLogger {
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface HttpDeps {
  store: RunStore;
  checks: readonly ReadinessCheck[];
  metrics: { contentType: string; render(): Promise<string> };
  /** POST /runs: registers a launch; returns what to answer. */
  launch(body: Record<string, unknown>): Promise<{ runId: string; created: boolean; status: string | null }>;
  /** PATCH /runs/:id: sets attachments; false when the run does not exist. */
  annotate(runId: string, body: Record<string, unknown>): Promise<boolean>;
  /** Required on write endpoints when set. */
  token?: string | undefined;
  log?: HttpLogger;
}

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

/**
 * The daemon's HTTP API. Built here and started by the caller (`server.listen`), so tests bind it to
 * port 0. Read endpoints are open; writes need the bearer token when one is configured.
 */
export function createHttpServer(deps: HttpDeps): Server {
  const routes: Record<string, Record<string, Handler>> = {
    '/healthz': { GET: async (_req, res) => sendJson(res, 200, { status: 'ok' }) },
    '/readyz': {
      GET: async (_req, res) => {
        const report = await evaluateReadiness(deps.checks);
        sendJson(res, report.ready ? 200 : 503, {
          status: report.ready ? 'ready' : 'not ready',
          failed: report.failed,
          checks: report.checks,
        });
      },
    },
    '/metrics': { GET: async (_req, res) => sendText(res, 200, deps.metrics.contentType, await deps.metrics.render()) },
    '/runs': {
      GET: async (_req, res, url) => {
        const q = url.searchParams;
        const rows = await findRuns(deps.store, {
          ...whereOf(q),
          ...(q.get('columns') ? { columns: list(q.get('columns')) } : {}),
          ...(q.get('order') ? { order: list(q.get('order')) } : {}),
          ...(q.get('limit') !== null ? { limit: integer(q.get('limit'), 'limit') } : {}),
          includeDeleted: flag(q.get('include_deleted')),
        });
        sendJson(res, 200, { count: rows.length, runs: rows });
      },
      POST: async (req, res) => {
        requireToken(req, deps.token);
        const outcome = await deps.launch(await readJsonBody(req));
        sendJson(res, outcome.created ? 201 : 200, {
          run_id: outcome.runId,
          created: outcome.created,
          status: outcome.status,
        });
      },
    },
    '/compare': {
      GET: async (_req, res, url) => {
        const q = url.searchParams;
        const by = q.get('by');
        if (!by) throw new HttpError(400, 'give by=<field> (e.g. by=gradient_method)');
        const objective = q.get('objective');
        const metric = q.get('metric');
        if (!objective && !metric) throw new HttpError(400, 'give objective=<name> or metric=<field>');
        const result = await compareGroups(deps.store, {
          by,
          ...(objective ? { objective } : {}),
          ...(metric ? { metric } : {}),
          ...whereOf(q),
          includeDeleted: flag(q.get('include_deleted')),
        });
        sendJson(res, 200, result);
      },
    },
  };

  const patchRun: Handler = async (req, res, url) => {
    requireToken(req, deps.token);
    const runId = decodeURIComponent(url.pathname.slice('/runs/'.length));
    if (!runId) throw new HttpError(404, 'no run id in the path');
    const found = await deps.annotate(runId, await readJsonBody(req));
    if (!found) throw new HttpError(404, `no run ${runId}`);
    sendJson(res, 200, { run_id: runId, updated: true });
  };

  return createServer((req, res) => {
    void (async () => {
      try {
        const url = new URL(req.url ?? '/', 'http://localhost');
        const path = url.pathname.replace(/\/+$/, '') || '/';
        const methods = path.startsWith('/runs/') ? { PATCH: patchRun } : routes[path];
        if (!methods) throw new HttpError(404, `no endpoint ${path}`);
        const handler = methods[req.method ?? 'GET'];
        if (!handler) {
          res.setHeader('allow', Object.keys(methods).join(', '));
          throw new HttpError(405, `${req.method} is not allowed on ${path}`);
        }
        await handler(req, res, url);
      } catch (error) {
        const { status, body } = errorResponse(error);
        if (status >= 500)
          deps.log?.error(
            { err: error instanceof Error ? error.message : String(error), path: req.url?.split('?')[0] },
            'request failed',
          );
        if (!res.headersSent) sendJson(res, status, body);
        else res.destroy();
      }
    })();
  });
}

function whereOf(q: URLSearchParams): { where?: string | Record<string, unknown> } {
  const where = q.get('where');
  const mongo = q.get('mongo');
  if (where && mongo) throw new HttpError(400, 'give where= or mongo=, not both');
  if (where) return { where };
  if (!mongo) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(mongo);
  } catch (error) {
    throw new HttpError(400, `mongo= is not JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new HttpError(400, 'mongo= must be a JSON object');
  return { where: parsed as Record<string, unknown> };
}

function list(text: string | null): string[] {
  return splitFieldList(text);
}

function integer(text: string | null, name: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0)
    throw new HttpError(400, `${name} must be a whole number >= 0, got ${JSON.stringify(text)}`);
  return n;
}

function flag(text: string | null): boolean {
  return text === '1' || text === 'true';
}
