import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { TraindbError } from '../../core/errors.js';
import { ingestNodes, readRunNodes } from '../../jobs/ingest.js';
import { EXIT, withDatabaseOptions, withStore, type DatabaseFlags } from '../context.js';

interface IngestFlags extends DatabaseFlags {
  file: string;
  entity?: string;
  project?: string;
}

export function registerIngest(program: Command): void {
  withDatabaseOptions(
    program
      .command('ingest')
      .description('load W&B run nodes from a file (JSON array, {"runs": [...]}, GraphQL response or JSON lines)')
      .requiredOption('-f, --file <path>', 'file to read ("-" for standard input)')
      .option('--entity <entity>', 'W&B entity for runs whose node does not name one')
      .option('--project <project>', 'W&B project for runs whose node does not name one'),
  ).action(async (flags: IngestFlags) => {
    const text = readInput(flags.file);
    const nodes = readRunNodes(text, flags.file);
    const summary = await withStore(flags, (store, config) =>
      ingestNodes(store, nodes, {
        extraction: config.extraction,
        launchIdKey: config.launchIdKey,
        entity: flags.entity,
        project: flags.project,
      }),
    );
    for (const w of summary.warnings) console.error(`warning: ${w}`);
    for (const f of summary.failed) console.error(`failed: run ${f.run}: ${f.reason}`);
    console.log(
      `ingested ${nodes.length} runs from ${flags.file}: ${summary.inserted} new, ${summary.updated} updated, ` +
        `${summary.unchanged} unchanged, ${summary.stale} older than stored, ${summary.failed.length} failed`,
    );
    process.exitCode = summary.failed.length === 0 ? EXIT.ok : summary.failed.length < nodes.length ? EXIT.partial : EXIT.failure;
  });
}

function readInput(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    throw new TraindbError('INVALID_INPUT', `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}
