import { TraindbError, type TraindbErrorCode } from '../core/errors.js';

/** What a query thread is started with. */
export interface ReadWorkerData {
  /** Path of the SQLite file (the daemon's database, already migrated). */
  path: string;
}

/** An error as it crosses the thread boundary. */
export interface SerializedError {
  name: string;
  message: string;
  code?: TraindbErrorCode;
  details?: Record<string, unknown>;
}

export type ReadReply =
  | { type: 'ready' }
  | { type: 'answer'; id: number; ok: true; bytes: Uint8Array }
  | { type: 'answer'; id: number; ok: false; error: SerializedError };

export function serializeError(error: unknown): SerializedError {
  if (error instanceof TraindbError) {
    return {
      name: error.name,
      message: error.message,
      code: error.code,
      ...(error.details ? { details: error.details } : {}),
    };
  }
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}

/** A TraindbError keeps its code and details (so doors map it as usual); anything else stays a plain Error. */
export function deserializeError(error: SerializedError): Error {
  if (error.code) {
    const revived = new TraindbError(error.code, error.message, error.details ? { details: error.details } : undefined);
    revived.name = error.name;
    return revived;
  }
  const revived = new Error(error.message);
  revived.name = error.name;
  return revived;
}
