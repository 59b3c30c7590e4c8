import type { WandbRunNode } from '../core/wandb-run.js';
import { toUtcIso } from '../core/normalize/time.js';

/**
 * Poll watermarks are kept in W&B's own zone-less form ("2026-03-01T12:00:00"): the server compares
 * filter values as strings, so a reformatted timestamp could silently match nothing.
 */
export function toWandbTime(value: string | null | undefined): string | null {
  const iso = toUtcIso(value);
  return iso === null ? null : iso.slice(0, 19);
}

export function wandbTimeFromMs(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

export function wandbTimeToMs(text: string): number {
  return Date.parse(`${text}Z`);
}

/** When W&B last changed this run, as far as the API tells: the later of updatedAt and heartbeatAt. */
export function changeTimeOf(node: WandbRunNode): string | null {
  const updated = toWandbTime(node.updatedAt);
  const heartbeat = toWandbTime(node.heartbeatAt);
  if (updated === null) return heartbeat ?? toWandbTime(node.createdAt);
  return heartbeat !== null && heartbeat > updated ? heartbeat : updated;
}

/** The filter for "changed at or after `since`": either timestamp may be the one W&B moved. */
export function changedSinceFilter(since: string, heartbeatOnly = false): Record<string, unknown> {
  if (heartbeatOnly) return { heartbeatAt: { $gte: since } };
  return { $or: [{ updatedAt: { $gte: since } }, { heartbeatAt: { $gte: since } }] };
}
