import { request, type Dispatcher } from 'undici';
import { WandbError, displayUrl, safeCause, type Redactor, type WandbErrorCode } from './errors.js';
import type { RateLimiter } from './rate-limiter.js';
import { serverRetryAfterMs } from './retry-policy.js';
import type { WandbClientEvent, WandbClientStats, WandbOperation } from './types.js';

export interface TransportConfig {
  baseUrl: string;
  apiKey: string;
  dispatcher?: Dispatcher;
  timeoutMs: number;
  signal?: AbortSignal;
  limiter: RateLimiter;
  redact: Redactor;
  stats: WandbClientStats;
  emit: (event: WandbClientEvent) => void;
}

export interface GraphQLRequest {
  query: string;
  variables: Record<string, unknown>;
  operationName: string;
}

/** Who is asking, for messages and events. */
export interface CallContext {
  operation: WandbOperation;
  /** `entity/project`, when the call is about one. */
  target?: string;
  /** Human description for messages, e.g. "listing runs of acme/vision (after offset 200, first 100)". */
  what: string;
  /** Incremented once per HTTP attempt (for RunsPage.requestCount). */
  counter?: { requests: number };
}

export type Transport = (req: GraphQLRequest, ctx: CallContext, attempt: number) => Promise<Record<string, unknown>>;

/** Node/undici error codes that mean "the request or its answer got lost": worth another try. */
const DEFINITIVE_NETWORK_CODES = new Set([
  'ENOTFOUND', // DNS says the host does not exist (EAI_AGAIN is the transient one)
  'UND_ERR_INVALID_ARG',
  'UND_ERR_NOT_SUPPORTED',
  'ERR_INVALID_URL',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);
const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

/** One POST of one GraphQL document: rate-limited, timed out, and classified into a WandbError. */
export function createTransport(config: TransportConfig): Transport {
  const endpoint = `${config.baseUrl.replace(/\/+$/, '')}/graphql`;
  const base = displayUrl(config.baseUrl);
  const shownEndpoint = displayUrl(endpoint);
  const authorization = `Basic ${Buffer.from(`api:${config.apiKey}`).toString('base64')}`;
  const { redact, stats } = config;

  const serverSays = (json: unknown, text: string): string => {
    const body = json as { errors?: unknown; error?: unknown } | undefined;
    let said: string;
    if (body && Array.isArray(body.errors) && body.errors.length > 0) {
      said = body.errors
        .map((e: unknown) => (e && typeof e === 'object' && 'message' in e ? String(e.message) : JSON.stringify(e)))
        .join('; ');
    } else if (body && typeof body.error === 'string') said = body.error;
    else said = text.replace(/\s+/g, ' ').trim();
    said = redact(said);
    return said.length > 300 ? `${said.slice(0, 300)}…` : said;
  };

  return async (req, ctx, attempt) => {
    config.signal?.throwIfAborted();
    const queuedMs = await config.limiter.acquire(config.signal);
    const started = performance.now();
    stats.requests++;
    if (ctx.counter) ctx.counter.requests++;
    let status: number | undefined;
    let errorCode: WandbErrorCode | undefined;

    // One deadline for connect + headers + body, and the client's own signal.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), config.timeoutMs);
    const onAbort = (): void => deadline.abort();
    config.signal?.addEventListener('abort', onAbort, { once: true });
    const aborted = (): unknown => (config.signal?.aborted ? config.signal.reason : undefined);

    try {
      let text: string;
      let headers: Record<string, string | string[] | undefined>;
      try {
        const res = await request(endpoint, {
          method: 'POST',
          headers: {
            authorization,
            'content-type': 'application/json',
            accept: 'application/json',
            'user-agent': 'traindb-wandb-client',
          },
          body: JSON.stringify(req),
          signal: deadline.signal,
          ...(config.dispatcher ? { dispatcher: config.dispatcher } : {}),
        });
        status = res.statusCode;
        headers = res.headers;
        stats.byStatus[String(status)] = (stats.byStatus[String(status)] ?? 0) + 1;
        try {
          text = await res.body.text();
        } catch (err) {
          if (aborted() !== undefined) throw aborted();
          if (deadline.signal.aborted) throw timeoutError(err);
          throw new WandbError(
            'WANDB_BAD_RESPONSE',
            `W&B's answer (HTTP ${status}) to ${ctx.what} was cut off at ${shownEndpoint}: the connection dropped mid-body; retrying`,
            { status, retryable: true, cause: safeCause(err, redact) },
          );
        }
      } catch (err) {
        if (err instanceof WandbError) throw err;
        if (aborted() !== undefined) throw aborted();
        if (status === undefined) {
          const key = deadline.signal.aborted || TIMEOUT_CODES.has(codeOf(err)) ? 'timeout' : 'network';
          stats.byStatus[key] = (stats.byStatus[key] ?? 0) + 1;
        }
        throw networkError(err);
      }
      return classify(status, headers, text, ctx);
    } catch (err) {
      if (err instanceof WandbError) errorCode = err.code;
      throw err;
    } finally {
      clearTimeout(timer);
      config.signal?.removeEventListener('abort', onAbort);
      config.emit({
        type: 'request',
        operation: ctx.operation,
        ...(ctx.target !== undefined ? { target: ctx.target } : {}),
        attempt,
        ...(status !== undefined ? { status } : {}),
        ...(errorCode !== undefined ? { errorCode } : {}),
        durationMs: Math.round(performance.now() - started),
        queuedMs: Math.round(queuedMs),
      });
    }

    function timeoutError(err: unknown): WandbError {
      return new WandbError(
        'WANDB_TIMEOUT',
        `W&B did not answer ${ctx.what} within ${config.timeoutMs} ms at ${shownEndpoint}: the server is slow or the page too large (lower the page size or raise the timeout)`,
        { retryable: true, cause: safeCause(err, redact) },
      );
    }

    function networkError(err: unknown): WandbError {
      const code = codeOf(err);
      if (deadline.signal.aborted || TIMEOUT_CODES.has(code)) return timeoutError(err);
      const retryable = !DEFINITIVE_NETWORK_CODES.has(code);
      const detail = redact(err instanceof Error ? err.message : String(err));
      return new WandbError(
        'WANDB_NETWORK',
        `Could not reach W&B at ${base} for ${ctx.what} (${code || 'network error'}: ${detail}): check the base URL (WANDB_BASE_URL), the network and any proxy`,
        { retryable, cause: safeCause(err, redact) },
      );
    }
  };

  function classify(
    status: number,
    headers: Record<string, string | string[] | undefined>,
    text: string,
    ctx: CallContext,
  ): Record<string, unknown> {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const on = `${ctx.what} at ${shownEndpoint}`;

    if (status === 429) {
      stats.rateLimited++;
      const retryAfterMs = serverRetryAfterMs(headers);
      if (retryAfterMs !== undefined) config.limiter.pauseFor(retryAfterMs);
      config.emit({
        type: 'rate-limited',
        operation: ctx.operation,
        ...(ctx.target !== undefined ? { target: ctx.target } : {}),
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      });
      return fail(
        'WANDB_HTTP',
        `W&B rate limit hit (HTTP 429) for ${on}: ${serverSays(json, text)}; lower requestsPerSecond if this persists`,
        {
          retryable: true,
          retryAfterMs,
        },
      );
    }
    if (status === 401 || status === 403) {
      return fail(
        'WANDB_AUTH',
        `W&B rejected the API key (HTTP ${status}) at ${base}: check WANDB_API_KEY (while ${ctx.what})`,
      );
    }
    if (status >= 500 && status !== 501) {
      return fail('WANDB_HTTP', `W&B failed with HTTP ${status} for ${on}: ${serverSays(json, text) || 'no details'}`, {
        retryable: true,
        retryAfterMs: serverRetryAfterMs(headers),
      });
    }
    if (status === 400 || status === 422) {
      return fail(
        'WANDB_BAD_REQUEST',
        `W&B rejected the query (HTTP ${status}) for ${on}: ${serverSays(json, text)}. The server does not accept this query or its filters/order: check them, or the server version`,
      );
    }
    if (status === 404) {
      return fail(
        'WANDB_HTTP',
        `W&B answered HTTP 404 for ${on}: no GraphQL endpoint there; check the base URL (WANDB_BASE_URL)`,
      );
    }
    if (status === 413) {
      return fail('WANDB_HTTP', `W&B refused the request as too large (HTTP 413) for ${on}: lower the page size`);
    }
    if (status < 200 || status >= 300) {
      const hint =
        status >= 300 && status < 400
          ? `; it redirects to ${displayUrl(first(headers, 'location') ?? '')}: check the base URL`
          : '';
      return fail(
        'WANDB_HTTP',
        `W&B answered HTTP ${status} for ${on}: ${serverSays(json, text) || 'no details'}${hint}`,
      );
    }

    if (json === undefined || json === null || typeof json !== 'object') {
      return fail(
        'WANDB_BAD_RESPONSE',
        `W&B's answer to ${on} is not JSON (${text.length} bytes, ${first(headers, 'content-type') ?? 'no content-type'}): truncated or mangled by a proxy; retrying`,
        { retryable: true },
      );
    }
    const body = json as { data?: unknown; errors?: unknown };
    if (Array.isArray(body.errors) && body.errors.length > 0) {
      return fail('WANDB_GRAPHQL', `W&B returned an error for ${on}: ${serverSays(json, text)}`);
    }
    if (body.data === null || typeof body.data !== 'object') {
      return fail(
        'WANDB_BAD_RESPONSE',
        `W&B's answer to ${on} has no "data": ${serverSays(json, text) || 'empty body'}`,
        { retryable: true },
      );
    }
    return body.data as Record<string, unknown>;

    function fail(
      code: WandbErrorCode,
      message: string,
      extra: { retryable?: boolean; retryAfterMs?: number | undefined } = {},
    ): never {
      throw new WandbError(code, redact(message), {
        status,
        retryable: extra.retryable ?? false,
        ...(extra.retryAfterMs !== undefined ? { retryAfterMs: extra.retryAfterMs } : {}),
      });
    }
  }
}

function first(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}
