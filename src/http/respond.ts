import type { IncomingMessage, ServerResponse } from 'node:http';
import { isBadInput, TraindbError } from '../core/errors.js';

/** An error with the HTTP status to answer; its message is safe to show. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** The status and message an error maps to; anything unexpected is a 500 that reveals nothing. */
export function errorResponse(error: unknown): { status: number; body: { error: string } } {
  if (error instanceof HttpError) return { status: error.status, body: { error: error.message } };
  if (isBadInput(error)) return { status: 400, body: { error: error.message } };
  if (error instanceof TraindbError && error.code === 'NOT_FOUND')
    return { status: 404, body: { error: error.message } };
  if (error instanceof TraindbError && (error.code === 'QUERY_TIMEOUT' || error.code === 'UNAVAILABLE'))
    return { status: 503, body: { error: error.message } };
  return { status: 500, body: { error: 'internal error (see the daemon log)' } };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v));
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, contentType: string, text: string): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(text);
}

/** Reads a JSON object body of at most `limit` bytes. */
export async function readJsonBody(req: IncomingMessage, limit = 1_000_000): Promise<Record<string, unknown>> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type))
    throw new HttpError(415, 'send the body as JSON with Content-Type: application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, `body larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new HttpError(400, `the body is not valid JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new HttpError(400, 'the body must be a JSON object');
  return parsed as Record<string, unknown>;
}
