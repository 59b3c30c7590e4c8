import type { Database } from 'better-sqlite3';
import { TraindbError } from '../../core/errors.js';
import { SQLITE_MIGRATIONS } from './migrations/index.js';

export interface MigrationReport {
  from: number;
  to: number;
  applied: string[];
  /** True when the database was in the seed's v1 layout before this call. */
  upgradedFromV1: boolean;
}

/** Brings the database to the latest schema; each migration runs in its own IMMEDIATE transaction. */
export function migrateSqlite(db: Database): MigrationReport {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMP NOT NULL)`);
  const row = db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null };
  const from = row.v ?? 0;
  const latest = SQLITE_MIGRATIONS[SQLITE_MIGRATIONS.length - 1]?.version ?? 0;
  if (from > latest) {
    throw new TraindbError(
      'MIGRATION',
      `this database is at schema version ${from}, newer than this traindb knows (${latest}): upgrade traindb`,
    );
  }
  const upgradedFromV1 =
    from === 0 && !!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'training_runs'").get();
  const applied: string[] = [];
  // Foreign keys must be off while a table is rebuilt (SQLite's documented ALTER TABLE procedure).
  db.pragma('foreign_keys = OFF');
  try {
    for (const migration of SQLITE_MIGRATIONS) {
      if (migration.version <= from) continue;
      const run = db.transaction(() => {
        migration.up(db);
        db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
          migration.version,
          migration.name,
          new Date().toISOString(),
        );
      });
      try {
        run.immediate();
      } catch (error) {
        throw new TraindbError(
          'MIGRATION',
          `migration ${migration.version} (${migration.name}) failed and was rolled back: ${(error as Error).message}`,
          { cause: error },
        );
      }
      applied.push(`${migration.version}-${migration.name}`);
    }
  } finally {
    db.pragma('foreign_keys = ON');
  }
  return { from, to: Math.max(from, latest), applied, upgradedFromV1 };
}
