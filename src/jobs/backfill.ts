import { TraindbError } from '../core/errors.js';
import type { NormalizeOptions } from '../core/normalize/run.js';
import type { RunStore } from '../db/store.js';
import type { WandbClient } from '../wandb/index.js';
import { emptySummary, type IngestSummary } from './ingest.js';
import { createSyncRunsJob } from './sync-runs.js';
import { withWriteRetries, type WriteRetryOptions } from './write-retry.js';

export interface BackfillOptions {
  entity: string;
  project: string;
  /** Only runs created at or after this instant (ISO date or date-time, UTC). */
  since?: string;
  /** Start over even if an unfinished backfill of the same scope left a cursor. */
  restart?: boolean;
  pageSize?: number;
  normalize: NormalizeOptions;
  onProgress?: (progress: BackfillProgress) => void;
  signal?: AbortSignal;
  /**
   * A project at least this large (default 2,000 runs) is copied as a bulk load: into a database under
   * 5,000 runs, the secondary indexes that take random inserts are rebuilt once at the end.
   */
  bulkMinRuns?: number;
  /** Retries of transient write failures (a busy database); `onRetry` tells the user it is waiting. */
  retry?: WriteRetryOptions;
}

export interface BackfillProgress {
  done: number;
  total: number;
  pages: number;
  resumedAt: number;
}

export interface BackfillResult extends IngestSummary {
  entity: string;
  project: string;
  total: number;
  pages: number;
  resumed: boolean;
  elapsedMs: number;
}

const KIND = 'backfill';

interface BackfillDetail {
  scope: string;
  done: number;
  complete: boolean;
}

/**
 * Copies every run of a W&B project into the store: one GraphQL request per page, each page written
 * with its cursor in one transaction, so an interrupted backfill resumes after the last page it
 * committed. Pages are listed oldest first (`+created_at`), which keeps runs created meanwhile at the end.
 * A run that fails for good (bad data) is recorded in sync_failures with the cursor that passes it; a
 * busy database is waited out (retries), and if it stays busy the backfill stops with UNAVAILABLE and
 * the cursor before the page, never past a run that is neither written nor recorded.
 */
export async function runBackfill(
  client: WandbClient,
  store: RunStore,
  options: BackfillOptions,
): Promise<BackfillResult> {
  const started = Date.now();
  const { entity, project } = options;
  const since = options.since ? toWandbTimestamp(options.since) : undefined;
  const filters = since ? { createdAt: { $gte: since } } : {};
  const scope = JSON.stringify({ since: since ?? null, order: '+created_at' });

  const previous = await store.getSyncState(entity, project, KIND);
  const previousDetail = parseDetail(previous?.detail);
  const resume = !options.restart && previous?.cursor && previousDetail?.scope === scope && !previousDetail.complete;
  const startAfter = resume ? previous!.cursor : null;
  let done = resume ? previousDetail!.done : 0;
  const resumedAt = done;

  const total = await client.countRuns({ entity, project, filters });
  const retry: WriteRetryOptions = { ...options.retry, ...(options.signal ? { signal: options.signal } : {}) };
  const syncRuns = createSyncRunsJob({ store, normalize: options.normalize, retry });
  const summary = emptySummary();
  let pages = 0;
  options.onProgress?.({ done, total, pages, resumedAt });

  // A whole project into a (nearly) empty database is a bulk load: random-insert indexes are rebuilt once
  // at the end instead of being maintained page by page (the store declines for a larger database).
  const bulkLoad =
    total >= (options.bulkMinRuns ?? BULK_MIN_RUNS) &&
    (await withWriteRetries(`the start of a bulk load into the database`, () => store.beginBulkLoad(), retry));
  let failure: unknown;
  try {
    for await (const page of client.listRuns({
      entity,
      project,
      filters,
      order: '+created_at',
      pageSize: options.pageSize,
      startAfter,
    })) {
      if (options.signal?.aborted) break;
      pages++;
      done += page.runs.length;
      const detail: BackfillDetail = { scope, done, complete: false };
      // Runs W&B cannot serve are skipped by the listing: recorded with the cursor that passes them.
      const poison = page.poisonRuns.map((p) => ({
        run: p.name ?? `(at offset ${p.offset ?? '?'})`,
        reason: `W&B failed to return this run on its own (${p.message}); skipped`,
      }));
      let pageSummary: IngestSummary;
      try {
        pageSummary = await syncRuns({
          entity,
          project,
          nodes: page.runs,
          syncState: {
            entity,
            project,
            kind: KIND,
            cursor: page.endCursor,
            detail: JSON.stringify(detail),
            ...(poison.length ? { failures: poison } : {}),
          },
        });
      } catch (error) {
        if (options.signal?.aborted || !(error instanceof TraindbError) || !error.transient) throw error;
        const first = page.runs[0]?.name;
        throw new TraindbError(
          'UNAVAILABLE',
          `backfill of ${entity}/${project} stopped: ${error.message}. ` +
            `${done - page.runs.length} runs are committed; the cursor stays before this page` +
            `${first ? ` (first run ${first})` : ''}, so resuming retries it`,
          { cause: error, transient: true, details: { ...error.details, committed: done - page.runs.length } },
        );
      }
      merge(summary, pageSummary);
      summary.failed.push(...poison);
      options.onProgress?.({ done, total: Math.max(total, done), pages, resumedAt });
    }
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    if (bulkLoad) {
      try {
        await withWriteRetries('the rebuilt indexes of a bulk load', () => store.endBulkLoad(), retry);
      } catch (error) {
        // Already failing: the set-aside indexes are rebuilt the next time the database is opened.
        if (failure === undefined) throw error;
      }
    }
  }

  if (!options.signal?.aborted) {
    const detail: BackfillDetail = { scope, done, complete: true };
    await withWriteRetries(
      `the finished backfill's state of ${entity}/${project}`,
      () => store.setSyncState({ entity, project, kind: KIND, cursor: null, detail: JSON.stringify(detail) }),
      retry,
    );
  }
  return {
    ...summary,
    entity,
    project,
    total,
    pages,
    resumed: Boolean(resume),
    elapsedMs: Date.now() - started,
  };
}

/** Below this many runs, maintaining the indexes as the pages arrive costs less than rebuilding them. */
const BULK_MIN_RUNS = 2000;

function merge(into: IngestSummary, from: IngestSummary): void {
  into.inserted += from.inserted;
  into.updated += from.updated;
  into.unchanged += from.unchanged;
  into.stale += from.stale;
  into.transitions += from.transitions;
  into.failed.push(...from.failed);
  into.warnings.push(...from.warnings);
}

function parseDetail(text: string | null | undefined): BackfillDetail | null {
  if (!text) return null;
  try {
    return JSON.parse(text) as BackfillDetail;
  } catch {
    return null;
  }
}

/** W&B compares timestamps as its own zone-less UTC strings: "2026-03-01T00:00:00". */
export function toWandbTimestamp(text: string): string {
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(text)
    ? `${text}T00:00:00Z`
    : /(Z|[+-]\d{2}:?\d{2})$/i.test(text)
      ? text
      : `${text}Z`;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) {
    throw new TraindbError(
      'INVALID_INPUT',
      `--since '${text}' is not a date: use YYYY-MM-DD or an ISO date-time such as 2026-03-01T12:00:00Z`,
    );
  }
  return new Date(ms).toISOString().slice(0, 19);
}
