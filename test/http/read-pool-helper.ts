import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startReadPool, type ReadPool, type ReadPoolOptions } from '../../src/app/read-pool.js';

/** The compiled query worker: a worker thread runs JavaScript, so tests use the build (npm test builds first). */
export const READ_WORKER = fileURLToPath(new URL('../../dist/app/read-worker.js', import.meta.url));

/** A real pool of query threads on `database`, as the daemon starts it. */
export async function testPool(database: string, options: Partial<ReadPoolOptions> = {}): Promise<ReadPool> {
  if (!existsSync(READ_WORKER))
    throw new Error(`${READ_WORKER} is missing: build first (npx tsc -p tsconfig.build.json)`);
  return startReadPool({
    database,
    threads: 1,
    queryTimeoutMs: 10_000,
    maxQueued: 8,
    workerFile: READ_WORKER,
    ...options,
  });
}
