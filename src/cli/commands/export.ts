import type { Command } from 'commander';
import { TraindbError } from '../../core/errors.js';
import { resultColumns, scanColumnTypes } from '../../query/column-types.js';
import { DEFAULT_COLUMNS, ITERATE_PAGE_SIZE, iterateRuns, type FindRunsOptions } from '../../query/find-runs.js';
import { splitFieldList } from '../../query/field-list.js';
import { withDatabaseOptions, withStore, type DatabaseFlags } from '../context.js';
import { writeCsv } from '../export/csv.js';
import { writeJsonLines } from '../export/json.js';
import { writeParquet } from '../export/parquet.js';
import { fileSink, streamSink, type Sink } from '../export/sink.js';
import { parseMongo } from './query.js';

interface ExportFlags extends DatabaseFlags {
  where?: string;
  mongo?: string;
  columns?: string;
  order?: string;
  format?: string;
  out?: string;
  includeDeleted?: boolean;
  csvRaw?: boolean;
}

type ExportFormat = 'csv' | 'jsonl' | 'parquet';

/** The columns of an export without --columns: who, what, how it went, and when. */
export const EXPORT_COLUMNS: readonly string[] = [
  ...DEFAULT_COLUMNS,
  'wandb_entity',
  'wandb_project',
  'host',
  'started_at',
  'ended_at',
  'duration_seconds',
  'final_loss',
  'total_training_steps',
];

export function registerExport(program: Command): void {
  withDatabaseOptions(
    program
      .command('export')
      .description('write every matching run to a file or standard output: CSV, JSON lines or Parquet')
      .option('-w, --where <filter>', `filter, e.g. "gradient_method = 'mgda'" (default: every run)`)
      .option('--mongo <json>', 'filter as a W&B-style MongoDB object')
      .option(
        '-c, --columns <list>',
        `comma-separated fields, or * for every run column (default ${EXPORT_COLUMNS.join(',')})`,
      )
      .option('-o, --order <list>', 'comma-separated sort keys; prefix - for descending (default -created_at)')
      .option('--format <format>', 'csv, jsonl or parquet (default: from the --out extension, else csv)')
      .option('--out <file>', 'file to write (default standard output); written whole or not at all')
      .option('--csv-raw', 'CSV cells exactly as stored (no quote before = + - @; see docs)')
      .option('--include-deleted', 'include runs deleted in W&B'),
  ).action(async (flags: ExportFlags) => {
    const format = exportFormat(flags);
    if (flags.where !== undefined && flags.mongo !== undefined)
      throw new TraindbError('INVALID_INPUT', 'give either --where or --mongo, not both');
    if (format === 'parquet' && flags.out === undefined && process.stdout.isTTY)
      throw new TraindbError(
        'INVALID_INPUT',
        'Parquet is binary and standard output is a terminal: write it with --out FILE.parquet or redirect it (> runs.parquet)',
      );
    const columns = flags.columns === undefined ? [...EXPORT_COLUMNS] : splitFieldList(flags.columns);
    const duplicate = columns.find((c, i) => columns.indexOf(c) !== i);
    if (duplicate !== undefined)
      throw new TraindbError('INVALID_INPUT', `column '${duplicate}' is listed twice in --columns`);
    const options: FindRunsOptions = {
      where: flags.mongo !== undefined ? parseMongo(flags.mongo) : flags.where,
      columns,
      order: flags.order === undefined ? undefined : splitFieldList(flags.order),
      includeDeleted: flags.includeDeleted ?? false,
    };
    await withStore(flags, async (store) => {
      const pages = iterateRuns(store, { ...options, pageSize: ITERATE_PAGE_SIZE });
      const sink: Sink = flags.out === undefined ? streamSink(process.stdout) : fileSink(flags.out);
      let ok = false;
      try {
        const n =
          format === 'csv'
            ? await writeCsv(pages, sink, await resultColumns(store, options), {
                safe: !flags.csvRaw,
                terminal: flags.out === undefined && process.stdout.isTTY === true,
              })
            : format === 'jsonl'
              ? await writeJsonLines(pages, sink)
              : // Parquet declares every column's type before the first row: one pass over the matches finds them.
                await writeParquet(pages, sink, await scanColumnTypes(store, options));
        ok = true;
        if (flags.out !== undefined) console.error(`exported ${n} run${n === 1 ? '' : 's'} to ${flags.out}`);
      } finally {
        await sink.close(ok);
      }
    });
  });
}

function exportFormat(flags: ExportFlags): ExportFormat {
  const format = flags.format ?? /\.(csv|jsonl|parquet)$/i.exec(flags.out ?? '')?.[1]?.toLowerCase() ?? 'csv';
  if (format === 'csv' || format === 'jsonl' || format === 'parquet') return format;
  throw new TraindbError('INVALID_INPUT', `--format must be csv, jsonl or parquet, got '${format}'`);
}
