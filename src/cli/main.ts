import { CommanderError } from 'commander';
import { isBadInput } from '../core/errors.js';
import { EXIT } from './context.js';
import { visibleMessage } from './format.js';
import { cliHint, cliMessage, isMissingDatabase } from './hints.js';
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
    console.error(`traindb: ${visibleMessage(cliMessage(error))}`);
    const hint = cliHint(error);
    if (hint) console.error(`  ${visibleMessage(hint)}`);
    if (process.env['TRAINDB_DEBUG'] && error instanceof Error) console.error(error.stack);
    process.exitCode = isBadInput(error) || isMissingDatabase(error) ? EXIT.usage : EXIT.failure;
  }
}

await main(process.argv);
