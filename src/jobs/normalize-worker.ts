import { parentPort, workerData } from 'node:worker_threads';
import type { NormalizeOptions } from '../core/normalize/run.js';
import { normalizeSafely, packResults, type NormalizeReply, type NormalizeRequest } from './normalize-pool.js';

/** Runs the pure normalization off the main thread, which meanwhile writes the previous batch. */
const options = workerData as NormalizeOptions;

parentPort!.on('message', (request: NormalizeRequest) => {
  const results = request.nodes.map((node) => normalizeSafely(node, options));
  const batch = packResults(results);
  // The key arrays' buffers are handed over, not copied.
  const transfer = batch.results.flatMap((r) => (r.ok ? [r.keys.buffer as ArrayBuffer] : []));
  parentPort!.postMessage({ id: request.id, batch } satisfies NormalizeReply, transfer);
});
