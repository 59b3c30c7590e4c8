import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import type { SqliteStore } from '../../src/db/sqlite/sqlite-store.js';
import { openStore } from '../../src/db/open-store.js';
import { DEFERRABLE_INDEXES } from '../../src/db/sqlite/deferred-indexes.js';
import type { RunStore } from '../../src/db/store.js';
import { ingestNodes } from '../../src/jobs/ingest.js';
import { findRuns } from '../../src/query/find-runs.js';
import { corpus, expectedRunId, statusOf } from '../helpers/corpus.js';
import { tempStore } from '../helpers/db.js';
import { makeRun } from '../helpers/runs.js';

let store: RunStore;
let path: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ store, path, cleanup } = await tempStore()));
afterEach(async () => cleanup());

const indexes = async (s: RunStore) =>
  (await s.all("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")).map(
    (r) => `${String(r['name'])}: ${String(r['sql'])}`,
  );
const completedIds = async (s: RunStore) =>
  (await findRuns(s, { where: "status = 'completed'", columns: ['run_id'], limit: 1000 }))
    .map((r) => r['run_id'])
    .sort();
const specs = corpus();
const expectedCompleted = specs
  .filter((s) => statusOf(s) === 'completed')
  .map(expectedRunId)
  .sort();

describe('secondary indexes set aside during a bulk load', () => {
  it('are dropped, queries stay right without them, and they come back exactly as they were', async () => {
    const before = await indexes(store);
    expect(await store.beginBulkLoad()).toBe(true);
    const during = await indexes(store);
    for (const name of DEFERRABLE_INDEXES) expect(during.join('\n')).not.toContain(`${name}:`);
    await ingestNodes(
      store,
      specs.map((s) => makeRun(s)),
    );
    expect(await completedIds(store)).toEqual(expectedCompleted);
    expect((await store.endBulkLoad()).sort()).toEqual([...DEFERRABLE_INDEXES].sort());
    expect(await indexes(store)).toEqual(before);
    expect(await store.all('SELECT * FROM deferred_indexes')).toEqual([]);
    expect(await completedIds(store)).toEqual(expectedCompleted);
  });

  it('a bulk ingest leaves every index in place when it is done', async () => {
    const before = await indexes(store);
    const summary = await ingestNodes(
      store,
      specs.map((s) => makeRun(s)),
      { bulk: true },
    );
    expect(summary.inserted).toBe(specs.length);
    expect(await indexes(store)).toEqual(before);
    expect(await completedIds(store)).toEqual(expectedCompleted);
  });

  it('are left alone in a database that already holds many runs', async () => {
    await ingestNodes(
      store,
      specs.slice(0, 3).map((s) => makeRun(s)),
    );
    const before = await indexes(store);
    expect(await store.beginBulkLoad({ maxRuns: 3 })).toBe(false);
    expect(await indexes(store)).toEqual(before);
  });

  it('into an empty database, commits skip fsync until the load ends; into one with runs they do not', async () => {
    const synchronous = () => (store as SqliteStore).db.pragma('synchronous', { simple: true });
    expect(synchronous()).toBe(1); // NORMAL
    expect(await store.beginBulkLoad()).toBe(true);
    expect(synchronous()).toBe(0); // OFF
    await ingestNodes(
      store,
      specs.map((s) => makeRun(s)),
    );
    await store.endBulkLoad();
    expect(synchronous()).toBe(1);
    // The load's pages are in the database file itself, not left in the WAL.
    expect(statSync(`${path}-wal`).size).toBe(0);
    expect(await completedIds(store)).toEqual(expectedCompleted);

    // Fewer than 5,000 runs: its indexes are set aside again, but what it holds keeps its fsync.
    expect(await store.beginBulkLoad()).toBe(true);
    expect(synchronous()).toBe(1);
    await store.endBulkLoad();
  });

  it('are rebuilt on the next open when the loading process died, and not while it lives', async () => {
    const before = await indexes(store);
    await store.beginBulkLoad();
    await store.close();
    // The loading process (this one) is alive: opening again leaves its load alone.
    ({ store } = await openStore(path));
    expect((await indexes(store)).length).toBeLessThan(before.length);
    await store.close();
    // A process that has exited.
    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    const raw = new Database(path);
    raw.prepare('UPDATE deferred_indexes SET owner = ?').run(`${hostname()}:${dead.stdout.trim()}`);
    raw.close();
    ({ store } = await openStore(path));
    expect(await indexes(store)).toEqual(before);
    expect(await store.all('SELECT * FROM deferred_indexes')).toEqual([]);
    await store.close();
  });
});
