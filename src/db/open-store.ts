import Database from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';
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

export interface OpenStoreOptions {
  extraction?: ExtractionMap;
  /**
   * Create the database when the path does not exist. Off by default: a mistyped path must be an error
   * (NOT_FOUND), not a new empty database that answers "no runs". Writers (ingest, backfill, migrate,
   * the daemon, launch) pass true.
   */
  create?: boolean;
}

/**
 * Opens the database named by a path or URL and brings its schema up to date.
 * `traindb.sqlite`, `./data/x.db`, `sqlite:///abs/path.db`, `file:x.db` → SQLite; `postgres://…` → PostgreSQL.
 * Without `create`, a missing file or one without traindb's tables is NOT_FOUND with
 * `details: { path, what: 'database', reason: 'missing' | 'not-traindb' }`.
 */
export async function openStore(location: string, options: OpenStoreOptions = {}): Promise<OpenedStore> {
  if (/^postgres(ql)?:\/\//i.test(location)) {
    // The caller named a database this version cannot open: their input to change, not a failure.
    throw new TraindbError(
      'INVALID_INPUT',
      `PostgreSQL (${redactUrl(location)}) is not supported by this version yet; use a SQLite path such as traindb.sqlite`,
    );
  }
  const path = sqliteFileOf(location);
  if (path === '') throw new TraindbError('INVALID_INPUT', 'the database path is empty', { details: { path } });
  if (!options.create && path !== ':memory:' && !existsSync(path)) {
    throw new TraindbError('NOT_FOUND', `no database at ${path} (openStore creates one only with { create: true })`, {
      details: { path, what: 'database', reason: 'missing' },
    });
  }
  if (path !== ':memory:' && existsSync(path) && statSync(path).isDirectory()) {
    throw new TraindbError('INVALID_INPUT', `${path} is a directory, not a database file`, { details: { path } });
  }
  let db: ReturnType<typeof openSqliteFile>;
  try {
    // Without `create`, a SQLite file that holds no traindb tables (empty, or another program's) is not
    // turned into one: looked at read-only first, so nothing in it changes, not even its journal mode.
    if (!options.create && path !== ':memory:' && !holdsTraindb(path)) {
      throw new TraindbError(
        'NOT_FOUND',
        `${path} holds no traindb database (openStore creates one only with { create: true })`,
        {
          details: { path, what: 'database', reason: 'not-traindb' },
        },
      );
    }
    db = openSqliteFile(path);
  } catch (error) {
    throw notADatabase(error) ? notADatabaseError(path, error) : error;
  }
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
    throw notADatabase(error) ? notADatabaseError(path, error) : error;
  }
}

/** Whether the file has traindb's tables (or the seed v1 layout, which opening upgrades). */
function holdsTraindb(path: string): boolean {
  const peek = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return !!peek
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name IN ('schema_migrations', 'training_runs')")
      .get();
  } finally {
    peek.close();
  }
}

function notADatabaseError(path: string, cause: unknown): TraindbError {
  return new TraindbError('INVALID_INPUT', `${path} is not a SQLite database`, { cause, details: { path } });
}

/** SQLite's answer to a file that is not a database, possibly wrapped by the migration runner. */
function notADatabase(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if ((e as { code?: unknown }).code === 'SQLITE_NOTADB') return true;
  }
  return false;
}

/** Database URLs may carry a password; never print it. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):([^@/]+)@/, '//$1:***@');
}

/** The file behind a SQLite location: `sqlite://path`, `file:path` or a plain path. */
export function sqliteFileOf(location: string): string {
  return location.replace(/^sqlite:\/\//i, '').replace(/^file:/i, '');
}
