import { TraindbError } from '../core/errors.js';
import type { WandbRunNode } from '../core/wandb-run.js';
import { WandbError, displayUrl, makeRedactor, type WandbErrorCode } from './errors.js';
import { decodeOffsetCursor, paginateRuns, type FetchedPage, type PageSource } from './paginate.js';
import { COUNT_RUNS_QUERY, LIST_RUNS_QUERY, PROBE_RUN_QUERY, VIEWER_QUERY } from './queries.js';
import { RateLimiter } from './rate-limiter.js';
import { withRetries } from './retry-policy.js';
import { createTransport, type CallContext, type GraphQLRequest } from './transport.js';
import type {
  ListRunsArgs,
  ProjectArgs,
  RunFilters,
  RunsPage,
  WandbClient,
  WandbClientEvent,
  WandbClientOptions,
  WandbClientStats,
  WandbViewer,
} from './types.js';

export const DEFAULT_BASE_URL = 'https://api.wandb.ai';

const SHORT_REASON: Record<WandbErrorCode, string> = {
  WANDB_AUTH: 'auth',
  WANDB_NOT_FOUND: 'not found',
  WANDB_BAD_REQUEST: 'bad request',
  WANDB_GRAPHQL: 'graphql error',
  WANDB_HTTP: 'http error',
  WANDB_NETWORK: 'network',
  WANDB_TIMEOUT: 'timeout',
  WANDB_BAD_RESPONSE: 'truncated or unparsable response',
};

export function createWandbClient(options: WandbClientOptions): WandbClient {
  const config = resolveOptions(options);
  const base = displayUrl(config.baseUrl);
  const stats: WandbClientStats = { requests: 0, retries: 0, rateLimited: 0, byStatus: {} };
  const emit = (event: WandbClientEvent): void => {
    try {
      options.onEvent?.(event);
    } catch {
      // a broken logger must not break a sync
    }
  };
  const transport = createTransport({
    baseUrl: config.baseUrl,
    apiKey: options.apiKey,
    ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    timeoutMs: config.timeoutMs,
    ...(options.signal ? { signal: options.signal } : {}),
    limiter: new RateLimiter(config.requestsPerSecond),
    redact: makeRedactor(options.apiKey),
    stats,
    emit,
  });

  function call(req: GraphQLRequest, ctx: CallContext, retries = config.retries): Promise<Record<string, unknown>> {
    return withRetries(
      (attempt) => transport(req, ctx, attempt),
      {
        retries,
        minDelayMs: config.minRetryDelayMs,
        maxDelayMs: config.maxRetryDelayMs,
      },
      {
        ...(options.signal ? { signal: options.signal } : {}),
        onRetry: ({ error, attempt, delayMs }) => {
          stats.retries++;
          emit({
            type: 'retry',
            operation: ctx.operation,
            ...(ctx.target !== undefined ? { target: ctx.target } : {}),
            attempt,
            attempts: retries + 1,
            reason: error.status === undefined ? SHORT_REASON[error.code] : `HTTP ${error.status}`,
            message: error.message,
            code: error.code,
            ...(error.status !== undefined ? { status: error.status } : {}),
            delayMs,
          });
        },
      },
    );
  }

  /** `data.project`, or WANDB_NOT_FOUND when the server answers `project: null`. */
  function projectOf(data: Record<string, unknown>, { entity, project }: ProjectArgs): Record<string, unknown> {
    const p = data['project'];
    if (p === null || p === undefined) {
      throw new WandbError(
        'WANDB_NOT_FOUND',
        `W&B project ${entity}/${project} not found at ${base} (check --entity/--project, and that the key can see it)`,
      );
    }
    if (typeof p !== 'object') throw badShape(`project of ${entity}/${project}`);
    return p as Record<string, unknown>;
  }

  function badShape(what: string): WandbError {
    return new WandbError(
      'WANDB_BAD_RESPONSE',
      `W&B's answer at ${base} has an unexpected shape (${what}): is this a W&B server?`,
    );
  }

  function encodeFilters(filters: RunFilters | undefined): string {
    if (filters === undefined) return '{}';
    return typeof filters === 'string' ? filters : JSON.stringify(filters);
  }

  function pageSource(args: ListRunsArgs, operation: 'listRuns' | 'getRuns'): PageSource {
    const { entity, project } = args;
    const target = `${entity}/${project}`;
    const filters = encodeFilters(args.filters);
    const order = args.order ?? '+created_at';
    const pageSize = positiveInt(args.pageSize ?? config.pageSize, 'pageSize');
    const what = operation === 'listRuns' ? `listing runs of ${target}` : `fetching runs by name in ${target}`;
    const runsOf = (data: Record<string, unknown>): Record<string, unknown> => {
      const runs = projectOf(data, args)['runs'];
      if (runs === null || typeof runs !== 'object') throw badShape(`project.runs of ${target}`);
      return runs as Record<string, unknown>;
    };
    return {
      entity,
      project,
      target,
      pageSize,
      retries: config.retries,
      shrinkRetries: config.shrinkRetries,
      emit,
      async fetchPage(after, first, retries, counter): Promise<FetchedPage> {
        const data = await call(
          {
            query: LIST_RUNS_QUERY,
            variables: { entity, project, filters, order, first, after },
            operationName: 'ListRuns',
          },
          { operation, target, what: `${what} (${first} from ${at(after)})`, counter },
          retries,
        );
        const p = projectOf(data, args);
        const runs = runsOf(data);
        const edges = runs['edges'];
        const pageInfo = runs['pageInfo'] as { endCursor?: unknown; hasNextPage?: unknown } | null | undefined;
        if (!Array.isArray(edges) || !pageInfo || typeof pageInfo !== 'object') throw badShape(`runs of ${target}`);
        const nodes = edges.map((edge: unknown) => {
          const node = (edge as { node?: unknown } | null)?.node as WandbRunNode | null | undefined;
          if (!node || typeof node !== 'object' || typeof node.name !== 'string')
            throw badShape(`a run without a name in ${target}`);
          return node;
        });
        const lastEdge = edges.at(-1) as { cursor?: unknown } | undefined;
        const endCursor =
          typeof pageInfo.endCursor === 'string'
            ? pageInfo.endCursor
            : typeof lastEdge?.cursor === 'string'
              ? lastEdge.cursor
              : null;
        return {
          projectName: typeof p['name'] === 'string' ? p['name'] : project,
          entityName: typeof p['entityName'] === 'string' ? p['entityName'] : entity,
          nodes,
          endCursor,
          hasNextPage: pageInfo.hasNextPage === true,
        };
      },
      async probeName(after, retries, counter) {
        const data = await call(
          { query: PROBE_RUN_QUERY, variables: { entity, project, filters, order, after }, operationName: 'ProbeRun' },
          { operation: 'probeRun', target, what: `naming the run at ${at(after)} in ${target}`, counter },
          retries,
        );
        const edges = runsOf(data)['edges'];
        const name = Array.isArray(edges)
          ? (edges[0] as { node?: { name?: unknown } } | undefined)?.node?.name
          : undefined;
        return typeof name === 'string' ? name : null;
      },
      async probeHealthy(retries, counter) {
        await countRunsWith({ entity, project, filters: args.filters }, 'probeRun', retries, counter);
      },
    };
  }

  async function countRunsWith(
    args: ProjectArgs & { filters?: RunFilters },
    operation: 'countRuns' | 'probeRun',
    retries = config.retries,
    counter?: { requests: number },
  ): Promise<number> {
    const target = `${args.entity}/${args.project}`;
    const data = await call(
      {
        query: COUNT_RUNS_QUERY,
        variables: { entity: args.entity, project: args.project, filters: encodeFilters(args.filters) },
        operationName: 'CountRuns',
      },
      { operation, target, what: `counting runs of ${target}`, ...(counter ? { counter } : {}) },
      retries,
    );
    const count = projectOf(data, args)['runCount'];
    if (typeof count !== 'number') throw badShape(`runCount of ${target}`);
    return count;
  }

  return {
    countRuns: (args) => countRunsWith(args, 'countRuns'),

    listRuns(args): AsyncIterable<RunsPage> {
      return { [Symbol.asyncIterator]: () => paginateRuns(pageSource(args, 'listRuns'), args.startAfter ?? null) };
    },

    async getRuns({ entity, project, names, pageSize }) {
      const unique = [...new Set(names)];
      const batchSize = positiveInt(pageSize ?? config.pageSize, 'pageSize');
      const found: WandbRunNode[] = [];
      for (let i = 0; i < unique.length; i += batchSize) {
        const batch = unique.slice(i, i + batchSize);
        const source = pageSource(
          { entity, project, filters: { name: { $in: batch } }, pageSize: batch.length },
          'getRuns',
        );
        for await (const page of paginateRuns(source, null)) found.push(...page.runs);
      }
      return found;
    },

    async viewer() {
      const data = await call(
        { query: VIEWER_QUERY, variables: {}, operationName: 'Viewer' },
        { operation: 'viewer', what: 'checking the API key' },
      );
      const viewer = data['viewer'];
      if (viewer === null || viewer === undefined) {
        throw new WandbError('WANDB_AUTH', `W&B does not recognise the API key at ${base}: check WANDB_API_KEY`);
      }
      if (typeof viewer !== 'object') throw badShape('viewer');
      return viewer as WandbViewer;
    },

    stats: () => ({ ...stats, byStatus: { ...stats.byStatus } }),
  };
}

interface ResolvedOptions {
  baseUrl: string;
  pageSize: number;
  requestsPerSecond: number;
  timeoutMs: number;
  retries: number;
  shrinkRetries: number;
  minRetryDelayMs: number;
  maxRetryDelayMs: number;
}

function resolveOptions(options: WandbClientOptions): ResolvedOptions {
  if (typeof options.apiKey !== 'string' || options.apiKey.trim() === '') {
    throw new WandbError(
      'WANDB_AUTH',
      'No W&B API key given: set WANDB_API_KEY (find it at https://wandb.ai/authorize)',
    );
  }
  const baseUrl = options.baseUrl ?? DEFAULT_BASE_URL;
  let protocol: string;
  try {
    protocol = new URL(baseUrl).protocol;
  } catch {
    throw new TraindbError(
      'INVALID_CONFIG',
      `W&B base URL ${JSON.stringify(displayUrl(baseUrl))} is not a URL: set WANDB_BASE_URL like https://api.wandb.ai`,
    );
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new TraindbError(
      'INVALID_CONFIG',
      `W&B base URL ${displayUrl(baseUrl)} must be http(s): set WANDB_BASE_URL like https://api.wandb.ai`,
    );
  }
  const retries = nonNegativeInt(options.retries ?? 8, 'retries');
  const minRetryDelayMs = nonNegative(options.minRetryDelayMs ?? 1000, 'minRetryDelayMs');
  const maxRetryDelayMs = nonNegative(options.maxRetryDelayMs ?? 60_000, 'maxRetryDelayMs');
  if (maxRetryDelayMs < minRetryDelayMs) {
    throw new TraindbError(
      'INVALID_CONFIG',
      `W&B client: maxRetryDelayMs (${maxRetryDelayMs}) is below minRetryDelayMs (${minRetryDelayMs})`,
    );
  }
  const requestsPerSecond = options.requestsPerSecond ?? 2;
  if (!(requestsPerSecond > 0)) {
    throw new TraindbError('INVALID_CONFIG', `W&B client: requestsPerSecond must be > 0, got ${requestsPerSecond}`);
  }
  return {
    baseUrl,
    pageSize: positiveInt(options.pageSize ?? 100, 'pageSize'),
    requestsPerSecond,
    timeoutMs: positiveInt(options.timeoutMs ?? 30_000, 'timeoutMs'),
    retries,
    shrinkRetries: nonNegativeInt(options.shrinkRetries ?? Math.min(retries, 2), 'shrinkRetries'),
    minRetryDelayMs,
    maxRetryDelayMs,
  };
}

/** Where a cursor points, for messages: "offset 200", or the raw cursor when it is not an offset. */
function at(after: string | null): string {
  const offset = decodeOffsetCursor(after);
  return offset === undefined ? `cursor ${String(after)}` : `offset ${offset + 1}`;
}

function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1)
    throw new TraindbError('INVALID_CONFIG', `W&B client: ${name} must be a positive integer, got ${value}`);
  return value;
}

function nonNegativeInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 0)
    throw new TraindbError('INVALID_CONFIG', `W&B client: ${name} must be an integer >= 0, got ${value}`);
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0)
    throw new TraindbError('INVALID_CONFIG', `W&B client: ${name} must be a number >= 0, got ${value}`);
  return value;
}
