import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { assertTokens, isLoopback } from '../config/daemon.js';
import { HttpError } from './respond.js';

/** What an endpoint needs: nothing (probes, the API description), a read token, or the write token. */
export type Access = 'open' | 'read' | 'write';

export interface AuthSettings {
  /** The address the server is bound to: off loopback, reads need a token too. */
  host: string;
  /** TRAINDB_API_TOKEN: reads and writes. */
  token?: string | undefined;
  /** TRAINDB_READ_TOKEN: reads only. */
  readToken?: string | undefined;
}

/**
 * Who may do what:
 * - writes need `Authorization: Bearer <TRAINDB_API_TOKEN>` whenever that token is set (it must be off
 *   loopback);
 * - reads need either token when the server is bound off loopback; on loopback they are open, and the
 *   Host check (checkHost) keeps web pages from reading through DNS rebinding.
 */
export class Authorizer {
  private readonly token: Buffer | undefined;
  private readonly readToken: Buffer | undefined;
  readonly readsNeedToken: boolean;

  constructor(settings: AuthSettings) {
    assertTokens(settings.token, settings.readToken);
    this.token = settings.token === undefined ? undefined : digest(settings.token);
    this.readToken = settings.readToken === undefined ? undefined : digest(settings.readToken);
    this.readsNeedToken = !isLoopback(settings.host);
  }

  /** Throws 401/403 unless the request may use an endpoint of this access. */
  check(req: IncomingMessage, access: Access): void {
    if (access === 'open') return;
    if (access === 'read' && !this.readsNeedToken) return;
    if (access === 'write' && this.token === undefined) return;
    const presented = bearer(req);
    if (access === 'write') {
      if (presented && this.token && timingSafeEqual(presented, this.token)) return;
      if (presented && this.readToken && timingSafeEqual(presented, this.readToken))
        throw new HttpError(403, 'TRAINDB_READ_TOKEN only reads; writing needs TRAINDB_API_TOKEN');
      throw new HttpError(401, 'this endpoint needs "Authorization: Bearer <TRAINDB_API_TOKEN>"');
    }
    if (this.allowsRead(presented)) return;
    throw new HttpError(
      401,
      'this server is reachable from other machines, so reading needs "Authorization: Bearer <token>" (TRAINDB_READ_TOKEN or TRAINDB_API_TOKEN)',
    );
  }

  /** Whether the request may read (used where an open endpoint shows more to a reader). */
  mayRead(req: IncomingMessage): boolean {
    return !this.readsNeedToken || this.allowsRead(bearer(req));
  }

  private allowsRead(presented: Buffer | null): boolean {
    if (!presented) return false;
    // Both comparisons always run: which token matched must not show in the timing.
    const write = this.token ? timingSafeEqual(presented, this.token) : false;
    const read = this.readToken ? timingSafeEqual(presented, this.readToken) : false;
    return write || read;
  }
}

// Hashing both sides first makes each comparison constant time whatever the lengths.
function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function bearer(req: IncomingMessage): Buffer | null {
  const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
  return m ? digest(m[1]!.trim()) : null;
}

/** Names a loopback server answers to: anything else in Host is a DNS-rebinding attempt or a misdirected request. */
const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * On a loopback bind, refuses (421) requests whose Host header is not the bound name or a loopback
 * name: a web page at evil.example whose name was re-pointed at 127.0.0.1 sends `Host: evil.example`.
 * Off loopback, tokens guard the data and any name may be used.
 */
export function checkHost(req: IncomingMessage, boundHost: string): void {
  if (!isLoopback(boundHost)) return;
  const header = req.headers.host;
  const m = header === undefined ? null : /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::\d{1,5})?$/.exec(header);
  const name = m?.[1]!.toLowerCase();
  const bound = boundHost.includes(':') ? `[${boundHost.toLowerCase()}]` : boundHost.toLowerCase();
  if (name !== undefined && (LOOPBACK_NAMES.has(name) || name === bound)) return;
  throw new HttpError(
    421,
    `Host ${header === undefined ? '(none)' : JSON.stringify(header.slice(0, 100))} is not this server: bound to ${boundHost}, it answers only to localhost, 127.0.0.1, [::1]` +
      `${LOOPBACK_NAMES.has(bound) ? '' : ` or ${bound}`} (a guard against DNS rebinding); to serve other names, bind another address and set TRAINDB_API_TOKEN`,
  );
}
