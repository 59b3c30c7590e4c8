import { parentPort, workerData } from 'node:worker_threads';
import type { NormalizeOptions } from '../core/normalize/run.js';
import { normalizeSafely, type NormalizeReply, type NormalizeRequest } from './normalize-pool.js';

/** Runs the pure normalization off the main thread, which meanwhile writes the previous batch. */
const options = workerData as NormalizeOptions;

parentPort!.on('message', (request: NormalizeRequest) => {
  const results = request.nodes.map((node) => normalizeSafely(node, options));
  parentPort!.postMessage({ id: request.id, results } satisfies NormalizeReply);
});
