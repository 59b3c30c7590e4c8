import type { Database } from 'better-sqlite3';

/**
 * Secondary indexes set aside during a bulk load (see SqliteStore.beginBulkLoad), with the SQL
 * that recreates them and the process that did it (`host:pid`). A row whose process is gone means the
 * load died before rebuilding them: opening the database rebuilds them.
 */
export const version = 6;
export const name = 'deferred-indexes';

export function up(db: Database): void {
  db.exec(`
CREATE TABLE deferred_indexes (
  name TEXT PRIMARY KEY,
  sql TEXT NOT NULL,
  deferred_at TIMESTAMP NOT NULL,
  owner TEXT NOT NULL
);`);
}
