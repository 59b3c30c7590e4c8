import type { WandbRunNode } from '../core/wandb-run.js';
import { WandbError } from './errors.js';
import type { PoisonRun, RunsPage, WandbClientEvent } from './types.js';

/** W&B cursors are offsets: base64("arrayconnection:<0-based index of the last run returned>"). */
export function decodeOffsetCursor(cursor: string | null | undefined): number | undefined {
  if (cursor === null || cursor === undefined) return -1;
  const m = /^arrayconnection:(-?\d+)$/.exec(Buffer.from(cursor, 'base64').toString('utf8'));
  return m ? Number(m[1]) : undefined;
}

/** The `after` cursor that makes a listing start at `offset` (0 → null: from the beginning). */
export function offsetCursor(offset: number): string | null {
  return offset <= 0 ? null : Buffer.from(`arrayconnection:${offset - 1}`).toString('base64');
}

export interface FetchedPage {
  projectName: string;
  entityName: string;
  nodes: WandbRunNode[];
  endCursor: string | null;
  hasNextPage: boolean;
}

export interface PageSource {
  entity: string;
  project: string;
  target: string;
  pageSize: number;
  /** Retries per attempt at the full page size, and once shrinking. */
  retries: number;
  shrinkRetries: number;
  fetchPage(after: string | null, first: number, retries: number, counter: { requests: number }): Promise<FetchedPage>;
  /** Name of the run at the position after `after`, with a light query; null if there is none. */
  probeName(after: string | null, retries: number, counter: { requests: number }): Promise<string | null>;
  /** Any cheap request that proves the server answers for this project (runCount). */
  probeHealthy(retries: number, counter: { requests: number }): Promise<void>;
  emit(event: WandbClientEvent): void;
}

/** Whether shrinking the page could help: transient failures other than rate limiting. */
function shrinkable(err: unknown): err is WandbError {
  return err instanceof WandbError && err.retryable && err.status !== 429;
}

/**
 * Pages through a listing, one request per page, yielding each run name once.
 *
 * A page that still fails after its retries is retried at the same position with half the page size,
 * down to 1. A run that fails alone is confirmed as poison only if the server is otherwise healthy (a
 * light name-only query or runCount works): it is reported and skipped (position + 1) and the page size
 * grows back. When the server fails for everything, the error is thrown instead: an outage never
 * turns into skipped runs. Skipping needs offset cursors; with any other cursor the error is thrown.
 */
export async function* paginateRuns(source: PageSource, startAfter: string | null): AsyncGenerator<RunsPage> {
  const seen = new Set<string>();
  let after = startAfter;
  let size = source.pageSize;
  /** While shrunk: the listing position where the range that failed at full size ends. */
  let suspectEnd: number | undefined;
  let counter = { requests: 0 };
  let poisonRuns: PoisonRun[] = [];

  for (;;) {
    const offset = decodeOffsetCursor(after);
    const position = offset === undefined ? undefined : offset + 1;
    let page: FetchedPage;
    try {
      page = await source.fetchPage(
        after,
        size,
        size < source.pageSize ? source.shrinkRetries : source.retries,
        counter,
      );
    } catch (err) {
      if (!shrinkable(err)) throw err;
      if (size > 1) {
        const to = Math.max(1, Math.floor(size / 2));
        if (suspectEnd === undefined && position !== undefined) suspectEnd = position + size;
        source.emit({
          type: 'page-shrunk',
          target: source.target,
          ...(position !== undefined ? { offset: position } : {}),
          after,
          from: size,
          to,
          reason: err.message,
        });
        size = to;
        continue;
      }
      const poison = await confirmPoison(source, after, position, err, counter);
      poisonRuns.push(poison);
      source.emit({ type: 'poison-run', target: source.target, poison });
      after = offsetCursor(poison.offset + 1);
      size = source.pageSize;
      suspectEnd = undefined;
      continue;
    }

    const runs: WandbRunNode[] = [];
    for (const node of page.nodes) {
      if (seen.has(node.name)) continue;
      seen.add(node.name);
      runs.push({ ...node, project: { name: page.projectName, entityName: page.entityName } });
    }
    const endCursor = page.endCursor ?? after;
    if (page.hasNextPage && (page.nodes.length === 0 || endCursor === after)) {
      throw new WandbError(
        'WANDB_BAD_RESPONSE',
        `W&B says more runs follow in ${source.target} but its cursor does not advance (after ${String(after)}): stopping instead of looping`,
      );
    }
    yield { runs, endCursor, hasNextPage: page.hasNextPage, requestCount: counter.requests, poisonRuns };
    if (!page.hasNextPage) return;

    counter = { requests: 0 };
    poisonRuns = [];
    after = endCursor;
    if (size < source.pageSize) {
      // Past the range that failed at full size: back to full pages.
      const next = decodeOffsetCursor(after);
      if (suspectEnd === undefined || next === undefined || next + 1 >= suspectEnd) {
        size = source.pageSize;
        suspectEnd = undefined;
      }
    }
  }
}

async function confirmPoison(
  source: PageSource,
  after: string | null,
  position: number | undefined,
  err: WandbError,
  counter: { requests: number },
): Promise<PoisonRun & { offset: number }> {
  function giveUp(why: string): never {
    err.message += ` (${why})`;
    throw err;
  }
  if (position === undefined) giveUp(`cannot skip the failing run: ${String(after)} is not an offset cursor`);
  let name: string | null | undefined;
  try {
    name = await source.probeName(after, source.shrinkRetries, counter);
  } catch (probeErr) {
    if (!shrinkable(probeErr)) throw probeErr;
    // The run breaks even the light query; make sure W&B answers at all before skipping it.
    await source.probeHealthy(source.shrinkRetries, counter).catch(() => {
      giveUp('W&B fails for every request, not just one run: nothing skipped');
    });
  }
  if (name === null) giveUp(`no run at position ${position} to skip`);
  return {
    entity: source.entity,
    project: source.project,
    offset: position,
    after,
    ...(name !== undefined ? { name } : {}),
    code: err.code,
    ...(err.status !== undefined ? { status: err.status } : {}),
    message: err.message,
  };
}
