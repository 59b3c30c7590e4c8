import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpError } from './respond.js';

/**
 * Write endpoints need `Authorization: Bearer <token>` whenever a token is configured (the daemon
 * refuses to bind off loopback without one). Hashing both sides first makes the comparison constant
 * time whatever the lengths.
 */
export function requireToken(req: IncomingMessage, token: string | undefined): void {
  if (token === undefined) return;
  const header = req.headers.authorization ?? '';
  const m = /^Bearer\s+(.+)$/i.exec(header);
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  if (!m || !timingSafeEqual(digest(m[1]!.trim()), digest(token))) {
    throw new HttpError(401, 'this endpoint needs "Authorization: Bearer <TRAINDB_API_TOKEN>"');
  }
}
