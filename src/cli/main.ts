import { CommanderError } from 'commander';
import { isBadInput, TraindbError } from '../core/errors.js';
import { EXIT } from './context.js';
import { visibleMessage } from './format.js';
import { buildProgram } from './program.js';

/** Entry point of the `traindb` bin: parse, run, map errors to exit codes. Only here does the CLI exit. */
async function main(argv: string[]): Promise<void> {
  const program = await buildProgram(argv[2]);
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    // Messages can quote stored values (a suggested attribute path): never let them drive the terminal.
    console.error(`traindb: ${visibleMessage(messageOf(error))}`);
    const hint = cliHint(error);
    if (hint) console.error(`  ${visibleMessage(hint)}`);
    if (process.env['TRAINDB_DEBUG'] && error instanceof Error) console.error(error.stack);
    process.exitCode = isBadInput(error) || isMissingDatabase(error) ? EXIT.usage : EXIT.failure;
  }
}

function messageOf(error: unknown): string {
  if (isMissingDatabase(error)) return `no database at ${String((error as TraindbError).details?.['path'])}`;
  return error instanceof Error ? error.message : String(error);
}

/** A `--db` path that does not exist: the user's input, so exit 2 like any other bad value. */
function isMissingDatabase(error: unknown): boolean {
  return error instanceof TraindbError && error.code === 'NOT_FOUND' && error.details?.['what'] === 'database';
}

/**
 * The command-line words for an error: lower layers put the facts in `details` and leave the
 * fix to each door (the HTTP API and the web page say it their own way).
 */
export function cliHint(error: unknown): string | undefined {
  if (!(error instanceof TraindbError)) return undefined;
  if (isMissingDatabase(error)) {
    return 'check --db / DATABASE_URL, or create one with: traindb migrate --db PATH (traindb ingest and traindb backfill also create it)';
  }
  if (error.code === 'UNKNOWN_ATTRIBUTE') {
    // The query layer said this itself before it moved to details; do not say it twice.
    if (error.message.includes('list them with')) return undefined;
    const source = error.details?.['source'];
    if (source === 'objective') return 'list them with: traindb objectives';
    if (source === 'config' || source === 'summary' || source === 'system' || source === 'meta')
      return `list them with: traindb attributes --source ${source}`;
    return 'list them with: traindb attributes, traindb objectives';
  }
  return undefined;
}

await main(process.argv);
