import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { normalizeRun, type NormalizedRun, type NormalizeOptions } from '../core/normalize/run.js';
import type { WandbRunNode } from '../core/wandb-run.js';

export interface NormalizeRequest {
  id: number;
  nodes: readonly unknown[];
}

export type NormalizeResult = { ok: true; run: NormalizedRun } | { ok: false; run: string; error: string };

export interface NormalizeReply {
  id: number;
  results: NormalizeResult[];
}

/** Normalizes batches of run nodes, on a worker thread when one can be started. */
export interface Normalizer {
  normalize(nodes: readonly unknown[]): Promise<NormalizeResult[]>;
  readonly threaded: boolean;
  close(): Promise<void>;
}

/**
 * Normalization is pure CPU and about as costly as writing, so a bulk ingest overlaps the two: the
 * worker normalizes batch n+1 while the main thread writes batch n. Falls back to the main thread
 * where the compiled worker is not available (e.g. when running from TypeScript sources under a test
 * runner).
 */
export function createNormalizer(options: NormalizeOptions, useThread = true): Normalizer {
  const workerFile = fileURLToPath(new URL('./normalize-worker.js', import.meta.url));
  if (!useThread || !existsSync(workerFile)) return inlineNormalizer(options);
  const worker = new Worker(workerFile, { workerData: options });
  worker.unref();
  const pending = new Map<number, { resolve: (r: NormalizeResult[]) => void; reject: (e: unknown) => void }>();
  let nextId = 0;
  let failure: unknown = null;
  worker.on('message', (reply: NormalizeReply) => {
    pending.get(reply.id)?.resolve(reply.results);
    pending.delete(reply.id);
  });
  worker.on('error', (error) => {
    failure = error;
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  });
  return {
    threaded: true,
    normalize(nodes) {
      if (failure) return Promise.reject(failure);
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, nodes } satisfies NormalizeRequest);
      });
    },
    async close() {
      await worker.terminate();
    },
  };
}

function inlineNormalizer(options: NormalizeOptions): Normalizer {
  return {
    threaded: false,
    async normalize(nodes) {
      return nodes.map((node) => normalizeSafely(node, options));
    },
    async close() {},
  };
}

/** A run that cannot be normalized becomes a failure naming it, never an exception that stops the batch. */
export function normalizeSafely(node: unknown, options: NormalizeOptions): NormalizeResult {
  try {
    return { ok: true, run: normalizeRun(node as WandbRunNode, options) };
  } catch (error) {
    const name = (node as { name?: unknown } | null)?.name;
    return {
      ok: false,
      run: typeof name === 'string' && name !== '' ? name : '(no name)',
      error: failureReason(error),
    };
  }
}

/** Why a run failed, without the "run <id>: " prefix (the failure record already names the run). */
export function failureReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^run [^:]+: /, '');
}
