/**
 * Runs `tick` every `everyMs`, one at a time, never throwing out of the loop (a failed tick is
 * reported and the next one runs as usual). The timer does not keep the process alive.
 */
export function startTicker(
  everyMs: number,
  tick: () => Promise<void>,
  onError: (error: unknown) => void,
): { stop(): Promise<void> } {
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    if (stopped) return;
    running = running.then(async () => {
      if (stopped) return;
      try {
        await tick();
      } catch (error) {
        onError(error);
      }
    });
  }, everyMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
