/** One readiness condition: resolves when fine, throws (with a message saying what is wrong) when not. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<unknown>;
}

export interface ReadinessReport {
  ready: boolean;
  failed: string[];
  checks: Record<string, { ok: boolean; error?: string; detail?: unknown }>;
}

/** Runs every check at once, each bounded by `timeoutMs`, so one hung dependency cannot hang the probe. */
export async function evaluateReadiness(checks: readonly ReadinessCheck[], timeoutMs = 2000): Promise<ReadinessReport> {
  const results = await Promise.all(
    checks.map(async (c) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        const detail = await Promise.race([
          c.check(),
          new Promise(
            (_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)),
          ),
        ]);
        return [c.name, { ok: true, ...(detail === undefined ? {} : { detail }) }] as const;
      } catch (error) {
        return [c.name, { ok: false, error: error instanceof Error ? error.message : String(error) }] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const failed = results.filter(([, r]) => !r.ok).map(([name]) => name);
  return { ready: failed.length === 0, failed, checks: Object.fromEntries(results) };
}
