import type { NormalizeOptions } from '../core/normalize/run.js';
import type { WandbRunNode } from '../core/wandb-run.js';
import type { RunStore } from '../db/store.js';
import type { WandbClient } from '../wandb/index.js';
import { fetchRunsByName } from './fetch-by-name.js';
import { planSync, type PlanOptions } from './plan-sync.js';
import { RECONCILE_STATE } from './poll-project.js';
import type { JobContext, JobEnqueuer, ProjectPayload } from './registry.js';

export interface ReconcileDeps {
  wandb: Pick<WandbClient, 'listRuns'>;
  store: RunStore;
  normalize: NormalizeOptions;
  enqueue: JobEnqueuer;
  staleAfterMs: number;
  now?: () => number;
}

export interface ReconcileResult {
  listed: number;
  enqueued: number;
  settled: number;
  deleted: string[];
  restored: number;
  stale: number;
  /** Why deletions were not marked this time, if they were not. */
  deletionsSkipped?: string;
}

/**
 * The full re-listing: catches what a watermark cannot (edits to finished runs that did not move
 * their timestamps, tags, notes, config fixes) and runs deleted in W&B. Deletion is only ever a
 * mark (deleted_at plus one status event), and only after the run is also missing when asked for by
 * name: offset paging can skip a run while others are deleted, and that must not look like a deletion.
 * Page by page, so a large project never sits in memory.
 */
export function createReconcileProjectJob(deps: ReconcileDeps) {
  const now = deps.now ?? Date.now;
  return async function reconcileProject(payload: ProjectPayload, ctx: JobContext): Promise<ReconcileResult> {
    const { entity, project } = payload;
    const { store } = deps;
    const started = now();
    const planOptions: PlanOptions = {
      entity,
      project,
      normalize: deps.normalize,
      source: 'reconcile',
      staleBefore: new Date(started - deps.staleAfterMs).toISOString(),
    };
    const result: ReconcileResult = { listed: 0, enqueued: 0, settled: 0, deleted: [], restored: 0, stale: 0 };
    const handle = async (nodes: WandbRunNode[]): Promise<void> => {
      const plan = await planSync(store, nodes, planOptions);
      await deps.enqueue.syncRuns(plan.items);
      result.enqueued += plan.items.length;
      result.settled += plan.settled;
      if (plan.restore.length)
        result.restored += (await store.restoreRuns({ entity, project, wandbRunIds: plan.restore })).length;
      if (plan.stale.length) {
        result.stale += (
          await store.markRunsStale({
            entity,
            project,
            wandbRunIds: plan.stale,
            heartbeatBefore: planOptions.staleBefore,
          })
        ).length;
      }
    };

    const listed = new Set<string>();
    let unnamedPoison = 0;
    for await (const page of deps.wandb.listRuns({ entity, project, order: '+created_at' })) {
      ctx.signal?.throwIfAborted();
      for (const n of page.runs) listed.add(n.name);
      for (const p of page.poisonRuns) {
        if (p.name) listed.add(p.name);
        else unnamedPoison++;
      }
      result.listed += page.runs.length;
      await handle(page.runs);
    }

    const missing = (await store.listWandbRunIds(entity, project, 'present')).filter((name) => !listed.has(name));
    if (missing.length > 0) {
      const confirm = await fetchRunsByName(deps.wandb, entity, project, missing);
      await handle(confirm.runs);
      if (unnamedPoison + confirm.unnamedPoison > 0) {
        result.deletionsSkipped = `${unnamedPoison + confirm.unnamedPoison} run(s) W&B failed to serve could not be named`;
        ctx.log.warn({ entity, project, reason: result.deletionsSkipped }, 'deletions not marked this time');
      } else {
        const found = new Set([...confirm.runs.map((r) => r.name), ...confirm.poisonNames]);
        const gone = missing.filter((name) => !found.has(name));
        if (gone.length) {
          result.deleted = await store.markRunsDeleted({
            entity,
            project,
            wandbRunIds: gone,
            detail: { reconciledAt: new Date(started).toISOString() },
          });
          if (result.deleted.length)
            ctx.log.info({ entity, project, runs: result.deleted }, 'runs deleted in W&B marked');
        }
      }
    }
    await store.setSyncState({
      entity,
      project,
      kind: RECONCILE_STATE,
      detail: JSON.stringify({
        at: new Date(now()).toISOString(),
        listed: result.listed,
        enqueued: result.enqueued,
        deleted: result.deleted.length,
      }),
    });
    ctx.log.info({ entity, project, ...result, deleted: result.deleted.length, ms: now() - started }, 'reconciled');
    return result;
  };
}
