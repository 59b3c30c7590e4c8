import { TraindbError } from '../core/errors.js';
import { normalizeRun, type NormalizedRun, type NormalizeOptions } from '../core/normalize/run.js';
import { parseRunFile } from '../core/run-file.js';
import type { WandbRunNode } from '../core/wandb-run.js';
import type { RunStore, UpsertOptions, UpsertOutcome } from '../db/store.js';

export const readRunNodes = parseRunFile;

export interface IngestFailure {
  run: string;
  reason: string;
}

export interface IngestSummary {
  inserted: number;
  updated: number;
  unchanged: number;
  stale: number;
  failed: IngestFailure[];
  warnings: string[];
  transitions: number;
}

export function emptySummary(): IngestSummary {
  return { inserted: 0, updated: 0, unchanged: 0, stale: 0, failed: [], warnings: [], transitions: 0 };
}

export interface IngestOptions extends NormalizeOptions, UpsertOptions {
  /** Runs written per transaction (default 200): fewer fsyncs, same per-run atomicity on failure. */
  batchSize?: number;
}

/**
 * Normalizes and writes W&B run nodes. A run that cannot be normalized or written is reported with its
 * id and reason and never stops the others. Returns counts by outcome.
 */
export async function ingestNodes(
  store: RunStore,
  nodes: Iterable<unknown>,
  options: IngestOptions = {},
  summary: IngestSummary = emptySummary(),
): Promise<IngestSummary> {
  const batch: NormalizedRun[] = [];
  const batchSize = options.batchSize ?? 200;
  for (const node of nodes) {
    try {
      batch.push(normalizeRun(node as WandbRunNode, options));
    } catch (error) {
      summary.failed.push({ run: runLabel(node), reason: reasonOf(error) });
    }
    if (batch.length >= batchSize) await flush(store, batch.splice(0), options, summary);
  }
  if (batch.length > 0) await flush(store, batch, options, summary);
  return summary;
}

async function flush(store: RunStore, runs: NormalizedRun[], options: UpsertOptions, summary: IngestSummary): Promise<void> {
  let outcomes: UpsertOutcome[];
  try {
    outcomes = await store.upsertBatch(runs, options);
  } catch {
    // One bad run aborted the batch: write them one by one so only the bad one fails.
    outcomes = [];
    for (const run of runs) {
      try {
        outcomes.push(await store.upsertRun(run, options));
      } catch (error) {
        summary.failed.push({ run: String(run.run.wandb_run_id), reason: reasonOf(error) });
      }
    }
  }
  for (const o of outcomes) {
    summary[o.result]++;
    if (o.transition) summary.transitions++;
    for (const w of o.warnings) summary.warnings.push(`run ${o.wandbRunId}: ${w}`);
  }
}

function runLabel(node: unknown): string {
  const name = (node as { name?: unknown } | null)?.name;
  return typeof name === 'string' && name !== '' ? name : '(no name)';
}

function reasonOf(error: unknown): string {
  if (error instanceof TraindbError) return error.message.replace(/^run [^:]+: /, '');
  return error instanceof Error ? error.message : String(error);
}
