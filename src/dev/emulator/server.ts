/**
 * The W&B emulator: POST /graphql on 127.0.0.1, HTTP Basic auth, every query validated against
 * src/wandb/schema.graphql and executed by graphql-js over the in-memory store, with failures injected
 * on demand. Request handling order: auth (401) → body → hooks.onRequest → rate limiter / faults →
 * GraphQL syntax, mutations (the emulator is read-only) and validation (400) → execution (200, resolver
 * errors in `errors`) → poison check (500). The log gets one line per request: warn for 4xx, error for
 * 5xx and for a 200 that carries `errors` (a failure the status hides).
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { execute, getOperationAST, GraphQLError, parse, validate } from 'graphql';
import type { DocumentNode, GraphQLSchema } from 'graphql';
import type { WandbRunNode } from '../../core/wandb-run.js';
import { FaultPlan, RateLimiter } from './faults.js';
import { basicPassword, BodyTooLarge, readBody, send, sendJson } from './http.js';
import { createRootValue } from './resolvers.js';
import type { ResolverContext } from './resolvers.js';
import { describeOperations, unknownFieldsAndArguments, writeOperations } from './rejections.js';
import { loadWandbSchema } from './schema.js';
import { RunStore } from './store.js';
import type {
  EmulatorHooks,
  EmulatorLogLevel,
  EmulatorStats,
  FaultKind,
  FaultOptions,
  FaultSpec,
  PageRecord,
  RateLimitOptions,
  WandbEmulator,
  WandbEmulatorOptions,
} from './types.js';

const MAX_PAGE_RECORDS = 10_000;
const MAX_LOGGED_MESSAGE = 300;

/** What a handled request adds to its log line; a plain string logs at the level its status implies. */
type Outcome = string | { note: string; level: EmulatorLogLevel };

function clip(text: string): string {
  return text.length > MAX_LOGGED_MESSAGE ? `${text.slice(0, MAX_LOGGED_MESSAGE)}…` : text;
}

/** "errors=2: <first message> at project.sweep" for a 200 answer that carries errors. */
function describeErrors(errors: readonly { message: string; path?: readonly (string | number)[] }[]): string {
  const first = errors[0];
  if (!first) return 'errors=0';
  const at = first.path && first.path.length > 0 ? ` at ${first.path.join('.')}` : '';
  return `errors=${errors.length}: ${clip(first.message)}${at}`;
}

interface ParsedRequest {
  query: string;
  variables: Record<string, unknown>;
  operationName: string | undefined;
  document: DocumentNode | undefined;
  syntaxError: GraphQLError | undefined;
  label: string;
}

function emptyStats(): EmulatorStats {
  return { requests: 0, byStatus: {}, byOperation: {}, faultsInjected: 0, faultsByKind: {}, pages: [] };
}

function parseRequest(body: string): ParsedRequest | string {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return 'request body is not valid JSON';
  }
  if (!json || typeof json !== 'object' || Array.isArray(json))
    return 'request body must be a JSON object {query, variables, operationName}';
  const { query, variables, operationName } = json as Record<string, unknown>;
  if (typeof query !== 'string' || query.trim() === '') return 'Must provide query string.';
  if (variables != null && (typeof variables !== 'object' || Array.isArray(variables)))
    return 'variables must be a JSON object';
  if (operationName != null && typeof operationName !== 'string') return 'operationName must be a string';
  // "" is what some clients send for "no name": treat it as absent.
  const opName = operationName ? operationName : undefined;
  let document: DocumentNode | undefined;
  let syntaxError: GraphQLError | undefined;
  try {
    document = parse(query);
  } catch (error) {
    syntaxError = error instanceof GraphQLError ? error : new GraphQLError(String(error));
  }
  const op = document ? getOperationAST(document, opName) : null;
  return {
    query,
    variables: (variables ?? {}) as Record<string, unknown>,
    operationName: opName,
    document,
    syntaxError,
    label: op?.name?.value ?? opName ?? (document ? '(anonymous)' : '(invalid)'),
  };
}

export async function startWandbEmulator(opts: WandbEmulatorOptions = {}): Promise<WandbEmulator> {
  const schema: GraphQLSchema = loadWandbSchema(opts.schemaPath);
  const apiKeys = opts.apiKeys && opts.apiKeys.length > 0 ? [...opts.apiKeys] : [opts.apiKey ?? 'emulator-key'];
  if (apiKeys.some((k) => typeof k !== 'string' || k === '')) throw new TypeError('API keys must be non-empty strings');
  const now = opts.now ?? Date.now;
  const store = new RunStore(now);
  for (const seed of opts.projects ?? []) {
    store.addRuns(seed.entity, seed.project, seed.runs);
    if (seed.sweeps) store.setSweeps(seed.entity, seed.project, seed.sweeps);
  }
  const defaultEntity = opts.defaultEntity ?? opts.projects?.[0]?.entity ?? 'emulator';
  const maxPageSize = opts.maxPageSize ?? 1000;
  const compression = opts.compression ?? true;
  const rootValue = createRootValue();
  const log = opts.log;

  let faults = new FaultPlan(opts.faults);
  let limiter = opts.rateLimit ? new RateLimiter(opts.rateLimit, Date.now) : undefined;
  let hooks: EmulatorHooks = { ...opts.hooks };
  let stats = emptyStats();
  let requestNumber = 0;
  let pageIndex = 0;
  const timers = new Set<NodeJS.Timeout>();

  const countFault = (kind: FaultKind | 'poison' | 'rateLimiter'): void => {
    stats.faultsInjected++;
    stats.faultsByKind[kind] = (stats.faultsByKind[kind] ?? 0) + 1;
  };
  const countStatus = (status: number): void => {
    stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
  };
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  // Filled once the server listens (the URL needs the port); hooks receive it, and none run before then.
  const self: { emulator?: WandbEmulator } = {};

  /** Applies an injected fault: 'done' when it answered, 'continue' to answer normally, 'truncate' to cut the answer. */
  const applyFault = async (
    fault: FaultSpec,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<'done' | 'continue' | 'truncate'> => {
    countFault(fault.kind);
    switch (fault.kind) {
      case 'rateLimit': {
        const reset = fault.resetSeconds ?? 2;
        const headers: Record<string, string> = {
          'RateLimit-Limit': String(fault.limit ?? 100),
          'RateLimit-Remaining': '0',
          'RateLimit-Reset': String(reset),
        };
        if (fault.retryAfterSeconds !== null) headers['Retry-After'] = String(fault.retryAfterSeconds ?? reset);
        countStatus(429);
        sendJson(req, res, 429, { error: 'rate limit exceeded' }, { headers });
        return 'done';
      }
      case 'httpError':
        countStatus(fault.status);
        if (fault.status === 500) sendJson(req, res, 500, { errors: [{ message: 'Internal Server Error' }] });
        else if (fault.status === 502)
          send(req, res, {
            status: 502,
            contentType: 'text/html',
            body: '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>\n',
          });
        else
          send(req, res, {
            status: 503,
            contentType: 'text/plain',
            body: 'upstream connect error or disconnect/reset before headers. reset reason: overflow',
          });
        return 'done';
      case 'graphqlError':
        countStatus(200);
        sendJson(req, res, 200, {
          errors: [
            { message: fault.message ?? 'An internal error occurred. Please contact support.', path: ['project'] },
          ],
          data: null,
        });
        return 'done';
      case 'slow':
        await sleep(fault.delayMs);
        return 'continue';
      case 'truncate':
        return 'truncate';
      case 'reset':
        countStatus(0);
        req.socket.destroy();
        return 'done';
    }
  };

  const handleGraphql = async (req: IncomingMessage, res: ServerResponse, number: number): Promise<Outcome> => {
    const password = basicPassword(req.headers.authorization);
    if (password === undefined || !apiKeys.includes(password)) {
      countStatus(401);
      sendJson(req, res, 401, {
        errors: [{ message: password === undefined ? 'user is not logged in' : 'invalid API key' }],
      });
      return 'unauthenticated';
    }
    let body: string;
    try {
      body = await readBody(req);
    } catch (error) {
      const status = error instanceof BodyTooLarge ? 413 : 400;
      countStatus(status);
      sendJson(req, res, status, { errors: [{ message: (error as Error).message }] });
      return 'bad body';
    }
    const parsed = parseRequest(body);
    if (typeof parsed === 'string') {
      countStatus(400);
      sendJson(req, res, 400, { errors: [{ message: parsed }] });
      return 'bad request';
    }
    stats.byOperation[parsed.label] = (stats.byOperation[parsed.label] ?? 0) + 1;
    await hooks.onRequest?.(
      { requestNumber: number, operationName: parsed.label, query: parsed.query, variables: parsed.variables },
      self.emulator as WandbEmulator,
    );

    if (limiter) {
      const l = limiter.take();
      const headers = {
        'RateLimit-Limit': String(l.limit),
        'RateLimit-Remaining': String(l.remaining),
        'RateLimit-Reset': String(l.resetSeconds),
      };
      res.setHeader('RateLimit-Limit', headers['RateLimit-Limit']);
      res.setHeader('RateLimit-Remaining', headers['RateLimit-Remaining']);
      res.setHeader('RateLimit-Reset', headers['RateLimit-Reset']);
      if (l.limited) {
        countFault('rateLimiter');
        countStatus(429);
        sendJson(
          req,
          res,
          429,
          { error: 'rate limit exceeded' },
          { headers: { ...headers, 'Retry-After': String(l.resetSeconds) } },
        );
        return `${parsed.label} rate-limited`;
      }
    }

    let truncate = false;
    const fault = faults.next();
    if (fault) {
      const outcome = await applyFault(fault, req, res);
      if (outcome === 'done' && fault.kind === 'graphqlError')
        return { note: `${parsed.label} fault=graphqlError`, level: 'error' };
      if (outcome === 'done') return `${parsed.label} fault=${fault.kind}`;
      truncate = outcome === 'truncate';
    }
    if (res.destroyed) return `${parsed.label} client gone`;

    if (!parsed.document) {
      countStatus(400);
      sendJson(req, res, 400, { errors: [parsed.syntaxError?.toJSON() ?? { message: 'Syntax Error' }] });
      return `${parsed.label} syntax error`;
    }
    const writes = writeOperations(parsed.document);
    if (writes.length > 0) {
      const what = describeOperations(writes);
      countStatus(400);
      sendJson(req, res, 400, {
        errors: [
          {
            message: `The W&B emulator is read-only: it answers queries, not ${what}. Nothing was changed.`,
            extensions: { code: 'READ_ONLY' },
          },
        ],
      });
      return `${parsed.label} refused ${what}`;
    }
    const validationErrors = validate(schema, parsed.document);
    if (validationErrors.length > 0) {
      countStatus(400);
      sendJson(req, res, 400, { errors: validationErrors.map((e) => e.toJSON()) });
      const unknown = unknownFieldsAndArguments(schema, parsed.document);
      const why =
        unknown.length > 0
          ? `not in the schema: ${unknown.join(', ')}`
          : clip(validationErrors.map((e) => e.message).join(' | '));
      return `${parsed.label} invalid (${why})`;
    }

    const served = new Set<string>();
    const servedHeavy = new Set<string>();
    const contextValue: ResolverContext = {
      store,
      defaultEntity,
      maxPageSize,
      served,
      servedHeavy,
      beforePage: async (info) => {
        const i = pageIndex++;
        await hooks.beforePage?.({ ...info, pageIndex: i }, self.emulator as WandbEmulator);
      },
      recordPage: (page: PageRecord) => {
        stats.pages.push(page);
        if (stats.pages.length > MAX_PAGE_RECORDS) stats.pages.splice(0, stats.pages.length - MAX_PAGE_RECORDS);
      },
    };
    const result = await execute({
      schema,
      document: parsed.document,
      rootValue,
      contextValue,
      variableValues: parsed.variables,
      operationName: parsed.operationName,
    });

    const poisoned = [...(faults.poisonMode === 'any' ? served : servedHeavy)].find((name) => faults.poison.has(name));
    if (poisoned !== undefined) {
      countFault('poison');
      countStatus(500);
      sendJson(req, res, 500, {
        errors: [{ message: 'Internal Server Error', path: ['project', 'runs'] }],
        data: null,
      });
      return `${parsed.label} poison run`;
    }
    // A request-level failure (e.g. several operations and no operationName) has no `data` at all.
    const status = 'data' in result ? 200 : 400;
    countStatus(status);
    sendJson(req, res, status, result, { compress: compression, truncateAt: truncate ? 'half' : undefined });
    const note = `${parsed.label}${truncate ? ' fault=truncate' : ''}`;
    if (result.errors && result.errors.length > 0)
      return { note: `${note} ${describeErrors(result.errors)}`, level: status === 200 ? 'error' : 'warn' };
    return note;
  };

  const server = createServer((req, res) => {
    const started = Date.now();
    const number = ++requestNumber;
    stats.requests++;
    const path = (req.url ?? '/').split('?')[0];
    const done = (outcome: Outcome): void => {
      if (!log) return;
      const note = typeof outcome === 'string' ? outcome : outcome.note;
      const status = res.statusCode;
      const level: EmulatorLogLevel =
        typeof outcome === 'string' ? (status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info') : outcome.level;
      const prefix = level === 'info' ? '' : `${level.toUpperCase()} `;
      log(`${prefix}${req.method} ${path} ${status} ${note} ${Date.now() - started}ms`, level);
    };
    if (path === '/healthz' && req.method === 'GET') {
      countStatus(200);
      send(req, res, { status: 200, contentType: 'text/plain', body: 'ok\n' });
      return done('health');
    }
    if (path !== '/graphql' && path !== '/graphql/') {
      countStatus(404);
      sendJson(req, res, 404, { errors: [{ message: `no route ${path}` }] });
      return done('not found');
    }
    if (req.method !== 'POST') {
      countStatus(405);
      sendJson(req, res, 405, { errors: [{ message: 'use POST /graphql' }] }, { headers: { allow: 'POST' } });
      return done('method not allowed');
    }
    handleGraphql(req, res, number).then(done, (error: unknown) => {
      // A bug in the emulator itself (or a throwing hook): answer 500 rather than hang the client.
      countStatus(500);
      sendJson(req, res, 500, {
        errors: [{ message: `emulator error: ${(error as Error)?.message ?? String(error)}` }],
      });
      done('emulator error');
    });
  });
  // Clients (undici) keep connections alive; the emulator should not be the side that drops them first.
  server.keepAliveTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  const emulator: WandbEmulator = {
    url: `http://${host}:${address.port}`,
    port: address.port,
    apiKey: apiKeys[0] as string,
    addRuns: (entity, project, nodes) => store.addRuns(entity, project, nodes),
    setSweeps: (entity, project, sweeps) => store.setSweeps(entity, project, sweeps),
    setProject: (entity, project, nodes) => store.setProject(entity, project, nodes),
    removeProject: (entity, project) => store.removeProject(entity, project),
    updateRun: (entity, project, name, patch, o) => store.updateRun(entity, project, name, patch, o),
    deleteRun: (entity, project, name) => store.deleteRun(entity, project, name),
    getRun: (entity, project, name) => store.getRun(entity, project, name),
    listRuns: (entity, project): WandbRunNode[] => [...(store.getProject(entity, project)?.runs.values() ?? [])],
    setFaults: (f: FaultOptions | undefined) => {
      faults = new FaultPlan(f);
    },
    setHooks: (h: EmulatorHooks) => {
      hooks = { ...h };
      pageIndex = 0;
    },
    setRateLimit: (l: RateLimitOptions | undefined) => {
      limiter = l ? new RateLimiter(l, Date.now) : undefined;
    },
    stats: () => structuredClone(stats),
    resetStats: () => {
      stats = emptyStats();
    },
    close: async () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  self.emulator = emulator;
  return emulator;
}
