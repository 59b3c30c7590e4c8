/**
 * Per-client request spacing: consecutive requests start at least `1000 / requestsPerSecond` ms apart,
 * so no window of one second ever sees more than `requestsPerSecond` requests (W&B asks for >= 1 s
 * between requests; exact limits are undocumented). Retries and probes go through it too.
 */
export class RateLimiter {
  readonly #intervalMs: number;
  #nextSlot = 0;

  constructor(requestsPerSecond: number) {
    this.#intervalMs = Number.isFinite(requestsPerSecond) && requestsPerSecond > 0 ? 1000 / requestsPerSecond : 0;
  }

  /** Waits for the next free slot and takes it; resolves with how long it waited (ms). */
  async acquire(signal?: AbortSignal): Promise<number> {
    const start = performance.now();
    const slot = Math.max(start, this.#nextSlot);
    this.#nextSlot = slot + this.#intervalMs;
    // Timers may fire a millisecond early: loop until the monotonic clock has really reached the slot.
    for (let wait = slot - performance.now(); wait > 0; wait = slot - performance.now()) {
      await sleep(Math.ceil(wait), signal);
    }
    return performance.now() - start;
  }

  /** Holds every request of this client back for `ms` (after a 429 that said how long to wait). */
  pauseFor(ms: number): void {
    this.#nextSlot = Math.max(this.#nextSlot, performance.now() + ms);
  }
}

/** setTimeout as a promise that rejects with `signal.reason` when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
