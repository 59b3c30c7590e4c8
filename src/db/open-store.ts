import { existsSync } from 'node:fs';
import { TraindbError } from '../core/errors.js';
import { migrateSqlite, type MigrationReport } from './sqlite/migrate.js';
import { openSqliteFile } from './sqlite/open.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { RunStore } from './store.js';
import type { ExtractionMap } from '../core/normalize/extraction.js';

export interface OpenedStore {
  store: RunStore;
  migration: MigrationReport;
}

/**
 * Opens the database named by a path or URL and brings its schema up to date.
 * `traindb.sqlite`, `./data/x.db`, `sqlite:///abs/path.db`, `file:x.db` → SQLite; `postgres://…` → PostgreSQL.
 */
export async function openStore(
  location: string,
  options: {
    extraction?: ExtractionMap;
    /** Refuse to create a missing file (read commands: a typo must not answer "no runs"). */ mustExist?: boolean;
  } = {},
): Promise<OpenedStore> {
  if (/^postgres(ql)?:\/\//i.test(location)) {
    throw new TraindbError(
      'DATABASE',
      `PostgreSQL (${redactUrl(location)}) is not supported by this version yet; use a SQLite path such as traindb.sqlite`,
    );
  }
  const path = location.replace(/^sqlite:\/\//i, '').replace(/^file:/i, '');
  if (options.mustExist && path !== ':memory:' && !existsSync(path)) {
    throw new TraindbError(
      'INVALID_INPUT',
      `no database at ${path}: check --db / DATABASE_URL, or create one with traindb ingest, traindb backfill or traindb migrate`,
    );
  }
  const db = openSqliteFile(path);
  try {
    const migration = migrateSqlite(db);
    const store = new SqliteStore(db, { extraction: options.extraction });
    // Rows of a seed-v1 database get their objectives and attribute index now, once.
    if (migration.upgradedFromV1) await store.indexStoredRuns(options.extraction);
    // A bulk load that died before rebuilding the indexes it set aside: rebuild them now.
    await store.healDeferredIndexes();
    return { store, migration };
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Database URLs may carry a password; never print it. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):([^@/]+)@/, '//$1:***@');
}
