import { TraindbError } from '../../core/errors.js';
import type { Command } from 'commander';
import { explainRuns, findRuns, compileRunQuery } from '../../query/find-runs.js';
import { compareGroups } from '../../query/compare.js';
import { splitFieldList } from '../../query/field-list.js';
import { formatRows, outputOptions, parseFormat, visible } from '../format.js';
import { wholeNumber, withDatabaseOptions, withStore, type DatabaseFlags } from '../context.js';

interface QueryFlags extends DatabaseFlags {
  where?: string;
  mongo?: string;
  columns?: string;
  order?: string;
  limit: string;
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
      .option('-n, --limit <n>', 'maximum rows', '100')
      .option('--format <format>', 'table, json or csv', 'table')
      .option('--csv-raw', 'CSV cells exactly as stored (no quote before = + - @; see docs)')
      .option('--explain', 'print the SQL and the database plan instead of running the query')
      .option('--include-deleted', 'include runs deleted in W&B'),
  ).action(async (flags: QueryFlags) => {
    const format = parseFormat(flags.format);
    if (flags.mongo !== undefined && flags.where !== undefined)
      throw new TraindbError('INVALID_INPUT', 'give one filter: --where or --mongo, not both');
    const options = {
      where: flags.mongo !== undefined ? parseMongo(flags.mongo) : flags.where,
      columns: list(flags.columns),
      order: list(flags.order),
      limit: wholeNumber('--limit', flags.limit),
      includeDeleted: flags.includeDeleted ?? false,
    };
    await withStore(flags, async (store) => {
      if (flags.explain) {
        const { sql, params, plan } = await explainRuns(store, options);
        console.log(
          `SQL:\n  ${sql}\nparameters: ${JSON.stringify(params)}\nplan:\n${plan.map((l) => `  ${l}`).join('\n')}`,
        );
        return;
      }
      const { columns } = await compileRunQuery(store, options);
      const rows = await findRuns(store, options);
      console.log(formatRows(rows, format, columns, outputOptions(flags)));
    });
  });
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
