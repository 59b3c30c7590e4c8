import { readFileSync } from 'node:fs';
import { Command } from 'commander';

type Register = (program: Command) => void;

/**
 * Each command module and the commands it defines. Only the module a command needs is loaded (the
 * daemon's BullMQ/Redis/metrics stack alone takes ~0.4 s to import); help loads them all.
 */
export const COMMAND_MODULES: ReadonlyArray<{ commands: readonly string[]; load: () => Promise<Register[]> }> = [
  { commands: ['ingest'], load: async () => [(await import('./commands/ingest.js')).registerIngest] },
  { commands: ['backfill'], load: async () => [(await import('./commands/backfill.js')).registerBackfill] },
  { commands: ['demo'], load: async () => [(await import('./commands/demo.js')).registerDemo] },
  {
    commands: ['query', 'compare'],
    load: async () => {
      const m = await import('./commands/query.js');
      return [m.registerQuery, m.registerCompare];
    },
  },
  { commands: ['export'], load: async () => [(await import('./commands/export.js')).registerExport] },
  {
    commands: ['migrate', 'compact', 'attributes', 'objectives'],
    load: async () => [(await import('./commands/schema.js')).registerSchemaCommands],
  },
  { commands: ['dev'], load: async () => [(await import('./commands/dev.js')).registerDevCommands] },
  { commands: ['daemon'], load: async () => [(await import('./commands/daemon.js')).registerDaemon] },
  {
    commands: ['launch', 'annotate', 'jobs'],
    load: async () => [(await import('./commands/launch.js')).registerLaunchCommands],
  },
];

/** The traindb command line: the composition root for one-shot commands. */
export async function buildProgram(commandName?: string): Promise<Command> {
  const program = new Command('traindb')
    .description('A training-run database that keeps itself in sync with Weights & Biases')
    .version(packageVersion(), '-V, --version', 'print the traindb version')
    .showHelpAfterError()
    .exitOverride();
  if (commandName === '-V' || commandName === '--version') return program;
  const wanted = COMMAND_MODULES.filter((m) => m.commands.includes(commandName ?? ''));
  for (const module of wanted.length > 0 ? wanted : COMMAND_MODULES) {
    for (const register of await module.load()) register(program);
  }
  return program;
}

/** The version in traindb's package.json: two levels up from both src/cli and dist/cli, and shipped in the package. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}
