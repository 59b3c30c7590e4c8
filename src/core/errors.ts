/**
 * Errors carry a stable `code` so callers (CLI exit codes, HTTP status, job retry policy) can branch
 * on what happened without parsing messages, and a message that names the value and the fix.
 */
export type TraindbErrorCode =
  | 'INVALID_RUN'
  | 'INVALID_INPUT'
  | 'INVALID_FILTER'
  | 'UNKNOWN_ATTRIBUTE'
  | 'INVALID_CONFIG'
  | 'DATABASE'
  | 'MIGRATION';

export class TraindbError extends Error {
  readonly code: TraindbErrorCode;

  constructor(code: TraindbErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TraindbError';
    this.code = code;
  }
}

/** A filter that cannot be parsed or compiled; `position` is the 0-based offset of the offending token. */
export class FilterError extends TraindbError {
  readonly position: number;
  readonly input: string;

  constructor(message: string, input: string, position: number) {
    super('INVALID_FILTER', `${message}\n  ${input}\n  ${' '.repeat(Math.max(0, position))}^`);
    this.name = 'FilterError';
    this.position = position;
    this.input = input;
  }
}
