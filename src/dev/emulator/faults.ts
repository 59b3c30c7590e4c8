/**
 * Decides which request gets which injected failure: a scripted list by request number, or a seeded
 * random draw, plus "poison" run names. Kept apart from the HTTP code so the choice is deterministic
 * and testable on its own.
 */
import { mulberry32 } from '../generate/prng.js';
import type { FaultOptions, FaultSpec, RateLimitOptions } from './types.js';

export const DEFAULT_RANDOM_FAULTS: readonly FaultSpec[] = [
  { kind: 'rateLimit', retryAfterSeconds: 1, resetSeconds: 1 },
  { kind: 'httpError', status: 500 },
  { kind: 'httpError', status: 502 },
  { kind: 'httpError', status: 503 },
  { kind: 'graphqlError' },
  { kind: 'slow', delayMs: 1500 },
  { kind: 'truncate' },
];

export class FaultPlan {
  private counter = 0;
  private readonly random: () => number;
  readonly poison: ReadonlySet<string>;
  readonly poisonMode: 'heavy' | 'any';

  constructor(private readonly opts: FaultOptions = {}) {
    this.random = mulberry32(opts.seed ?? 1);
    this.poison = new Set(opts.poisonRuns ?? []);
    this.poisonMode = opts.poisonMode ?? 'heavy';
    const p = opts.probability ?? 0;
    if (!(p >= 0 && p <= 1)) throw new RangeError(`fault probability must be within 0..1, got ${p}`);
  }

  /** The fault for the next request (advances the request counter), or undefined. */
  next(): FaultSpec | undefined {
    const i = this.counter++;
    const script = this.opts.script;
    if (script && i < script.length) return script[i] ?? undefined;
    const p = this.opts.probability ?? 0;
    if (p > 0 && this.random() < p) {
      const kinds = this.opts.kinds && this.opts.kinds.length > 0 ? this.opts.kinds : DEFAULT_RANDOM_FAULTS;
      return kinds[Math.floor(this.random() * kinds.length)];
    }
    return undefined;
  }
}

/** Fixed-window request counter behind the optional `rateLimit` emulation. */
export class RateLimiter {
  private windowStart = 0;
  private used = 0;

  constructor(
    readonly opts: RateLimitOptions,
    private readonly now: () => number,
  ) {}

  /** Counts one request; returns the RateLimit-* header values and whether it is over the limit. */
  take(): { limited: boolean; limit: number; remaining: number; resetSeconds: number } {
    const t = this.now();
    const windowMs = this.opts.windowSeconds * 1000;
    if (t - this.windowStart >= windowMs) {
      this.windowStart = t;
      this.used = 0;
    }
    this.used++;
    const resetSeconds = Math.max(1, Math.ceil((this.windowStart + windowMs - t) / 1000));
    return {
      limited: this.used > this.opts.requests,
      limit: this.opts.requests,
      remaining: Math.max(0, this.opts.requests - this.used),
      resetSeconds,
    };
  }
}
