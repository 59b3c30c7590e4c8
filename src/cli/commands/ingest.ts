import { accessSync, constants } from 'node:fs';
import type { Command } from 'commander';
import { TraindbError } from '../../core/errors.js';
import { ingestNodes, type IngestFailure } from '../../jobs/ingest.js';
import { readRunFile } from '../../jobs/read-run-lines.js';
import { EXIT, withDatabaseOptions, withWritableStore, type DatabaseFlags } from '../context.js';
import { visible, visibleMessage } from '../format.js';

interface IngestFlags extends DatabaseFlags {
  file: string;
  entity?: string;
  project?: string;
  batchSize?: string;
}

export function registerIngest(program: Command): void {
  withDatabaseOptions(
    program
      .command('ingest')
      .description('load W&B run nodes from a file (JSON array, {"runs": [...]}, GraphQL response or JSON lines)')
      .requiredOption('-f, --file <path>', 'file to read ("-" for standard input)')
      .option('--entity <entity>', 'W&B entity for runs whose node does not name one')
      .option('--project <project>', 'W&B project for runs whose node does not name one')
      .option('--batch-size <n>', 'runs per transaction (default 250; 500 is ~15% faster and uses ~85 MB more memory)'),
  ).action(async (flags: IngestFlags) => {
    const batchSize = flags.batchSize === undefined ? undefined : Number(flags.batchSize);
    if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1))
      throw new TraindbError('INVALID_INPUT', `--batch-size must be a whole number >= 1, got ${flags.batchSize}`);
    // Every file is streamed, whatever its size or format: one path, one behaviour.
    if (flags.file !== '-') checkReadable(flags.file);
    const streamed: IngestFailure[] = [];
    const nodes = readRunFile(flags.file, streamed);
    const summary = await withWritableStore(flags, (store, config) =>
      ingestNodes(store, nodes, {
        extraction: config.extraction,
        launchIdKey: config.launchIdKey,
        entity: flags.entity,
        project: flags.project,
        batchSize,
        // A file load is CPU-bound: normalizing on a worker thread while this one writes was about 1.25x
        // faster at 20K runs (bench/README.md).
        parallel: true,
        bulk: true,
        // Said at once: a database locked by another process would otherwise look like a hang.
        retry: {
          onRetry: (i) =>
            console.error(
              `retrying: could not write ${i.what}: ${visibleMessage(i.error.message)} (attempt ${i.attempt} of ${i.attempts} failed; next attempt in ${(i.delayMs / 1000).toFixed(1)} s)`,
            ),
        },
      }),
    );
    summary.failed.unshift(...streamed);
    const total = summary.inserted + summary.updated + summary.unchanged + summary.stale + summary.failed.length;
    // Run names and reasons quote the file's text: escaped so a hostile file cannot drive the terminal.
    for (const w of summary.warnings) console.error(`warning: ${visibleMessage(w)}`);
    for (const f of summary.failed)
      console.error(`failed: run ${visible(f.run)}: ${visibleMessage(f.reason)}${hint(f.reason)}`);
    console.log(
      `ingested ${total} runs from ${flags.file}: ${summary.inserted} new, ${summary.updated} updated, ` +
        `${summary.unchanged} unchanged, ${summary.stale} older than stored, ${summary.failed.length} failed`,
    );
    process.exitCode =
      summary.failed.length === 0 ? EXIT.ok : summary.failed.length < total ? EXIT.partial : EXIT.failure;
  });
}

/** Before any database is opened or created: a missing file is bad input, not an empty load. */
function checkReadable(file: string): void {
  try {
    accessSync(file, constants.R_OK);
  } catch (error) {
    throw new TraindbError(
      'INVALID_INPUT',
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

function hint(reason: string): string {
  return reason.startsWith('no entity/project') ? ' (pass --entity and --project)' : '';
}
