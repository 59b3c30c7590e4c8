import type { WandbRunNode } from '../core/wandb-run.js';
import type { WandbClient } from '../wandb/index.js';

export interface FetchedByName {
  runs: WandbRunNode[];
  /** Runs W&B lists but fails to serve (skipped by the client): they exist. */
  poisonNames: string[];
  /** Skipped runs the client could not even name: their existence is unknown. */
  unnamedPoison: number;
}

/**
 * Fetches runs by name (`name $in [...]`) in batches of one page each. Unlike `getRuns`, it keeps
 * what the client skipped, so a run W&B fails to serve is never mistaken for a deleted one.
 */
export async function fetchRunsByName(
  wandb: Pick<WandbClient, 'listRuns'>,
  entity: string,
  project: string,
  names: readonly string[],
  batchSize = 50,
): Promise<FetchedByName> {
  const out: FetchedByName = { runs: [], poisonNames: [], unnamedPoison: 0 };
  const unique = [...new Set(names)];
  for (let i = 0; i < unique.length; i += batchSize) {
    const batch = unique.slice(i, i + batchSize);
    for await (const page of wandb.listRuns({
      entity,
      project,
      filters: { name: { $in: batch } },
      pageSize: batch.length,
    })) {
      out.runs.push(...page.runs);
      for (const p of page.poisonRuns) {
        if (p.name) out.poisonNames.push(p.name);
        else out.unnamedPoison++;
      }
    }
  }
  return out;
}
