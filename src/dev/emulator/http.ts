/** Small HTTP helpers for the emulator: body reading, Basic auth, answers (optionally gzip or cut off). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';

export const MAX_BODY_BYTES = 10 * 1024 * 1024;

export class BodyTooLarge extends Error {}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLarge(`request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The password of an HTTP Basic Authorization header (W&B: user "api", password = API key). */
export function basicPassword(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Basic\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

export interface SendOptions {
  status: number;
  body: string;
  contentType?: string;
  headers?: Record<string, string>;
  /** gzip when the client accepts it. */
  compress?: boolean;
  /** Write only this many bytes of the (possibly compressed) body, then destroy the socket. */
  truncateAt?: number | 'half';
}

export function send(req: IncomingMessage, res: ServerResponse, opts: SendOptions): void {
  if (res.destroyed || res.headersSent) return;
  let payload = Buffer.from(opts.body, 'utf8');
  const headers: Record<string, string> = {
    'content-type': opts.contentType ?? 'application/json; charset=utf-8',
    ...opts.headers,
  };
  const acceptsGzip = /\bgzip\b/i.test(String(req.headers['accept-encoding'] ?? ''));
  if (opts.compress && acceptsGzip && payload.length > 1024) {
    payload = gzipSync(payload);
    headers['content-encoding'] = 'gzip';
    headers.vary = 'Accept-Encoding';
  }
  headers['content-length'] = String(payload.length);
  res.writeHead(opts.status, headers);
  if (opts.truncateAt === undefined) {
    res.end(payload);
    return;
  }
  const cut =
    opts.truncateAt === 'half'
      ? Math.floor(payload.length / 2)
      : Math.max(0, Math.min(opts.truncateAt, payload.length - 1));
  // Flush the partial body, then kill the connection: the client sees fewer bytes than Content-Length.
  res.write(payload.subarray(0, cut), () => res.destroy());
}

export function sendJson(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  value: unknown,
  extra: Omit<SendOptions, 'status' | 'body'> = {},
): void {
  send(req, res, { ...extra, status, body: JSON.stringify(value) });
}
