import { hash53 } from '../core/hash.js';
import { normalizeRun, type NormalizeOptions } from '../core/normalize/run.js';
import type { WandbRunNode } from '../core/wandb-run.js';
import type { RunStore } from '../db/store.js';
import type { SyncRunItem, SyncRunPayload } from './registry.js';
import { changeTimeOf, wandbTimeToMs } from './wandb-watermark.js';

export interface SyncPlan {
  /** Sync jobs to add: data the database does not hold yet, and data that cannot be normalized. */
  items: SyncRunItem[];
  /** Change time (W&B form) of each run whose data is not in the database yet. */
  unsettled: string[];
  /** Runs the database already holds exactly as fetched. */
  settled: number;
  /** W&B run ids marked deleted in the database but served again. */
  restore: string[];
  /** W&B run ids stored as running, unchanged, whose heartbeat is older than the stale threshold. */
  stale: string[];
}

export interface PlanOptions {
  entity: string;
  project: string;
  normalize: NormalizeOptions;
  source: SyncRunPayload['source'];
  /** ISO instant: a running run whose heartbeat is before it is suspected stale. */
  staleBefore: string;
}

/**
 * Compares fetched runs with the database and decides what to enqueue. Normalization is pure and cheap,
 * and its content hash is what the store keeps, so unchanged runs cost no job at all: an hourly
 * reconcile of a large project enqueues only what differs.
 */
export async function planSync(store: RunStore, nodes: readonly WandbRunNode[], o: PlanOptions): Promise<SyncPlan> {
  const plan: SyncPlan = { items: [], unsettled: [], settled: 0, restore: [], stale: [] };
  const stored = new Map(
    (
      await store.getRunFingerprints(
        o.entity,
        o.project,
        nodes.map((n) => n.name),
      )
    ).map((f) => [f.wandbRunId, f]),
  );
  for (const node of nodes) {
    const changeTime = changeTimeOf(node) ?? '1970-01-01T00:00:00';
    const item: SyncRunItem = {
      payload: { entity: o.entity, project: o.project, node, source: o.source },
      versionMs: wandbTimeToMs(changeTime),
      contentHash: hash53(JSON.stringify(node)),
    };
    let normalized;
    try {
      normalized = normalizeRun(node, { ...o.normalize, entity: o.entity, project: o.project });
    } catch (error) {
      // Enqueued anyway: its job fails with this reason and stays listed by `traindb jobs failed`.
      plan.items.push({ ...item, poison: (error as Error).message });
      continue;
    }
    const fp = stored.get(node.name);
    if (fp?.deletedAt) plan.restore.push(node.name);
    if (fp && fp.sourceHash === normalized.hash) {
      plan.settled++;
      const heartbeat = normalized.run.heartbeat_at;
      if (fp.status === 'running' && typeof heartbeat === 'string' && heartbeat < o.staleBefore)
        plan.stale.push(node.name);
      continue;
    }
    plan.items.push(item);
    plan.unsettled.push(changeTime);
  }
  return plan;
}
