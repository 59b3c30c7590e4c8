import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { TraindbError } from '../core/errors.js';
import type { RunStore } from '../db/store.js';
import { sqliteFileOf } from '../db/open-store.js';
import { answerRead, type CompareRequest, type ReadRequest, type RunsPageRequest } from './read-queries.js';
import { deserializeError, type ReadReply, type ReadWorkerData } from './read-protocol.js';

/** Read queries answered as JSON bytes, ready to send. */
export interface ReadQueries {
  /** `signal`: the caller is gone (e.g. the client disconnected); a request still waiting is dropped. */
  runsPage(request: RunsPageRequest, signal?: AbortSignal): Promise<Uint8Array>;
  compare(request: CompareRequest, signal?: AbortSignal): Promise<Uint8Array>;
}

export interface ReadPoolOptions {
  /** The SQLite file (path or `sqlite://`/`file:` location) the daemon has opened and migrated. */
  database: string;
  /** Query threads, each with its own connection. */
  threads: number;
  /** A request not answered this long after it arrived (waiting included) fails with QUERY_TIMEOUT. */
  queryTimeoutMs: number;
  /** Requests that may wait for a free thread; one more is refused with UNAVAILABLE. */
  maxQueued: number;
  /** Heap limit of each thread: a query that needs more fails alone instead of swelling the daemon. */
  memoryMb?: number;
  /** The compiled worker (tests running from sources pass dist's). */
  workerFile?: string;
  log?: { warn(obj: object, msg?: string): void };
}

export interface ReadPool extends ReadQueries {
  /** Threads (and how many have opened the database), threads still stopping after a time-out, requests waiting and running. */
  stats(): { threads: number; ready: number; stopping: number; queued: number; running: number };
  close(): Promise<void>;
}

interface Job {
  id: number;
  read: ReadRequest;
  resolve(bytes: Uint8Array): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
  startedAt: number;
  settled: boolean;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  job: Job | null;
  /** Terminated by the pool (time-out or close): its exit is expected. */
  retired: boolean;
  error: Error | null;
}

/**
 * Queries off the daemon's event loop: a few worker threads, each with its own read-only connection to
 * the database file, take requests from a bounded queue. A request that runs past the time limit is
 * answered QUERY_TIMEOUT at once and its thread is terminated and replaced.
 *
 * Termination reaches a thread only when it runs JavaScript again: a thread inside one native SQLite
 * step (better-sqlite3 has no sqlite3_interrupt) finishes that step first, then exits. So that such
 * threads cannot pile up, at most `threads` of them may still be stopping; past that, replacements wait
 * for one to exit.
 */
export async function startReadPool(options: ReadPoolOptions): Promise<ReadPool> {
  const path = sqlitePath(options.database);
  const workerFile = options.workerFile ?? fileURLToPath(new URL('./read-worker.js', import.meta.url));
  if (!existsSync(workerFile))
    throw new Error(`the query worker ${workerFile} is missing: build traindb first (npm run build)`);
  const memoryMb = options.memoryMb ?? 256;
  const slots: Slot[] = [];
  const queue: Job[] = [];
  let stopping = 0;
  let nextId = 0;
  let closed = false;
  let startFailures = 0;
  let lastStartError: Error | null = null;
  let respawnTimer: NodeJS.Timeout | undefined;

  const settle = (job: Job, outcome: { bytes: Uint8Array } | { error: Error }): void => {
    if (job.settled) return;
    job.settled = true;
    clearTimeout(job.timer);
    if ('bytes' in outcome) job.resolve(outcome.bytes);
    else job.reject(outcome.error);
  };

  const dispatch = (): void => {
    for (const slot of slots) {
      if (!slot.ready || slot.job) continue;
      let job: Job | undefined;
      while ((job = queue.shift()) && job.settled);
      if (!job) return;
      slot.job = job;
      job.startedAt = Date.now();
      slot.worker.postMessage({ id: job.id, read: job.read });
    }
  };

  const fill = (): void => {
    while (!closed && slots.length < options.threads && slots.length + stopping < 2 * options.threads) spawn();
  };

  const retire = (slot: Slot): void => {
    const i = slots.indexOf(slot);
    if (i >= 0) slots.splice(i, 1);
    slot.retired = true;
    stopping++;
    void slot.worker.terminate();
  };

  const spawn = (): Slot => {
    const worker = new Worker(workerFile, {
      workerData: { path } satisfies ReadWorkerData,
      resourceLimits: { maxOldGenerationSizeMb: memoryMb },
    });
    const slot: Slot = { worker, ready: false, job: null, retired: false, error: null };
    slots.push(slot);
    worker.on('message', (reply: ReadReply) => {
      if (reply.type === 'ready') {
        slot.ready = true;
        startFailures = 0;
        lastStartError = null;
        dispatch();
        return;
      }
      const job = slot.job;
      if (!job || job.id !== reply.id) return;
      slot.job = null;
      settle(job, reply.ok ? { bytes: reply.bytes } : { error: deserializeError(reply.error) });
      dispatch();
    });
    worker.on('error', (error) => (slot.error = error));
    worker.on('exit', (code) => {
      if (slot.retired) {
        if (closed) return;
        stopping--;
        fill();
        dispatch();
        return;
      }
      // An unexpected exit: out of memory, a crash, or a failure to open the database.
      const i = slots.indexOf(slot);
      if (i >= 0) slots.splice(i, 1);
      const reason = slot.error?.message ?? `exit code ${code}`;
      if (slot.job) settle(slot.job, { error: threadLost(slot.error, reason, memoryMb) });
      if (closed) return;
      options.log?.warn({ err: reason, ready: slot.ready }, 'query thread stopped; starting another');
      if (!slot.ready) {
        startFailures++;
        lastStartError = new TraindbError('UNAVAILABLE', `cannot open the database for queries: ${reason}`);
        // Nothing can answer the waiting requests until a thread starts: say why instead of timing out.
        if (!slots.some((s) => s.ready)) {
          for (const job of queue.splice(0)) settle(job, { error: lastStartError });
        }
        clearTimeout(respawnTimer);
        respawnTimer = setTimeout(fill, Math.min(30_000, 250 * 2 ** Math.min(startFailures, 7)));
        respawnTimer.unref();
        return;
      }
      fill();
    });
    return slot;
  };

  const submit = (read: ReadRequest, signal?: AbortSignal): Promise<Uint8Array> => {
    if (signal?.aborted) return Promise.reject(new TraindbError('UNAVAILABLE', 'the request was cancelled'));
    if (closed) return Promise.reject(new TraindbError('UNAVAILABLE', 'the daemon is shutting down'));
    if (lastStartError && !slots.some((s) => s.ready)) return Promise.reject(lastStartError);
    if (queue.length >= options.maxQueued) {
      return Promise.reject(
        new TraindbError(
          'UNAVAILABLE',
          `too many queries at once: ${options.threads} running and ${queue.length} waiting; try again shortly`,
          { details: { running: options.threads, queued: queue.length } },
        ),
      );
    }
    return new Promise<Uint8Array>((resolve, reject) => {
      const job: Job = {
        id: nextId++,
        read,
        resolve,
        reject,
        startedAt: 0,
        settled: false,
        timer: setTimeout(() => onTimeout(job), options.queryTimeoutMs),
      };
      queue.push(job);
      // A client that gave up must not hold a place in the queue (a retrying client would fill it).
      signal?.addEventListener(
        'abort',
        () => {
          const i = queue.indexOf(job);
          if (i < 0) return;
          queue.splice(i, 1);
          settle(job, { error: new TraindbError('UNAVAILABLE', 'the request was cancelled') });
        },
        { once: true },
      );
      dispatch();
    });
  };

  const onTimeout = (job: Job): void => {
    const limit = `${options.queryTimeoutMs / 1000} s`;
    const slot = slots.find((s) => s.job === job);
    if (!slot) {
      const i = queue.indexOf(job);
      if (i >= 0) queue.splice(i, 1);
      settle(job, {
        error: new TraindbError(
          'QUERY_TIMEOUT',
          `no query thread was free within the query time limit (${limit}): other queries are running; try again shortly`,
          { details: { timeoutMs: options.queryTimeoutMs, waited: true } },
        ),
      });
      return;
    }
    settle(job, {
      error: new TraindbError(
        'QUERY_TIMEOUT',
        `the query ran longer than the query time limit (${limit}) and was stopped; narrow the filter or ask for fewer rows or columns`,
        { details: { timeoutMs: options.queryTimeoutMs } },
      ),
    });
    retire(slot);
    fill();
  };

  // Start-up waits for the first thread, so a database the threads cannot open fails the daemon's start.
  fill();
  await new Promise<void>((resolve, reject) => {
    const first = slots[0]!;
    const onMessage = (reply: ReadReply): void => {
      if (reply.type !== 'ready') return;
      first.worker.off('exit', onExit);
      resolve();
    };
    const onExit = (): void => {
      first.worker.off('message', onMessage);
      closed = true;
      clearTimeout(respawnTimer);
      void Promise.all(slots.map((s) => s.worker.terminate()));
      reject(
        new TraindbError(
          'DATABASE',
          `cannot open ${path} for queries: ${first.error?.message ?? 'the query thread stopped at start'}`,
          { cause: first.error ?? undefined },
        ),
      );
    };
    first.worker.on('message', onMessage);
    first.worker.once('exit', onExit);
  });

  return {
    runsPage: (request, signal) => submit({ op: 'runsPage', request }, signal),
    compare: (request, signal) => submit({ op: 'compare', request }, signal),
    stats: () => ({
      threads: slots.length,
      ready: slots.filter((s) => s.ready).length,
      stopping,
      queued: queue.filter((j) => !j.settled).length,
      running: slots.filter((s) => s.job).length,
    }),
    async close() {
      closed = true;
      clearTimeout(respawnTimer);
      const shutdown = new TraindbError('UNAVAILABLE', 'the daemon is shutting down');
      for (const job of queue.splice(0)) settle(job, { error: shutdown });
      const all = slots.splice(0);
      for (const slot of all) {
        slot.retired = true;
        if (slot.job) settle(slot.job, { error: shutdown });
      }
      await Promise.all(all.map((s) => s.worker.terminate()));
    },
  };
}

/** The same reads on the calling thread: for tests and embedding, never for a server that must stay responsive. */
export function inlineReads(store: RunStore): ReadQueries {
  const run = async (read: ReadRequest): Promise<Uint8Array> => Buffer.from(await answerRead(store, read));
  return {
    runsPage: (request) => run({ op: 'runsPage', request }),
    compare: (request) => run({ op: 'compare', request }),
  };
}

function threadLost(error: Error | null, reason: string, memoryMb: number): Error {
  if ((error as NodeJS.ErrnoException | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return new TraindbError(
      'UNAVAILABLE',
      `the query needed more than the ${memoryMb} MB a query may use; ask for fewer rows or columns`,
      { details: { memoryMb } },
    );
  }
  return new Error(`the query thread stopped: ${reason}`);
}

/** The file behind a SQLite location, as openStore reads it. */
function sqlitePath(location: string): string {
  const path = sqliteFileOf(location);
  if (path === ':memory:' || path === '')
    throw new TraindbError('INVALID_CONFIG', 'query threads need a database file; an in-memory database has none');
  return path;
}
