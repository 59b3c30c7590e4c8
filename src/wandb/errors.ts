/**
 * Errors raised by the W&B client. Every message names the operation, the URL (never credentials)
 * and the fix; `code` is stable so callers can branch without parsing messages.
 *
 * The API key must never reach a message, an event, a log line, a `cause` or a stack: errors coming
 * from the network stack are never attached as-is; `safeCause` copies only their name/code/message
 * through the redactor.
 */
export type WandbErrorCode =
  | 'WANDB_AUTH'
  | 'WANDB_NOT_FOUND'
  | 'WANDB_BAD_REQUEST'
  | 'WANDB_GRAPHQL'
  | 'WANDB_HTTP'
  | 'WANDB_NETWORK'
  | 'WANDB_TIMEOUT'
  | 'WANDB_BAD_RESPONSE';

export interface WandbErrorOptions {
  status?: number;
  retryable?: boolean;
  cause?: unknown;
  /** For 429/503: how long the server asked us to wait (Retry-After / RateLimit-Reset), in ms. */
  retryAfterMs?: number;
}

export class WandbError extends Error {
  readonly code: WandbErrorCode;
  readonly status?: number;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  /** How many HTTP attempts were made before giving up (set by the retry wrapper). */
  attempts?: number;

  constructor(code: WandbErrorCode, message: string, options: WandbErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WandbError';
    this.code = code;
    if (options.status !== undefined) this.status = options.status;
    this.retryable = options.retryable ?? false;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

export function isWandbError(err: unknown): err is WandbError {
  return err instanceof WandbError;
}

export type Redactor = (text: string) => string;

/** Replaces every form in which the key could travel (raw, Basic credentials, URL-encoded) with `***`. */
export function makeRedactor(secret: string): Redactor {
  const forms = [
    Buffer.from(`api:${secret}`).toString('base64'),
    `api:${secret}`,
    encodeURIComponent(secret),
    secret,
  ].filter((f, i, all) => f.length >= 4 && all.indexOf(f) === i);
  return (text) => forms.reduce((out, form) => out.split(form).join('***'), text);
}

/** A key-free copy of an arbitrary thrown value, fit to be a `cause`: name, code and message only. */
export function safeCause(err: unknown, redact: Redactor): Error {
  const source = err instanceof Error ? err : undefined;
  const copy = new Error(redact(source ? source.message : String(err)));
  copy.name = source?.name ?? 'Error';
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') Object.assign(copy, { code });
  // The stack would point into this function, not at the original failure: keep only the summary line.
  copy.stack = `${copy.name}: ${copy.message}`;
  return copy;
}

/** `https://user:pass@host/x?token=1` → `https://host/x`: what may appear in messages. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    u.hash = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '<invalid URL>';
  }
}
