import type { Command } from 'commander';
import { configFrom, withDatabaseOptions, withStore, type DatabaseFlags } from '../context.js';
import { openStore } from '../../db/open-store.js';
import { formatRows, outputOptions, parseFormat, visible } from '../format.js';
import { TraindbError } from '../../core/errors.js';
import { ATTRIBUTE_SOURCES, type AttributeSource } from '../../core/normalize/attributes.js';

const OBJECTIVE_COLUMNS = [
  'objective_name',
  'direction',
  'uniprot',
  'runs',
  'with_value',
  'min_raw_mean',
  'max_raw_mean',
];

export function registerSchemaCommands(program: Command): void {
  withDatabaseOptions(
    program
      .command('migrate')
      .description('create the database or bring its schema up to date (also upgrades a seed-v1 database in place)'),
  ).action(async (flags: DatabaseFlags) => {
    const config = configFrom(flags);
    const { store, migration } = await openStore(config.database, { create: true });
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
    const { beforeBytes, afterBytes } = await withStore(flags, (store) => store.compact());
    const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`;
    console.log(
      `compacted ${configFrom(flags).database}: ${mb(beforeBytes)} -> ${mb(afterBytes)} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  });

  withDatabaseOptions(
    program
      .command('attributes')
      .description('list every field the filter accepts beyond the columns: config.*, summary.*, system.*, tags')
      .option('--source <source>', `only one source: ${ATTRIBUTE_SOURCES.join(', ')}`)
      .option('--format <format>', 'table, json or csv', 'table')
      .option('--csv-raw', 'CSV cells exactly as stored (no quote before = + - @; see docs)'),
  ).action(async (flags: DatabaseFlags & { source?: string; format: string; csvRaw?: boolean }) => {
    const format = parseFormat(flags.format);
    const source = flags.source === undefined ? undefined : parseSource(flags.source);
    await withStore(flags, async (store) => {
      const keys = await store.listAttributeKeys(source);
      const rows = keys.map((k) => ({ field: filterField(k.source, k.path) }));
      console.log(formatRows(rows, format, ['field'], outputOptions(flags)));
    });
  });

  withDatabaseOptions(
    program
      .command('objectives')
      .description('list objectives with how many runs have each and the range of raw_mean')
      .option('--format <format>', 'table, json or csv', 'table')
      .option('--csv-raw', 'CSV cells exactly as stored (no quote before = + - @; see docs)'),
  ).action(async (flags: DatabaseFlags & { format: string; csvRaw?: boolean }) => {
    const format = parseFormat(flags.format);
    await withStore(flags, async (store) => {
      const rows = await store.all(
        `SELECT objective_name, max(direction) AS direction, max(uniprot) AS uniprot, count(*) AS runs,
           count(raw_mean) AS with_value, min(raw_mean) AS min_raw_mean, max(raw_mean) AS max_raw_mean
         FROM run_objectives GROUP BY objective_name ORDER BY objective_name`,
      );
      console.log(formatRows(rows, format, OBJECTIVE_COLUMNS, outputOptions(flags)));
    });
  });
}

function parseSource(text: string): AttributeSource {
  const source = ATTRIBUTE_SOURCES.find((s) => s === text);
  if (source) return source;
  throw new TraindbError(
    'INVALID_INPUT',
    `--source must be one of ${ATTRIBUTE_SOURCES.join(', ')}, got '${visible(text)}'`,
  );
}

/**
 * An attribute as the filter language spells it: `config.training.lr`, `summary."train loss"`, and
 * `tags` for the meta source (the filter has no `meta.` prefix).
 */
export function filterField(source: AttributeSource, path: string): string {
  if (source === 'meta') return path;
  return `${source}.${BARE_PATH.test(path) ? path : `"${path.replace(/["\\]/g, (c) => `\\${c}`)}"`}`;
}

/** A path the lexer reads without quotes: dot-separated segments of letters, digits, _ - and /. */
const BARE_PATH = /^[A-Za-z0-9_][A-Za-z0-9_\-/]*(?:\.[A-Za-z0-9_][A-Za-z0-9_\-/]*)*$/;
