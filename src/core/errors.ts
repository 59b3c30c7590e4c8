/**
 * Errors carry a stable `code` so callers (CLI exit codes, HTTP status, job retry policy) can branch
 * on what happened without parsing messages, and a message that names the value and the fix. Messages
 * never name a CLI flag or an HTTP parameter: the same error reaches the command line, the HTTP API and
 * the web page, and each door adds its own words.
 */
export type TraindbErrorCode =
  | 'INVALID_RUN'
  | 'INVALID_INPUT'
  | 'INVALID_FILTER'
  | 'UNKNOWN_ATTRIBUTE'
  | 'INVALID_CONFIG'
  | 'NOT_FOUND'
  | 'QUERY_TIMEOUT'
  | 'UNAVAILABLE'
  | 'DATABASE'
  | 'MIGRATION';

export interface TraindbErrorOptions {
  cause?: unknown;
  /** Structured facts about the error (the offending value, a position, a limit), safe to show. */
  details?: Record<string, unknown>;
  /** Whether the same request may succeed if tried again later (a busy database, a timeout). */
  transient?: boolean;
}

export class TraindbError extends Error {
  readonly code: TraindbErrorCode;
  readonly details: Record<string, unknown> | undefined;
  readonly transient: boolean;

  constructor(code: TraindbErrorCode, message: string, options?: TraindbErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TraindbError';
    this.code = code;
    this.details = options?.details;
    this.transient = options?.transient ?? TRANSIENT_CODES.has(code);
  }
}

/** Codes that mean the input was wrong: CLI exit 2, HTTP 400. */
export const BAD_INPUT_CODES: ReadonlySet<TraindbErrorCode> = new Set([
  'INVALID_FILTER',
  'UNKNOWN_ATTRIBUTE',
  'INVALID_INPUT',
  'INVALID_CONFIG',
  'INVALID_RUN',
]);

const TRANSIENT_CODES: ReadonlySet<TraindbErrorCode> = new Set(['QUERY_TIMEOUT', 'UNAVAILABLE']);

/** Whether an error is the caller's bad input (exit 2 / HTTP 400) rather than a failure of traindb. */
export function isBadInput(error: unknown): error is TraindbError {
  return error instanceof TraindbError && BAD_INPUT_CODES.has(error.code);
}

/** A filter that cannot be parsed or compiled; `position` is the 0-based offset of the offending token. */
export class FilterError extends TraindbError {
  readonly position: number;
  readonly input: string;

  constructor(message: string, input: string, position: number) {
    super('INVALID_FILTER', `${message}\n  ${input}\n  ${' '.repeat(Math.max(0, position))}^`, {
      details: { position },
    });
    this.name = 'FilterError';
    this.position = position;
    this.input = input;
  }
}
