import type { IncomingMessage, ServerResponse } from 'node:http';
import { isBadInput, TraindbError, type TraindbErrorCode } from '../core/errors.js';

/** Codes of errors only the HTTP door raises; every other error body carries a TraindbError code. */
export type HttpErrorCode =
  | 'INVALID_INPUT'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'BODY_TOO_LARGE'
  | 'URL_TOO_LONG'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'MISDIRECTED_REQUEST';

/** Every `code` an error body may carry (the OpenAPI document lists them). */
export type ErrorCode = HttpErrorCode | TraindbErrorCode | 'INTERNAL';

const DEFAULT_CODES: Record<number, HttpErrorCode> = {
  400: 'INVALID_INPUT',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'BODY_TOO_LARGE',
  414: 'URL_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  421: 'MISDIRECTED_REQUEST',
};

/** An error with the HTTP status to answer; its message is safe to show. */
export class HttpError extends Error {
  readonly code: HttpErrorCode;
  constructor(
    readonly status: number,
    message: string,
    code?: HttpErrorCode,
  ) {
    super(message);
    this.name = 'HttpError';
    this.code = code ?? DEFAULT_CODES[status] ?? 'INVALID_INPUT';
  }
}

export interface ErrorBody {
  error: string;
  code: ErrorCode;
  details?: Record<string, unknown>;
}

const STATUS_OF_CODE: Partial<Record<TraindbErrorCode, number>> = {
  NOT_FOUND: 404,
  QUERY_TIMEOUT: 503,
  UNAVAILABLE: 503,
};

/** The status and body an error maps to; anything unexpected is a 500 that reveals nothing. */
export function errorResponse(error: unknown): { status: number; body: ErrorBody } {
  if (error instanceof HttpError) return { status: error.status, body: { error: error.message, code: error.code } };
  if (error instanceof TraindbError) {
    const code: TraindbErrorCode = error.code;
    const status = isBadInput(error) ? 400 : (STATUS_OF_CODE[code] ?? 0);
    if (status)
      return {
        status,
        body: { error: error.message, code: error.code, ...(error.details ? { details: error.details } : {}) },
      };
  }
  return { status: 500, body: { error: 'internal error (see the daemon log)', code: 'INTERNAL' } };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v));
  sendBytes(res, status, Buffer.from(text));
}

/** Sends JSON already serialized (by a query thread). */
export function sendBytes(res: ServerResponse, status: number, bytes: Uint8Array): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': bytes.byteLength,
  });
  res.end(bytes);
}

export function sendText(res: ServerResponse, status: number, contentType: string, text: string): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(text);
}

/** Largest JSON body accepted (a launch's config is a few KB). */
export const MAX_BODY_BYTES = 1_048_576;

/**
 * Reads a JSON object body of at most `limit` bytes. A larger body is refused from its Content-Length
 * before any of it is read, or as soon as it passes the limit (reading stops; the connection is closed
 * after the answer).
 */
export async function readJsonBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Record<string, unknown>> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type))
    throw new HttpError(415, 'send the body as JSON with Content-Type: application/json');
  const tooLarge = (): HttpError => new HttpError(413, `the body is larger than ${limit} bytes`);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge();
  const text = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.pause();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, `the body is not valid JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new HttpError(400, 'the body must be a JSON object');
  if (deeperThan(parsed, MAX_BODY_DEPTH))
    throw new HttpError(
      400,
      `the body nests objects or arrays more than ${MAX_BODY_DEPTH} levels deep; a run config is a few levels deep`,
    );
  return parsed as Record<string, unknown>;
}

/** Deepest nesting of objects and arrays accepted in a body: deeper input would overflow recursive code downstream. */
export const MAX_BODY_DEPTH = 64;

/** Whether a parsed JSON value nests deeper than `max`, measured without recursion. */
function deeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}
