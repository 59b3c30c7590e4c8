/**
 * What this process has actually done, for the watchdog: a worker can stay connected and still stop
 * consuming after a reconnect (bullmq #4479, #4585), so liveness is judged by finished jobs, not PING.
 */
export class ProgressTracker {
  readonly startedAt = Date.now();
  lastJobAt: number | null = null;
  readonly lastPollAt = new Map<string, number>();
  /** Successful polls finished by this process. */
  polls = 0;

  jobFinished(at = Date.now()): void {
    this.lastJobAt = at;
  }

  pollSucceeded(project: string, at = Date.now()): void {
    this.lastPollAt.set(project, at);
    this.polls++;
  }

  /** Milliseconds since the last finished job (or since start if none). */
  idleMs(now = Date.now()): number {
    return now - (this.lastJobAt ?? this.startedAt);
  }
}
