import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import type { TraindbConfig } from '../config/config.js';
import { openStore } from '../db/open-store.js';
import type { RunStore } from '../db/store.js';

/** Options every database command accepts. */
export function withDatabaseOptions(cmd: Command): Command {
  return cmd
    .option('--db <path-or-url>', 'database: a SQLite file path (default traindb.sqlite; env DATABASE_URL)')
    .option('--config <file>', 'YAML config file (env TRAINDB_CONFIG)');
}

export interface DatabaseFlags {
  db?: string;
  config?: string;
}

export function configFrom(flags: DatabaseFlags): TraindbConfig {
  return loadConfig({ file: flags.config, flags: { database: flags.db }, env: process.env });
}

/** Opens the store, runs `fn`, and always closes it. */
export async function withStore<T>(
  flags: DatabaseFlags,
  fn: (store: RunStore, config: TraindbConfig) => Promise<T>,
  options: { mustExist?: boolean } = {},
): Promise<T> {
  const config = configFrom(flags);
  const { store } = await openStore(config.database, {
    mustExist: options.mustExist ?? false,
    extraction: config.extraction,
  });
  try {
    return await fn(store, config);
  } finally {
    await store.close();
  }
}

/** Process exit codes, documented in the README. */
export const EXIT = { ok: 0, failure: 1, usage: 2, partial: 3 } as const;
