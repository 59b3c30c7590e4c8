import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { normalizeRun, type NormalizedRun, type NormalizeOptions } from '../core/normalize/run.js';
import type { WandbRunNode } from '../core/wandb-run.js';
import type { Attribute, AttributeSource } from '../core/normalize/attributes.js';
import { TraindbError } from '../core/errors.js';

export interface NormalizeRequest {
  id: number;
  nodes: readonly unknown[];
}

export type NormalizeResult = { ok: true; run: NormalizedRun } | { ok: false; run: string; error: string };

export interface NormalizeReply {
  id: number;
  batch: PackedBatch;
}

/**
 * A batch of results as it crosses the thread boundary. Structured clone is slow for many small objects:
 * a run's ~200 attribute objects took 200-340 µs/run to deserialize on the main thread (the writer's
 * thread), which ate the gain of normalizing in parallel. Here each distinct (source, path) is sent once
 * per batch and a run's attributes are two flat arrays: about 80 µs/run.
 */
export interface PackedBatch {
  /** Distinct attribute keys of the batch: sources[i], paths[i]. */
  sources: AttributeSource[];
  paths: string[];
  results: PackedResult[];
}

type PackedResult =
  | { ok: true; run: Omit<NormalizedRun, 'attributes'>; keys: Int32Array; values: Array<number | string> }
  | { ok: false; run: string; error: string };

export function packResults(results: readonly NormalizeResult[]): PackedBatch {
  const packer = new BatchPacker();
  for (const result of results) packer.add(result);
  return packer.finish();
}

/**
 * Packs results one at a time: each run's attribute objects become garbage as soon as the run is packed,
 * instead of living until the whole batch is normalized.
 */
export class BatchPacker {
  // One map of paths per source: a composite "source + path" string key cost ~25 µs/run to build and hash.
  private readonly index = new Map<AttributeSource, Map<string, number>>();
  private readonly sources: AttributeSource[] = [];
  private readonly paths: string[] = [];
  private readonly results: PackedResult[] = [];

  add(result: NormalizeResult): void {
    if (!result.ok) {
      this.results.push(result);
      return;
    }
    const { attributes, ...run } = result.run;
    const keys = new Int32Array(attributes.length);
    const values: Array<number | string> = new Array<number | string>(attributes.length);
    for (let i = 0; i < attributes.length; i++) {
      const a = attributes[i]!;
      keys[i] = this.keyIndex(a.source, a.path);
      values[i] = a.value;
    }
    this.results.push({ ok: true, run, keys, values });
  }

  finish(): PackedBatch {
    return { sources: this.sources, paths: this.paths, results: this.results };
  }

  private keyIndex(source: AttributeSource, path: string): number {
    let bySource = this.index.get(source);
    if (bySource === undefined) {
      bySource = new Map();
      this.index.set(source, bySource);
    }
    let k = bySource.get(path);
    if (k === undefined) {
      k = this.paths.length;
      bySource.set(path, k);
      this.sources.push(source);
      this.paths.push(path);
    }
    return k;
  }
}

export function unpackResults(batch: PackedBatch): NormalizeResult[] {
  return batch.results.map((result): NormalizeResult => {
    if (!result.ok) return result;
    const attributes: Attribute[] = new Array<Attribute>(result.keys.length);
    for (let i = 0; i < result.keys.length; i++) {
      const k = result.keys[i]!;
      attributes[i] = { source: batch.sources[k]!, path: batch.paths[k]!, value: result.values[i]! };
    }
    return { ok: true, run: { ...result.run, attributes } };
  });
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
export function createNormalizer(options: NormalizeOptions, useThread = true, hooks: WorkerTestHooks = {}): Normalizer {
  const workerFile = fileURLToPath(new URL('./normalize-worker.js', import.meta.url));
  if (!useThread || !existsSync(workerFile)) return inlineNormalizer(options);
  // A young generation of 8 MB (V8 sizes it up to 3 x 16 MB): the worker's garbage is collected sooner,
  // and peak RSS of a 15K-run ingest fell from 386-400 MB to 350-365 MB at the same speed. It bounds
  // only the nursery, never the live data, so a large run cannot make the worker run out of memory.
  const worker = new Worker(workerFile, {
    workerData: { options, hooks } satisfies NormalizeWorkerData,
    resourceLimits: { maxYoungGenerationSizeMb: 8 },
  });
  worker.unref();
  const pending = new Map<number, { resolve: (r: NormalizeResult[]) => void; reject: (e: unknown) => void }>();
  let nextId = 0;
  let failure: unknown = null;
  let closing = false;
  const fail = (error: unknown): void => {
    failure ??= error;
    for (const p of pending.values()) p.reject(failure);
    pending.clear();
  };
  worker.on('message', (reply: NormalizeReply) => {
    pending.get(reply.id)?.resolve(unpackResults(reply.batch));
    pending.delete(reply.id);
  });
  worker.on('error', (error) =>
    fail(
      new TraindbError('UNAVAILABLE', `the normalization worker failed: ${error.message}`, {
        cause: error,
        transient: false,
      }),
    ),
  );
  worker.on('messageerror', (error) =>
    fail(
      new TraindbError(
        'UNAVAILABLE',
        `a batch could not be read back from the normalization worker: ${error.message}`,
        { cause: error, transient: false },
      ),
    ),
  );
  // A worker can also end without an 'error' (killed, exited): waiting for its replies would hang the ingest.
  worker.on('exit', (code) => {
    if (closing) return;
    fail(
      new TraindbError(
        'UNAVAILABLE',
        `the normalization worker stopped (exit code ${code}) with ${pending.size} batch(es) unanswered; runs written before it stopped are kept, and running the load again resumes it`,
        { details: { exitCode: code }, transient: false },
      ),
    );
  });
  return {
    threaded: true,
    normalize(nodes) {
      if (failure) return Promise.reject(failure);
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        try {
          worker.postMessage({ id, nodes } satisfies NormalizeRequest);
        } catch {
          // A node the structured clone cannot copy (nested too deep for its recursion): this batch is
          // normalized here, where such a run fails alone with its reason.
          pending.delete(id);
          resolve(nodes.map((node) => normalizeSafely(node, options)));
        }
      });
    },
    async close() {
      closing = true;
      await worker.terminate();
    },
  };
}

/** Faults a test can ask the worker for; only code that creates the normalizer can pass them. */
export interface WorkerTestHooks {
  /** The worker exits (without an error) when it receives this batch number (0-based). */
  exitOnBatch?: number;
}

export interface NormalizeWorkerData {
  options: NormalizeOptions;
  hooks: WorkerTestHooks;
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
