import { Command, CommanderError } from 'commander';
import { TraindbError } from '../core/errors.js';
import { registerIngest } from './commands/ingest.js';
import { registerBackfill } from './commands/backfill.js';
import { registerDemo } from './commands/demo.js';
import { registerCompare, registerQuery } from './commands/query.js';
import { registerSchemaCommands } from './commands/schema.js';
import { registerDevCommands } from './commands/dev.js';
import { registerDaemon } from './commands/daemon.js';
import { registerLaunchCommands } from './commands/launch.js';
import { EXIT } from './context.js';

/** The traindb command line: the composition root for one-shot commands. */
export function buildProgram(): Command {
  const program = new Command('traindb')
    .description('A training-run database that keeps itself in sync with Weights & Biases')
    .showHelpAfterError()
    .exitOverride();
  registerIngest(program);
  registerBackfill(program);
  registerDemo(program);
  registerQuery(program);
  registerCompare(program);
  registerSchemaCommands(program);
  registerDevCommands(program);
  registerDaemon(program);
  registerLaunchCommands(program);
  return program;
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    const usage = error instanceof TraindbError && ['INVALID_FILTER', 'UNKNOWN_ATTRIBUTE', 'INVALID_INPUT', 'INVALID_CONFIG'].includes(error.code);
    console.error(`traindb: ${error instanceof Error ? error.message : String(error)}`);
    if (process.env['TRAINDB_DEBUG'] && error instanceof Error) console.error(error.stack);
    process.exitCode = usage ? EXIT.usage : EXIT.failure;
  }
}

await main(process.argv);
