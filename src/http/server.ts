import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { RunStore } from '../db/store.js';
import { inlineReads, type ReadQueries } from '../app/read-pool.js';
import { Authorizer, checkHost, type Access } from './auth.js';
import { evaluateReadiness, type ReadinessCheck } from './health.js';
import { openApiDocument } from './openapi.js';
import { errorResponse, HttpError, readJsonBody, sendBytes, sendJson, sendText } from './respond.js';
import { compareParams, runsPageParams, strictParams } from './params.js';

export interface HttpLogger {
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface HttpDeps {
  /** Where queries run: the daemon passes its pool of query threads. */
  reads?: ReadQueries;
  /** Without `reads`, queries run on this store on the calling thread (tests, tools; never the daemon). */
  store?: RunStore;
  checks: readonly ReadinessCheck[];
  metrics: { contentType: string; render(): Promise<string> };
  /** POST /runs: registers a launch; returns what to answer. */
  launch(body: Record<string, unknown>): Promise<{ runId: string; created: boolean; status: string | null }>;
  /** PATCH /runs/:id: sets attachments; false when the run does not exist. */
  annotate(runId: string, body: Record<string, unknown>): Promise<boolean>;
  /** TRAINDB_API_TOKEN: required on writes when set, and accepted for reads. At least 32 characters. */
  token?: string | undefined;
  /** TRAINDB_READ_TOKEN: accepted for reads only. At least 32 characters. */
  readToken?: string | undefined;
  /**
   * The address the server will listen on (default 127.0.0.1). On loopback, requests must name a loopback
   * host; off loopback, reads need a token.
   */
  host?: string;
  log?: HttpLogger;
}

/** One endpoint: its method and path (`{run_id}` is one path segment, percent-encoded), who may call it, its query parameters. */
export interface Endpoint {
  method: 'GET' | 'POST' | 'PATCH';
  path: string;
  access: Access;
  /** Accepted query parameters; any other is a 400. Undefined: parameters are ignored (probes, documents). */
  params?: readonly string[];
}

export const RUNS_PARAMS = ['where', 'mongo', 'columns', 'order', 'limit', 'after', 'include_deleted'] as const;
export const COMPARE_PARAMS = ['by', 'objective', 'metric', 'where', 'mongo', 'include_deleted'] as const;

/** Every endpoint the server answers; the OpenAPI document describes exactly these (a test holds them equal). */
export const ENDPOINTS: readonly Endpoint[] = [
  { method: 'GET', path: '/healthz', access: 'open' },
  { method: 'GET', path: '/readyz', access: 'open' },
  { method: 'GET', path: '/openapi.json', access: 'open' },
  { method: 'GET', path: '/metrics', access: 'read' },
  { method: 'GET', path: '/runs', access: 'read', params: RUNS_PARAMS },
  { method: 'POST', path: '/runs', access: 'write', params: [] },
  { method: 'PATCH', path: '/runs/{run_id}', access: 'write', params: [] },
  { method: 'GET', path: '/compare', access: 'read', params: COMPARE_PARAMS },
];

/** Longest request target accepted; Node's own header limit is raised above it so the answer is a JSON 414. */
export const MAX_URL_LENGTH = 32_768;

type Handler = (
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  params: Map<string, string>,
  gone: AbortSignal,
) => Promise<void>;

/**
 * The daemon's HTTP API. Built here and started by the caller (`server.listen`), so tests bind it to
 * port 0. See the README's "HTTP API" section for the rules (auth, Host check, paging, limits).
 */
export function createHttpServer(deps: HttpDeps): Server {
  const host = deps.host ?? '127.0.0.1';
  const auth = new Authorizer({ host, token: deps.token, readToken: deps.readToken });
  const reads = deps.reads ?? (deps.store ? inlineReads(deps.store) : undefined);
  if (!reads) throw new Error('createHttpServer needs reads (a query pool) or a store');

  const handlers: Record<string, Handler> = {
    'GET /healthz': async (_req, res) => sendJson(res, 200, { status: 'ok' }),
    'GET /readyz': async (req, res) => {
      const report = await evaluateReadiness(deps.checks);
      const status = report.ready ? 'ready' : 'not ready';
      // Open for probes, but which checks failed (project names, errors) is for readers only.
      if (!auth.mayRead(req)) return sendJson(res, report.ready ? 200 : 503, { status });
      sendJson(res, report.ready ? 200 : 503, { status, failed: report.failed, checks: report.checks });
    },
    'GET /openapi.json': async (_req, res) => sendJson(res, 200, openApiDocument()),
    'GET /metrics': async (_req, res) => sendText(res, 200, deps.metrics.contentType, await deps.metrics.render()),
    'GET /runs': async (_req, res, _url, params, gone) =>
      sendBytes(res, 200, await reads.runsPage(runsPageParams(params), gone)),
    'POST /runs': async (req, res) => {
      const outcome = await deps.launch(await readJsonBody(req));
      sendJson(res, outcome.created ? 201 : 200, {
        run_id: outcome.runId,
        created: outcome.created,
        status: outcome.status,
      });
    },
    'PATCH /runs/{run_id}': async (req, res, url) => {
      const runId = runIdOf(url.pathname);
      const found = await deps.annotate(runId, await readJsonBody(req));
      if (!found) throw new HttpError(404, `no run ${JSON.stringify(runId)}`);
      sendJson(res, 200, { run_id: runId, updated: true });
    },
    'GET /compare': async (_req, res, _url, params, gone) =>
      sendBytes(res, 200, await reads.compare(compareParams(params), gone)),
  };

  const server = createServer({ maxHeaderSize: 2 * MAX_URL_LENGTH, requestTimeout: 60_000 }, (req, res) => {
    void (async () => {
      try {
        const target = req.url ?? '/';
        if (target.length > MAX_URL_LENGTH)
          throw new HttpError(
            414,
            `the URL is ${target.length} characters long; at most ${MAX_URL_LENGTH} are accepted (ask for fewer columns or a shorter filter)`,
          );
        if (!target.startsWith('/')) throw new HttpError(400, 'the request target must be a path starting with /');
        checkHost(req, host);
        const url = new URL(`http://localhost${target}`);
        const path = url.pathname.replace(/\/+$/, '') || '/';
        const endpoints = ENDPOINTS.filter((e) => matches(e.path, path));
        if (endpoints.length === 0) throw new HttpError(404, `no endpoint ${path} (see /openapi.json)`);
        const endpoint = endpoints.find((e) => e.method === req.method);
        if (!endpoint) {
          res.setHeader('allow', endpoints.map((e) => e.method).join(', '));
          throw new HttpError(405, `${req.method} is not allowed on ${path}`);
        }
        auth.check(req, endpoint.access);
        const params = strictParams(url.searchParams, endpoint);
        const gone = new AbortController();
        res.once('close', () => {
          if (!res.writableFinished) gone.abort();
        });
        await handlers[`${endpoint.method} ${endpoint.path}`]!(req, res, url, params, gone.signal);
      } catch (error) {
        const { status, body } = errorResponse(error);
        // A time-out or a full queue is the load, not a fault: a warning. Anything else at 500 is a bug.
        const fields = { err: error instanceof Error ? error.message : String(error), path: req.url?.split('?')[0] };
        if (status === 503) deps.log?.warn({ ...fields, code: body.code }, 'request refused');
        else if (status >= 500) deps.log?.error(fields, 'request failed');
        // The rest of a refused body is not read: close the connection after answering.
        if (status === 413) res.setHeader('connection', 'close');
        if (!res.headersSent) sendJson(res, status, body);
        else res.destroy();
      }
    })();
  });
  // Bounds open sockets (each may hold a body of up to MAX_BODY_BYTES being read).
  server.maxConnections = 256;
  return server;
}

function matches(template: string, path: string): boolean {
  if (!template.includes('{')) return template === path;
  const prefix = template.slice(0, template.indexOf('{'));
  return path.startsWith(prefix) && path.length > prefix.length;
}

/** The run id of `/runs/<percent-encoded id>`; ids with slashes travel encoded (or not: the rest of the path is the id). */
function runIdOf(pathname: string): string {
  const raw = pathname.replace(/\/+$/, '').slice('/runs/'.length);
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(
      400,
      `the run id in the path, ${JSON.stringify(raw.slice(0, 200))}, is not valid percent-encoding; encode it with encodeURIComponent`,
    );
  }
}
