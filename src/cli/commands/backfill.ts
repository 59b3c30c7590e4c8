import type { Command } from 'commander';
import { TraindbError } from '../../core/errors.js';
import { runBackfill } from '../../jobs/backfill.js';
import { createWandbClient, isWandbError } from '../../wandb/index.js';
import { configFrom, EXIT, withDatabaseOptions, type DatabaseFlags } from '../context.js';
import { openStore } from '../../db/open-store.js';
import { createProgress, formatDuration } from '../progress.js';
import { visible, visibleMessage } from '../format.js';

interface BackfillFlags extends DatabaseFlags {
  entity: string;
  project: string;
  since?: string;
  restart?: boolean;
  pageSize?: string;
}

export function registerBackfill(program: Command): void {
  withDatabaseOptions(
    program
      .command('backfill')
      .description(
        'copy every run of a W&B project into the database (resumable: run it again after Ctrl-C or a crash)',
      )
      .requiredOption('--entity <entity>', 'W&B entity (team or user)')
      .requiredOption('--project <project>', 'W&B project')
      .option('--since <date>', 'only runs created at or after this date (YYYY-MM-DD or ISO date-time, UTC)')
      .option('--restart', 'ignore the cursor of an unfinished backfill and start from the first run')
      .option('--page-size <n>', 'runs per W&B request (default: wandb.page_size, 100)'),
  ).action(async (flags: BackfillFlags) => {
    const config = configFrom(flags);
    if (!config.wandb.apiKey) {
      throw new TraindbError(
        'INVALID_CONFIG',
        'WANDB_API_KEY is not set: export your W&B API key (https://wandb.ai/authorize)',
      );
    }
    const pageSize = flags.pageSize === undefined ? config.wandb.pageSize : Number(flags.pageSize);
    if (!Number.isInteger(pageSize) || pageSize < 1)
      throw new TraindbError('INVALID_INPUT', `--page-size must be a whole number >= 1, got ${flags.pageSize}`);

    const abort = new AbortController();
    let signals = 0;
    const onSignal = (): void => {
      signals++;
      if (signals > 1) process.exit(130);
      process.stderr.write('\ninterrupting: finishing the current page (Ctrl-C again to quit at once)\n');
      abort.abort(new Error('interrupted'));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);

    const progress = createProgress(`${flags.entity}/${flags.project}`);
    // On a terminal the progress bar owns the current line: a message starts on a fresh one.
    const say = (line: string): void => void process.stderr.write(`${process.stderr.isTTY ? '\n' : ''}${line}\n`);
    const client = createWandbClient({
      baseUrl: config.wandb.baseUrl,
      apiKey: config.wandb.apiKey,
      pageSize,
      requestsPerSecond: config.wandb.requestsPerSecond,
      timeoutMs: config.wandb.timeoutMs,
      signal: abort.signal,
      onEvent: (e) => {
        if (e.type === 'poison-run')
          say(
            `warning: skipped a run W&B cannot return (${visible(e.poison.name ?? `offset ${e.poison.offset}`)}): ${visibleMessage(e.poison.message)}`,
          );
        // Said at once: a W&B that cannot be reached would otherwise look like a hang for minutes.
        else if (e.type === 'retry')
          say(
            `retrying: ${visibleMessage(e.message)} (attempt ${e.attempt} of ${e.attempts} failed; next attempt in ${seconds(e.delayMs)})`,
          );
      },
    });
    const { store } = await openStore(config.database, { create: true, extraction: config.extraction });
    try {
      const result = await runBackfill(client, store, {
        entity: flags.entity,
        project: flags.project,
        since: flags.since,
        restart: flags.restart ?? false,
        pageSize,
        normalize: { extraction: config.extraction, launchIdKey: config.launchIdKey },
        signal: abort.signal,
        onProgress: (p) => progress.update(p.done, p.total),
        retry: {
          onRetry: (i) =>
            say(
              `retrying: could not write ${i.what}: ${visibleMessage(i.error.message)} (attempt ${i.attempt} of ${i.attempts} failed; next attempt in ${seconds(i.delayMs)})`,
            ),
        },
      });
      progress.finish();
      const stats = client.stats();
      for (const f of result.failed) console.error(`failed: run ${visible(f.run)}: ${visibleMessage(f.reason)}`);
      console.log(
        `${abort.signal.aborted ? 'interrupted' : 'done'}: ${flags.entity}/${flags.project} -> ${config.database}` +
          `${result.resumed ? ' (resumed)' : ''}\n` +
          `  runs: ${result.inserted} new, ${result.updated} updated, ${result.unchanged} unchanged, ${result.failed.length} failed` +
          ` (${result.total} in W&B)\n` +
          `  W&B: ${stats.requests} requests, ${stats.retries} retries, ${stats.rateLimited} rate-limited (429)\n` +
          `  elapsed: ${formatDuration(result.elapsedMs / 1000)}`,
      );
      if (result.failed.length > 0)
        console.log(
          '  failed runs are recorded with their reasons in the table sync_failures; a later backfill that writes one clears it',
        );
      if (abort.signal.aborted) {
        console.log('  run the same command again to resume after the last committed page');
        process.exitCode = EXIT.failure;
      } else process.exitCode = result.failed.length > 0 ? EXIT.partial : EXIT.ok;
    } catch (error) {
      progress.finish();
      if (abort.signal.aborted) {
        console.error('interrupted: run the same command again to resume after the last committed page');
        process.exitCode = EXIT.failure;
        return;
      }
      // Nothing past the failure was committed: say how to pick up where it stopped.
      if ((error instanceof TraindbError && error.transient) || (isWandbError(error) && error.retryable))
        throw new TraindbError(
          'UNAVAILABLE',
          `${error.message}\n  run the same command again to resume: it starts after the last committed page`,
          { cause: error, transient: true },
        );
      throw error;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await store.close();
    }
  });
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}
