import pRetry from 'p-retry';
import { WandbError } from './errors.js';
import { sleep } from './rate-limiter.js';

export interface RetryPolicy {
  /** Retries after the first attempt (so `retries + 1` attempts at most). */
  retries: number;
  minDelayMs: number;
  maxDelayMs: number;
}

export interface RetryInfo {
  error: WandbError;
  /** The attempt that just failed, 1-based. */
  attempt: number;
  delayMs: number;
}

/**
 * Jittered exponential backoff: the n-th retry (0-based) waits a random time in
 * [base/2, base] with base = min * 2^n, clamped to [minDelayMs, maxDelayMs].
 */
export function backoffDelay(retryIndex: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** retryIndex);
  const jittered = base * (0.5 + random() * 0.5);
  return Math.round(Math.min(policy.maxDelayMs, Math.max(policy.minDelayMs, jittered)));
}

/**
 * How long the server asked us to wait, in ms: the larger of `Retry-After` (seconds or an HTTP date)
 * and `RateLimit-Reset` (seconds until the window resets). Undefined when neither is usable.
 */
export function serverRetryAfterMs(
  headers: Record<string, string | string[] | undefined>,
  now: number = Date.now(),
): number | undefined {
  const first = (name: string): string | undefined => {
    const v = headers[name];
    return (Array.isArray(v) ? v[0] : v)?.trim() || undefined;
  };
  const waits: number[] = [];
  const retryAfter = first('retry-after');
  if (retryAfter !== undefined) {
    if (/^\d+(\.\d+)?$/.test(retryAfter)) waits.push(Number(retryAfter) * 1000);
    else {
      const at = Date.parse(retryAfter);
      if (!Number.isNaN(at)) waits.push(Math.max(0, at - now));
    }
  }
  const reset = first('ratelimit-reset');
  if (reset !== undefined && /^\d+(\.\d+)?$/.test(reset)) waits.push(Number(reset) * 1000);
  return waits.length > 0 ? Math.ceil(Math.max(...waits)) : undefined;
}

/**
 * Runs `attempt` until it succeeds, it throws a non-retryable error, or the retries run out.
 * Only `WandbError`s with `retryable: true` are retried; anything else (including an abort) is thrown
 * at once. The wait before each retry is the jittered backoff, or longer if the server said so
 * (`retryAfterMs`). Exhausted errors get `attempts` and a "(gave up after N attempts)" suffix.
 */
export async function withRetries<T>(
  attempt: (attemptNumber: number) => Promise<T>,
  policy: RetryPolicy,
  options: { signal?: AbortSignal; onRetry?: (info: RetryInfo) => void } = {},
): Promise<T> {
  let attempts = 0;
  try {
    return await pRetry(
      (n) => {
        attempts = n;
        return attempt(n);
      },
      {
        retries: policy.retries,
        minTimeout: 0, // p-retry's own delay is off: shouldRetry below waits, so it can honour Retry-After
        maxTimeout: 0,
        signal: options.signal,
        shouldRetry: async ({ error, retriesConsumed, attemptNumber }) => {
          if (!(error instanceof WandbError) || !error.retryable || options.signal?.aborted) return false;
          const delayMs = Math.max(backoffDelay(retriesConsumed, policy), error.retryAfterMs ?? 0);
          options.onRetry?.({ error, attempt: attemptNumber, delayMs });
          await sleep(delayMs, options.signal);
          return true;
        },
      },
    );
  } catch (err) {
    if (err instanceof WandbError && err.retryable && attempts > 1) {
      err.attempts = attempts;
      err.message += ` (gave up after ${attempts} attempts)`;
    } else if (err instanceof WandbError) {
      err.attempts = attempts;
    }
    throw err;
  }
}
