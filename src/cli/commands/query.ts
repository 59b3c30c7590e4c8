import { TraindbError } from '../../core/errors.js';
import type { Command } from 'commander';
import { explainRuns, findRuns, compileRunQuery } from '../../query/find-runs.js';
import { compareGroups } from '../../query/compare.js';
import { splitFieldList } from '../../query/field-list.js';
import { formatRows, parseFormat } from '../format.js';
import { withDatabaseOptions, withStore, type DatabaseFlags } from '../context.js';

interface QueryFlags extends DatabaseFlags {
  where?: string;
  mongo?: string;
  columns?: string;
  order?: string;
  limit: string;
  format: string;
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
      .option('--explain', 'print the SQL and the database plan instead of running the query')
      .option('--include-deleted', 'include runs deleted in W&B'),
  ).action(async (flags: QueryFlags) => {
    const format = parseFormat(flags.format);
    const options = {
      where: flags.mongo ? parseMongo(flags.mongo) : flags.where,
      columns: list(flags.columns),
      order: list(flags.order),
      limit: Number(flags.limit),
      includeDeleted: flags.includeDeleted ?? false,
    };
    await withStore(
      flags,
      async (store) => {
        if (flags.explain) {
          const { sql, params, plan } = await explainRuns(store, options);
          console.log(
            `SQL:\n  ${sql}\nparameters: ${JSON.stringify(params)}\nplan:\n${plan.map((l) => `  ${l}`).join('\n')}`,
          );
          return;
        }
        const { columns } = await compileRunQuery(store, options);
        const rows = await findRuns(store, options);
        console.log(formatRows(rows, format, columns));
      },
      { mustExist: true },
    );
  });
}

interface CompareFlags extends DatabaseFlags {
  by: string;
  objective?: string;
  metric?: string;
  where?: string;
  format: string;
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
      .option('--format <format>', 'table, json or csv', 'table'),
  ).action(async (flags: CompareFlags) => {
    const format = parseFormat(flags.format);
    if (!flags.objective === !flags.metric) {
      throw new TraindbError('INVALID_INPUT', 'compare needs exactly one of --objective NAME or --metric FIELD');
    }
    await withStore(
      flags,
      async (store) => {
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
            ? `${result.metric} by ${result.by}\n${formatRows(rows, format)}`
            : formatRows(rows, format),
        );
      },
      { mustExist: true },
    );
  });
}

function parseMongo(text: string): Record<string, unknown> {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new TraindbError('INVALID_FILTER', `--mongo is not valid JSON (${(error as Error).message}): ${text}`);
  }
}
