/**
 * traindb's lifecycle status. W&B's `state` is kept verbatim beside it; the mapping is deliberately
 * lossless: killed and preempted are not folded into failed, because "someone stopped it" and "the
 * cluster took the node" call for different follow-ups than "the code raised".
 */
export const RUN_STATUSES = [
  'launched',
  'pending',
  'running',
  'completed',
  'failed',
  'crashed',
  'killed',
  'preempted',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

const STATE_TO_STATUS: Readonly<Record<string, RunStatus>> = {
  pending: 'pending',
  running: 'running',
  preempting: 'running',
  finished: 'completed',
  failed: 'failed',
  crashed: 'crashed',
  killed: 'killed',
  preempted: 'preempted',
};

const TERMINAL: ReadonlySet<string> = new Set(['completed', 'failed', 'crashed', 'killed', 'preempted']);

/**
 * Unknown states (W&B may add some) are kept as-is rather than guessed; a run without a state (a
 * hand-made export) gets no status, so a stored one is not overwritten with a guess.
 */
export function statusFromState(state: string | null | undefined): string | null {
  if (!state) return null;
  const key = state.toLowerCase();
  // Own keys only: a state named "constructor" is an unknown state, not Object's constructor.
  return Object.prototype.hasOwnProperty.call(STATE_TO_STATUS, key) ? STATE_TO_STATUS[key]! : key;
}

export function isTerminalStatus(status: string | null | undefined): boolean {
  return status !== null && status !== undefined && TERMINAL.has(status);
}
