import { TraindbError } from '../core/errors.js';

/** A `--db` path that does not exist (openStore without `create`): the user's input, so exit 2. */
export function isMissingDatabase(error: unknown): boolean {
  return error instanceof TraindbError && error.code === 'NOT_FOUND' && error.details?.['what'] === 'database';
}

/**
 * The command-line words for an error: lower layers put the facts in `details` and leave the fix to
 * each door (the HTTP API and the web page say it their own way).
 */
export function cliHint(error: unknown): string | undefined {
  if (!(error instanceof TraindbError)) return undefined;
  if (isMissingDatabase(error)) {
    return 'check --db / DATABASE_URL, or create one with: traindb migrate --db PATH (traindb ingest and traindb backfill also create it)';
  }
  if (error.code === 'UNKNOWN_ATTRIBUTE') {
    const source = error.details?.['source'];
    if (source === 'objective') return 'list them with: traindb objectives';
    if (source === 'config' || source === 'summary' || source === 'system' || source === 'meta')
      return `list them with: traindb attributes --source ${source}`;
    return 'list them with: traindb attributes, traindb objectives';
  }
  return undefined;
}

/** The first line the CLI prints for an error. */
export function cliMessage(error: unknown): string {
  if (isMissingDatabase(error)) {
    const { path, reason } = (error as TraindbError).details ?? {};
    return reason === 'not-traindb' ? `${String(path)} holds no traindb database` : `no database at ${String(path)}`;
  }
  return error instanceof Error ? error.message : String(error);
}
