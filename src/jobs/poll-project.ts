import type { NormalizeOptions } from '../core/normalize/run.js';
import type { WandbRunNode } from '../core/wandb-run.js';
import type { RunStore } from '../db/store.js';
import { isWandbError, type WandbClient } from '../wandb/index.js';
import { fetchRunsByName } from './fetch-by-name.js';
import { planSync } from './plan-sync.js';
import type { JobContext, JobEnqueuer, ProjectPayload } from './registry.js';
import { changedSinceFilter, changeTimeOf, wandbTimeFromMs, wandbTimeToMs } from './wandb-watermark.js';

export const POLL_STATE = 'poll';
export const RECONCILE_STATE = 'reconcile';

export interface PollSettings {
  /** Re-list this much before the watermark: W&B's filtered results lag behind its writes. */
  overlapMs: number;
  staleAfterMs: number;
  reconcileIntervalMs: number;
}

export interface PollDeps {
  wandb: Pick<WandbClient, 'listRuns'>;
  store: RunStore;
  normalize: NormalizeOptions;
  enqueue: JobEnqueuer;
  settings: PollSettings;
  now?: () => number;
}

export interface PollResult {
  skipped?: string;
  /** Runs listed as changed since the watermark (minus the overlap). */
  changed: number;
  /** Runs the database holds as alive, fetched by name. */
  active: number;
  enqueued: number;
  poison: number;
  settled: number;
  stale: number;
  restored: number;
  watermark: string | null;
  reconcileDue: boolean;
}

interface PollDetail {
  at: string;
  changed: number;
  active: number;
  enqueued: number;
}

/**
 * One poll of one project:
 *  1. runs changed at or after (watermark − overlap), by updatedAt or heartbeatAt;
 *  2. every run the database still holds as alive, fetched by name in batches;
 *  3. fetched data the database lacks becomes sync jobs (the data rides in the job);
 *  4. running runs with an old heartbeat are marked stale;
 *  5. the watermark advances only past runs whose data is already in the database, so jobs lost
 *     with Redis are fetched and enqueued again by the next poll: the database is the source of truth;
 *  6. a reconcile is enqueued when the database says the last one is older than its interval.
 * The watermark moves by W&B's own timestamps, never by this machine's clock (after the first poll).
 */
export function createPollProjectJob(deps: PollDeps) {
  const now = deps.now ?? Date.now;
  const running = new Set<string>();
  let heartbeatOnly = false;
  return async function pollProject(payload: ProjectPayload, ctx: JobContext): Promise<PollResult> {
    const { entity, project } = payload;
    const key = `${entity}/${project}`;
    // A slow poll must not overlap the next one of the same project in this process.
    if (running.has(key)) return { ...emptyPollResult(), skipped: 'previous poll of this project still running' };
    running.add(key);
    try {
      return await poll(entity, project, ctx);
    } finally {
      running.delete(key);
    }
  };

  async function poll(entity: string, project: string, ctx: JobContext): Promise<PollResult> {
    const started = now();
    const { settings, store } = deps;
    const previous = await store.getSyncState(entity, project, POLL_STATE);
    const watermark = previous?.watermark ?? null;
    const since = wandbTimeFromMs((watermark ? wandbTimeToMs(watermark) : started) - settings.overlapMs);
    const staleBefore = new Date(started - settings.staleAfterMs).toISOString();
    const planOptions = { entity, project, normalize: deps.normalize, source: 'wandb' as const, staleBefore };
    const result = emptyPollResult(watermark);

    const seen = new Set<string>();
    let maxChange: string | null = null;
    let minUnsettled: string | null = null;
    const handle = async (nodes: WandbRunNode[], countsForWatermark: boolean): Promise<void> => {
      const plan = await planSync(store, nodes, planOptions);
      await deps.enqueue.syncRuns(plan.items);
      result.enqueued += plan.items.length;
      result.poison += plan.items.filter((i) => i.poison !== undefined).length;
      result.settled += plan.settled;
      if (plan.restore.length)
        result.restored += (await store.restoreRuns({ entity, project, wandbRunIds: plan.restore })).length;
      if (plan.stale.length) {
        const marked = await store.markRunsStale({
          entity,
          project,
          wandbRunIds: plan.stale,
          heartbeatBefore: staleBefore,
        });
        result.stale += marked.length;
        if (marked.length) ctx.log.info({ entity, project, runs: marked }, 'runs suspected stale (old heartbeat)');
      }
      if (!countsForWatermark) return;
      for (const node of nodes) {
        const t = changeTimeOf(node);
        if (t !== null && (maxChange === null || t > maxChange)) maxChange = t;
      }
      for (const t of plan.unsettled) if (minUnsettled === null || t < minUnsettled) minUnsettled = t;
    };

    const listChanged = async (filters: Record<string, unknown>): Promise<void> => {
      for await (const page of deps.wandb.listRuns({ entity, project, filters, order: '+created_at' })) {
        ctx.signal?.throwIfAborted();
        for (const n of page.runs) seen.add(n.name);
        result.changed += page.runs.length;
        await handle(page.runs, true);
      }
    };
    try {
      await listChanged(changedSinceFilter(since, heartbeatOnly));
    } catch (error) {
      // `updatedAt` as a filter key is unconfirmed on W&B's server. If it is refused, heartbeatAt alone
      // still catches new, live and newly finished runs; the reconcile catches the rest.
      if (
        heartbeatOnly ||
        !isWandbError(error) ||
        !['WANDB_BAD_REQUEST', 'WANDB_GRAPHQL'].includes(error.code) ||
        result.changed > 0
      )
        throw error;
      heartbeatOnly = true;
      ctx.log.warn(
        { entity, project, err: error.message },
        'W&B refused an updatedAt filter: polling by heartbeatAt only',
      );
      await listChanged(changedSinceFilter(since, heartbeatOnly));
    }

    const alive = (await store.listWandbRunIds(entity, project, 'active')).filter((name) => !seen.has(name));
    if (alive.length > 0) {
      const fetched = await fetchRunsByName(deps.wandb, entity, project, alive);
      result.active = fetched.runs.length;
      await handle(fetched.runs, false);
    }

    // Past every run already written; never past one still waiting for its sync job.
    const base = watermark ?? since;
    const candidate = minUnsettled ?? maxChange ?? base;
    result.watermark = candidate > base ? candidate : base;
    const detail: PollDetail = {
      at: new Date(now()).toISOString(),
      changed: result.changed,
      active: result.active,
      enqueued: result.enqueued,
    };
    await store.setSyncState({
      entity,
      project,
      kind: POLL_STATE,
      watermark: result.watermark,
      detail: JSON.stringify(detail),
    });

    const last = await store.getSyncState(entity, project, RECONCILE_STATE);
    const lastMs = last ? Date.parse(last.updatedAt) : Number.NEGATIVE_INFINITY;
    if (started - lastMs >= settings.reconcileIntervalMs) {
      result.reconcileDue = true;
      const period = Math.floor(started / settings.reconcileIntervalMs) * settings.reconcileIntervalMs;
      await deps.enqueue.reconcile({ entity, project }, period);
    }
    ctx.log.debug({ entity, project, ...result, ms: now() - started }, 'polled');
    return result;
  }
}

/** A poll that did nothing (skipped, or cut short by shutdown). */
export function emptyPollResult(watermark: string | null = null, reconcileDue = false): PollResult {
  return { changed: 0, active: 0, enqueued: 0, poison: 0, settled: 0, stale: 0, restored: 0, watermark, reconcileDue };
}
