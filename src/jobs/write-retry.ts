import { TraindbError } from '../core/errors.js';
import { backoffDelay } from '../wandb/retry-policy.js';
import { sleep } from '../wandb/rate-limiter.js';

/**
 * Why a write failed: `transient` (another process holds the write lock, an I/O hiccup: try again),
 * `database` (disk full, read-only, corrupt: no run is to blame, stop), or `run` (this run's data).
 */
export type WriteFailureKind = 'transient' | 'database' | 'run';

const TRANSIENT_CODES = /^SQLITE_(BUSY|LOCKED|IOERR|PROTOCOL)/;
const DATABASE_CODES = /^SQLITE_(FULL|READONLY|CORRUPT|NOTADB|CANTOPEN|PERM|NOMEM|AUTH|NOLFS|MISUSE)/;

export function classifyWriteError(error: unknown): WriteFailureKind {
  if (error instanceof TraindbError) {
    if (error.transient) return 'transient';
    return error.code === 'DATABASE' || error.code === 'MIGRATION' ? 'database' : 'run';
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (TRANSIENT_CODES.test(code)) return 'transient';
    if (DATABASE_CODES.test(code)) return 'database';
  }
  const message = error instanceof Error ? error.message : String(error);
  if (/database (table )?is locked|database is busy/i.test(message)) return 'transient';
  if (/database connection is not open|database or disk is full|readonly database/i.test(message)) return 'database';
  return 'run';
}

export interface WriteRetryPolicy {
  /** Retries after the first attempt. Each attempt also waits up to the connection's busy timeout (5 s). */
  retries: number;
  minDelayMs: number;
  maxDelayMs: number;
}

/** 7 attempts over about a minute (6 × 5 s busy timeout plus 0.5 + 1 + 2 + 4 + 8 + 8 s of backoff). */
export const DEFAULT_WRITE_RETRY: WriteRetryPolicy = { retries: 6, minDelayMs: 500, maxDelayMs: 8000 };

export interface WriteRetryInfo {
  /** What was being written, e.g. "run abc of lab/rl". */
  what: string;
  error: Error;
  /** The attempt that just failed (1-based) and how many there will be at most. */
  attempt: number;
  attempts: number;
  delayMs: number;
}

export interface WriteRetryOptions {
  policy?: Partial<WriteRetryPolicy>;
  signal?: AbortSignal;
  onRetry?: (info: WriteRetryInfo) => void;
}

/**
 * Runs a database write, retrying transient failures with jittered exponential backoff. Other
 * failures are thrown at once, unchanged. When the retries run out, throws UNAVAILABLE (transient)
 * naming what was being written, how often it was tried and the last error.
 */
export async function withWriteRetries<T>(
  what: string,
  write: () => Promise<T>,
  options: WriteRetryOptions = {},
): Promise<T> {
  const policy = { ...DEFAULT_WRITE_RETRY, ...options.policy };
  const attempts = policy.retries + 1;
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (classifyWriteError(error) !== 'transient') throw error;
      const message = error instanceof Error ? error.message : String(error);
      if (attempt >= attempts || options.signal?.aborted) {
        const seconds = Math.round((Date.now() - started) / 1000);
        throw new TraindbError(
          'UNAVAILABLE',
          `could not write ${what}: "${message}" on each of ${attempt} attempts over ${seconds} s ` +
            '(another process holds the database write lock, or the storage is failing)',
          { cause: error, transient: true, details: { attempts: attempt } },
        );
      }
      const delayMs = backoffDelay(attempt - 1, policy);
      options.onRetry?.({
        what,
        error: error instanceof Error ? error : new Error(message),
        attempt,
        attempts,
        delayMs,
      });
      await sleep(delayMs, options.signal);
    }
  }
}
