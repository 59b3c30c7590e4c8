import type { Command } from 'commander';
import { configFrom, withDatabaseOptions, withStore, type DatabaseFlags } from '../context.js';
import { openStore } from '../../db/open-store.js';
import { formatRows, parseFormat } from '../format.js';
import type { AttributeSource } from '../../core/normalize/attributes.js';

export function registerSchemaCommands(program: Command): void {
  withDatabaseOptions(
    program
      .command('migrate')
      .description('create the database or bring its schema up to date (also upgrades a seed-v1 database in place)'),
  ).action(async (flags: DatabaseFlags) => {
    const config = configFrom(flags);
    const { store, migration } = await openStore(config.database);
    await store.close();
    console.log(
      migration.applied.length === 0
        ? `${config.database}: schema is up to date (version ${migration.to})`
        : `${config.database}: schema ${migration.from} -> ${migration.to} (${migration.applied.join(', ')})` +
            (migration.upgradedFromV1 ? '; upgraded from the seed v1 layout' : ''),
    );
  });

  withDatabaseOptions(
    program
      .command('compact')
      .description('rewrite the database densely after a big load (SQLite VACUUM; needs it to itself)'),
  ).action(async (flags: DatabaseFlags) => {
    const started = Date.now();
    const { beforeBytes, afterBytes } = await withStore(flags, (store) => store.compact(), { mustExist: true });
    const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`;
    console.log(
      `compacted ${configFrom(flags).database}: ${mb(beforeBytes)} -> ${mb(afterBytes)} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  });

  withDatabaseOptions(
    program
      .command('attributes')
      .description('list every config/summary/system path that can be filtered on')
      .option('--source <source>', 'config, summary, system or meta')
      .option('--format <format>', 'table, json or csv', 'table'),
  ).action(async (flags: DatabaseFlags & { source?: string; format: string }) => {
    const format = parseFormat(flags.format);
    await withStore(
      flags,
      async (store) => {
        const keys = await store.listAttributeKeys(flags.source as AttributeSource | undefined);
        console.log(
          formatRows(
            keys.map((k) => ({ field: `${k.source}.${k.path}` })),
            format,
          ),
        );
      },
      { mustExist: true },
    );
  });

  withDatabaseOptions(
    program
      .command('objectives')
      .description('list objectives with how many runs have each and the range of raw_mean')
      .option('--format <format>', 'table, json or csv', 'table'),
  ).action(async (flags: DatabaseFlags & { format: string }) => {
    const format = parseFormat(flags.format);
    await withStore(
      flags,
      async (store) => {
        const rows = await store.all(
          `SELECT objective_name, max(direction) AS direction, max(uniprot) AS uniprot, count(*) AS runs,
           count(raw_mean) AS with_value, min(raw_mean) AS min_raw_mean, max(raw_mean) AS max_raw_mean
         FROM run_objectives GROUP BY objective_name ORDER BY objective_name`,
        );
        console.log(formatRows(rows, format));
      },
      { mustExist: true },
    );
  });
}
