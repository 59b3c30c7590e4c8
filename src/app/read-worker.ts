import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { openSqliteFile } from '../db/sqlite/open.js';
import { SqliteStore } from '../db/sqlite/sqlite-store.js';
import { answerRead, type ReadRequest } from './read-queries.js';
import { serializeError, type ReadReply, type ReadWorkerData } from './read-protocol.js';

/**
 * One query thread of the read pool: its own read-only connection to the daemon's SQLite file (WAL, so
 * it never blocks the writer), answering one request at a time as JSON bytes.
 */
const { path } = workerData as ReadWorkerData;
// Below the event loop's priority, so that on a busy machine health probes and sync writes get the CPU
// first. On Linux the nice value is per thread and this thread sets its own; elsewhere it may not apply.
try {
  setPriority(10);
} catch {
  // not permitted here: run at the normal priority
}
const port = parentPort!;
const db = openSqliteFile(path, { readonly: true });
// The writer's connection has 16 MB; a reader scanning attribute pages benefits the same way.
db.pragma('cache_size = -16384');
const store = new SqliteStore(db);
const encoder = new TextEncoder();

port.on('message', (message: { id: number; read: ReadRequest }) => {
  void (async () => {
    let reply: ReadReply;
    const transfer: ArrayBuffer[] = [];
    try {
      const bytes = encoder.encode(await answerRead(store, message.read));
      transfer.push(bytes.buffer as ArrayBuffer);
      reply = { type: 'answer', id: message.id, ok: true, bytes };
    } catch (error) {
      reply = { type: 'answer', id: message.id, ok: false, error: serializeError(error) };
    }
    // Transferred, not copied: a page of several MB costs the daemon's event loop nothing to receive.
    port.postMessage(reply, transfer);
  })();
});
port.postMessage({ type: 'ready' } satisfies ReadReply);
