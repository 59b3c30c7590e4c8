/**
 * Commands around the daemon that need no daemon running:
 *   launch    register a run before W&B knows it (the seed's "At Launch" step)
 *   annotate  set attachment columns (S3 keys, blog post URL)
 *   jobs      inspect the daemon's queues (failed jobs, counts) and retry failed jobs
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Queue, type Job } from 'bullmq';
import type { Command } from 'commander';
import { TraindbError } from '../../core/errors.js';
import { loadConfig } from '../../config/load.js';
import { openStore } from '../../db/open-store.js';
import { annotateRun, registerLaunch } from '../../jobs/launch.js';
import { QUEUE } from '../../worker/queues.js';
import { closeRedis, createRedis } from '../../worker/redis.js';
import { wholeNumber, withDatabaseOptions, withStore, EXIT, type DatabaseFlags } from '../context.js';
import { formatRows, parseFormat } from '../format.js';

interface LaunchFlags {
  config: string;
  runId?: string;
  host?: string;
  instanceId?: string;
  configFilePath?: string;
  chainOfCustodyId?: string;
  db?: string;
  traindbConfig?: string;
}

export function registerLaunchCommands(program: Command): void {
  program
    .command('launch')
    .description(
      "register a run at launch, before W&B knows it: a 'launched' row with the config's columns and objectives",
    )
    .requiredOption('--config <run.yaml>', "the run's config file (YAML or JSON), as the training script will log it")
    .option(
      '--run-id <id>',
      'launch id (default: the config key launch_id_key, run_id); the W&B run carrying it is linked to this row',
    )
    .option('--host <host>', 'where it runs, e.g. ec2 or expanse')
    .option('--instance-id <id>', 'cloud instance id')
    .option('--config-file-path <path>', 'where the config lives, e.g. an S3 key (default: the --config path)')
    .option('--chain-of-custody-id <id>', 'chain-of-custody id')
    .option('--db <path-or-url>', 'database (default traindb.sqlite; env DATABASE_URL)')
    .option('--traindb-config <file>', "traindb's own YAML config (env TRAINDB_CONFIG); --config is the run's")
    .action(async (flags: LaunchFlags) => {
      let text: string;
      try {
        text = readFileSync(flags.config, 'utf8');
      } catch (error) {
        throw new TraindbError(
          'INVALID_INPUT',
          `cannot read --config ${flags.config}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        );
      }
      const config = loadConfig({ file: flags.traindbConfig, flags: { database: flags.db }, env: process.env });
      const { store } = await openStore(config.database, { create: true, extraction: config.extraction });
      try {
        const outcome = await registerLaunch(
          store,
          {
            runId: flags.runId,
            config: text,
            host: flags.host,
            instanceId: flags.instanceId,
            configFilePath: flags.configFilePath ?? resolve(flags.config),
            chainOfCustodyId: flags.chainOfCustodyId,
          },
          { launchIdKey: config.launchIdKey, extraction: config.extraction },
        );
        console.log(
          outcome.created
            ? `registered ${outcome.runId} (launched)`
            : `${outcome.runId} is already known (status ${outcome.status ?? 'none'}); missing host/instance fields were filled in`,
        );
      } finally {
        await store.close();
      }
    });

  withDatabaseOptions(
    program
      .command('annotate <run-id>')
      .description('set attachment columns of a run (an empty value clears one)')
      .option('--conversation-s3-key <key>')
      .option('--error-log-s3-key <key>')
      .option('--crash-report-s3-key <key>')
      .option('--crash-analysis-s3-key <key>')
      .option('--blog-post-url <url>'),
  ).action(async (runId: string, flags: DatabaseFlags & Record<string, string | undefined>) => {
    const fields: Record<string, string> = {};
    for (const [flag, column] of [
      ['conversationS3Key', 'conversation_s3_key'],
      ['errorLogS3Key', 'error_log_s3_key'],
      ['crashReportS3Key', 'crash_report_s3_key'],
      ['crashAnalysisS3Key', 'crash_analysis_s3_key'],
      ['blogPostUrl', 'blog_post_url'],
    ] as const) {
      const value = flags[flag];
      if (value !== undefined) fields[column] = value;
    }
    await withStore(flags, async (store) => {
      if (!(await annotateRun(store, runId, fields))) {
        console.error(`traindb: no run ${runId}`);
        process.exitCode = EXIT.failure;
        return;
      }
      console.log(`${runId}: set ${Object.keys(fields).join(', ')}`);
    });
  });

  const jobs = program.command('jobs').description("inspect the daemon's BullMQ queues on REDIS_URL");
  jobs
    .command('failed')
    .description('jobs that failed for good: runs whose data cannot be normalized, with the reason')
    .option('--limit <n>', 'at most this many per queue', '50')
    .option('--format <format>', 'table, json or csv', 'table')
    .option('--queue-prefix <prefix>', 'BullMQ key prefix (default: daemon.queue_prefix, traindb)')
    .option('--config <file>', 'YAML config file (env TRAINDB_CONFIG)')
    .action(async (flags: QueueFlags & { limit: string; format: string }) => {
      const format = parseFormat(flags.format);
      const limit = wholeNumber('--limit', flags.limit);
      await withQueues(flags, async (queues) => {
        const rows = [];
        for (const queue of queues) {
          for (const job of await queue.getFailed(0, limit - 1)) rows.push(failedRow(queue.name, job));
        }
        console.log(formatRows(rows, format, ['queue', 'job_id', 'run', 'failed_at', 'attempts', 'reason']));
      });
    });
  jobs
    .command('counts')
    .description('jobs per queue and state')
    .option('--queue-prefix <prefix>', 'BullMQ key prefix (default: daemon.queue_prefix, traindb)')
    .option('--config <file>', 'YAML config file (env TRAINDB_CONFIG)')
    .action(async (flags: QueueFlags) => {
      await withQueues(flags, async (queues) => {
        const rows = [];
        for (const queue of queues)
          rows.push({
            queue: queue.name,
            ...(await queue.getJobCounts('wait', 'active', 'delayed', 'failed', 'completed')),
          });
        console.log(formatRows(rows, 'table', ['queue', 'wait', 'active', 'delayed', 'failed', 'completed']));
      });
    });
  jobs
    .command('retry [job-ids...]')
    .description('run failed jobs again (after fixing what made them fail); --all for every failed job')
    .option('--all', 'every failed job')
    .option('--queue-prefix <prefix>', 'BullMQ key prefix (default: daemon.queue_prefix, traindb)')
    .option('--config <file>', 'YAML config file (env TRAINDB_CONFIG)')
    .action(async (ids: string[], flags: QueueFlags & { all?: boolean }) => {
      if (!flags.all && ids.length === 0)
        throw new TraindbError('INVALID_INPUT', 'name the job ids to retry (see `traindb jobs failed`), or pass --all');
      await withQueues(flags, async (queues) => {
        let retried = 0;
        for (const queue of queues) {
          const jobsToRetry = flags.all
            ? await queue.getFailed(0, -1)
            : (await Promise.all(ids.map((id) => queue.getJob(id)))).filter((j): j is Job => !!j);
          for (const job of jobsToRetry) {
            if ((await job.getState()) !== 'failed') continue;
            await job.retry('failed');
            retried++;
          }
        }
        console.log(`${retried} job(s) queued again`);
      });
    });
}

interface QueueFlags {
  queuePrefix?: string;
  config?: string;
}

async function withQueues(flags: QueueFlags, fn: (queues: Queue[]) => Promise<void>): Promise<void> {
  const config = loadConfig({
    file: flags.config,
    flags: { daemon: { queuePrefix: flags.queuePrefix } },
    env: process.env,
  });
  const connection = createRedis(config.daemon.redisUrl, 'queue');
  const queues = [QUEUE.sync, QUEUE.poll].map(
    (name) => new Queue(name, { connection, prefix: config.daemon.queuePrefix }),
  );
  for (const q of queues) q.on('error', () => undefined);
  try {
    await Promise.race([
      connection.ping(),
      new Promise((_, reject) =>
        setTimeout(
          () => reject(new TraindbError('INVALID_CONFIG', 'Redis does not answer: check REDIS_URL')),
          5000,
        ).unref(),
      ),
    ]);
    await fn(queues);
  } finally {
    await Promise.allSettled(queues.map((q) => q.close()));
    await closeRedis(connection);
  }
}

function failedRow(queue: string, job: Job): Record<string, string | number | null> {
  const data = job.data as { entity?: string; project?: string; node?: { name?: string } };
  const run = data.node?.name
    ? `${data.entity}/${data.project}/${data.node.name}`
    : data.entity
      ? `${data.entity}/${data.project}`
      : null;
  return {
    queue,
    job_id: job.id ?? null,
    run,
    failed_at: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
    attempts: job.attemptsMade,
    reason: job.failedReason ?? null,
  };
}
