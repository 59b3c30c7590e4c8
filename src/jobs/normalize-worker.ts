import { parentPort, workerData } from 'node:worker_threads';
import {
  BatchPacker,
  normalizeSafely,
  type NormalizeReply,
  type NormalizeRequest,
  type NormalizeWorkerData,
} from './normalize-pool.js';

/** Runs the pure normalization off the main thread, which meanwhile writes the previous batch. */
const { options, hooks } = workerData as NormalizeWorkerData;

parentPort!.on('message', (request: NormalizeRequest) => {
  if (hooks.exitOnBatch === request.id) process.exit(7);
  const packer = new BatchPacker();
  for (const node of request.nodes) packer.add(normalizeSafely(node, options));
  const batch = packer.finish();
  // The key arrays' buffers are handed over, not copied.
  const transfer = batch.results.flatMap((r) => (r.ok ? [r.keys.buffer as ArrayBuffer] : []));
  parentPort!.postMessage({ id: request.id, batch } satisfies NormalizeReply, transfer);
});
