import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import type { TraindbConfig } from '../config/config.js';
import { openStore } from '../db/open-store.js';
import type { RunStore } from '../db/store.js';
import { TraindbError } from '../core/errors.js';
import { visible } from './format.js';

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

/** Opens the store (a missing database is an error unless `create`), runs `fn`, and always closes it. */
export async function withStore<T>(
  flags: DatabaseFlags,
  fn: (store: RunStore, config: TraindbConfig) => Promise<T>,
  options: { create?: boolean } = {},
): Promise<T> {
  const config = configFrom(flags);
  const { store } = await openStore(config.database, {
    create: options.create ?? false,
    extraction: config.extraction,
  });
  try {
    return await fn(store, config);
  } finally {
    await store.close();
  }
}

/** withStore for commands that write: creates the database when it is missing. */
export function withWritableStore<T>(
  flags: DatabaseFlags,
  fn: (store: RunStore, config: TraindbConfig) => Promise<T>,
): Promise<T> {
  return withStore(flags, fn, { create: true });
}

/** Process exit codes, documented in the README. */
export const EXIT = { ok: 0, failure: 1, usage: 2, partial: 3 } as const;

/** A flag that takes a count: decimal digits only (not '', '1e3', '0x10' or '2.5'), at least `min`. */
export function wholeNumber(flag: string, text: string, min = 1): number {
  const n = /^\d{1,15}$/.test(text) ? Number(text) : NaN;
  if (!(n >= min)) {
    throw new TraindbError('INVALID_INPUT', `${flag} must be a whole number >= ${min}, got '${visible(text)}'`, {
      details: { flag, value: text },
    });
  }
  return n;
}
