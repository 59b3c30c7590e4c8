/**
 * A LIFO stack of clean-up steps. Every step runs even if an earlier one fails (the first error is
 * kept and rethrown), and releasing twice returns the first run's promise.
 */
export class Releasers {
  private readonly steps: Array<{ name: string; fn: () => Promise<unknown> | unknown }> = [];
  private releasing: Promise<void> | null = null;

  push(name: string, fn: () => Promise<unknown> | unknown): void {
    if (this.releasing) throw new Error(`cannot add ${name}: already releasing`);
    this.steps.push({ name, fn });
  }

  release(onError?: (name: string, error: unknown) => void): Promise<void> {
    this.releasing ??= (async () => {
      let first: unknown;
      for (const step of this.steps.reverse()) {
        try {
          await step.fn();
        } catch (error) {
          onError?.(step.name, error);
          first ??= error;
        }
      }
      if (first !== undefined) throw first;
    })();
    return this.releasing;
  }
}

/** Waits for `promise` at most `ms`: the rest of a shutdown must not hang on one step. */
export async function bounded(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
