import { TraindbError } from '../../core/errors.js';
import type { Command } from 'commander';
import {
  compileRunQuery,
  countRuns,
  ITERATE_PAGE_SIZE,
  explainRuns,
  findAllRuns,
  findRunsPage,
  iterateRuns,
} from '../../query/find-runs.js';
import { compareGroups } from '../../query/compare.js';
import { splitFieldList } from '../../query/field-list.js';
import { formatRows, outputOptions, parseFormat, visible } from '../format.js';
import { withDatabaseOptions, withStore, type DatabaseFlags } from '../context.js';
import { writeCsv } from '../export/csv.js';
import { writeJsonArray } from '../export/json.js';
import { streamSink } from '../export/sink.js';

interface QueryFlags extends DatabaseFlags {
  where?: string;
  mongo?: string;
  columns?: string;
  order?: string;
  limit?: string;
  format: string;
  csvRaw?: boolean;
  explain?: boolean;
  includeDeleted?: boolean;
}

const list = (text: string | undefined): string[] | undefined =>
  text === undefined ? undefined : splitFieldList(text);

export function registerQuery(program: Command): void {
  withDatabaseOptions(
    program
      .command('query')
      .description('find runs by any attribute: columns, config.<path>, summary."<key>", objective.<name>[.<stat>]')
      .option('-w, --where <filter>', `filter, e.g. "gradient_method = 'mgda' and objective.DRD5_activity > 0.7"`)
      .option(
        '--mongo <json>',
        'filter as a W&B-style MongoDB object, e.g. \'{"config.training.batch_size": {"$gte": 64}}\'',
      )
      .option('-c, --columns <list>', 'comma-separated fields to show, or * for every column')
      .option('-o, --order <list>', 'comma-separated sort keys; prefix - for descending (default -created_at)')
      .option(
        '-n, --limit <n|all>',
        `maximum rows, or all; default all for json and csv, ${TABLE_ROWS} for the table (which says when more match)`,
      )
      .option('--format <format>', 'table, json or csv', 'table')
      .option('--csv-raw', 'CSV cells exactly as stored (no quote before = + - @; see docs)')
      .option('--explain', 'print the SQL and the database plan instead of running the query')
      .option('--include-deleted', 'include runs deleted in W&B'),
  ).action(async (flags: QueryFlags) => {
    const format = parseFormat(flags.format);
    if (flags.mongo !== undefined && flags.where !== undefined)
      throw new TraindbError('INVALID_INPUT', 'give one filter: --where or --mongo, not both');
    const limit = parseLimit(flags.limit);
    const options = {
      where: flags.mongo !== undefined ? parseMongo(flags.mongo) : flags.where,
      columns: list(flags.columns),
      order: list(flags.order),
      includeDeleted: flags.includeDeleted ?? false,
    };
    await withStore(flags, async (store) => {
      if (flags.explain) {
        const { sql, params, plan } = await explainRuns(store, {
          ...options,
          limit: limit === 'all' ? Number.MAX_SAFE_INTEGER : (limit ?? TABLE_ROWS),
        });
        console.log(
          `SQL:\n  ${sql}\nparameters: ${JSON.stringify(params)}\nplan:\n${plan.map((l) => `  ${l}`).join('\n')}`,
        );
        return;
      }
      if (format !== 'table') {
        // Every match unless --limit says otherwise, page by page: memory stays at one page.
        const pages = iterateRuns(store, {
          ...options,
          limit: limit === 'all' ? undefined : limit,
          pageSize: ITERATE_PAGE_SIZE,
        });
        const sink = streamSink(process.stdout);
        if (format === 'csv') {
          await writeCsv(pages, sink, (await compileRunQuery(store, options)).columns, {
            safe: !flags.csvRaw,
            terminal: process.stdout.isTTY === true,
          });
        } else await writeJsonArray(pages, sink);
        await sink.close(true);
        return;
      }
      if (limit === 'all') {
        const rows = await findAllRuns(store, options);
        const { columns } = await compileRunQuery(store, options);
        console.log(formatRows(rows, format, columns, outputOptions(flags)));
        return;
      }
      const page = await findRunsPage(store, { ...options, limit: limit ?? TABLE_ROWS });
      console.log(formatRows(page.rows, format, page.columns, outputOptions(flags)));
      if (page.next !== null) {
        const total = await countRuns(store, options);
        console.log(
          `${page.rows.length} of ${total} shown: --limit N or --limit all for more, or traindb export for a file`,
        );
      }
    });
  });
}

/** Rows the table shows without --limit. */
const TABLE_ROWS = 100;

/** `--limit`: a whole number >= 1 or `all`; undefined when not given (each format has its default). */
function parseLimit(text: string | undefined): number | 'all' | undefined {
  if (text === undefined) return undefined;
  if (text.trim().toLowerCase() === 'all') return 'all';
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (Number.isSafeInteger(n) && n >= 1) return n;
  throw new TraindbError(
    'INVALID_INPUT',
    `--limit must be a whole number >= 1, got '${visible(text)}' (for every match use --limit all)`,
  );
}

interface CompareFlags extends DatabaseFlags {
  by: string;
  objective?: string;
  metric?: string;
  where?: string;
  format: string;
  csvRaw?: boolean;
}

export function registerCompare(program: Command): void {
  withDatabaseOptions(
    program
      .command('compare')
      .description('compare groups of runs on one objective or metric (n, mean, std, min, max)')
      .requiredOption('--by <field>', 'field to group by, e.g. gradient_method or config.reward.beta')
      .option('--objective <name>', 'objective to compare (its raw_mean), e.g. DRD5_activity')
      .option('--metric <field>', 'any other field to compare, e.g. summary."train/loss"')
      .option('-w, --where <filter>', 'restrict to runs matching this filter')
      .option('--format <format>', 'table, json or csv', 'table')
      .option('--csv-raw', 'CSV cells exactly as stored (no quote before = + - @; see docs)'),
  ).action(async (flags: CompareFlags) => {
    const format = parseFormat(flags.format);
    if (!flags.objective === !flags.metric) {
      throw new TraindbError('INVALID_INPUT', 'compare needs exactly one of --objective NAME or --metric FIELD');
    }
    await withStore(flags, async (store) => {
      const result = await compareGroups(store, {
        by: flags.by,
        objective: flags.objective,
        metric: flags.metric,
        where: flags.where,
      });
      const rows = result.groups.map((g) => ({
        [result.by]: g.group,
        n: g.n,
        mean: g.mean,
        std: g.std,
        min: g.min,
        max: g.max,
        // Values the statistics leave out, so a NaN-ridden group is not mistaken for a clean one.
        non_finite: g.non_finite,
        non_numeric: g.non_numeric,
      }));
      console.log(
        format === 'table'
          ? `${visible(result.metric)} by ${visible(result.by)}\n${formatRows(rows, format)}`
          : formatRows(rows, format, undefined, outputOptions(flags)),
      );
    });
  });
}

/** `--mongo`: a JSON object, as W&B's `filters` is; anything else is the user's mistake (exit 2), named. */
export function parseMongo(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new TraindbError(
      'INVALID_FILTER',
      `--mongo is not valid JSON (${visible((error as Error).message)}): ${visible(text)}`,
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    throw new TraindbError(
      'INVALID_FILTER',
      `--mongo must be a JSON object such as '{"state": "finished"}', got ${kind}: ${visible(text)}`,
    );
  }
  return value as Record<string, unknown>;
}
