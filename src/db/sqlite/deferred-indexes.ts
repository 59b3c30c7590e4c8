import type { Database } from 'better-sqlite3';
import { hostname } from 'node:os';

/**
 * Non-unique secondary indexes whose entries arrive in random order (by value, by W&B id). During a bulk
 * load into a small database they are dropped and built once at the end, from sorted data: at 100K runs,
 * writing without them took 869 instead of 1,116 µs/run. Unique indexes stay (they are constraints and the
 * writer's lookups), and so do the indexes that grow by appending (led by run_key).
 */
export const DEFERRABLE_INDEXES: readonly string[] = [
  'idx_wandb_run_id',
  'idx_gradient_method',
  'idx_status',
  'idx_host',
  'idx_created_at',
  'idx_batch_size',
  'idx_learning_rate',
  'idx_obj_name',
  'idx_obj_normalized_mean',
  'idx_status_events_run',
];

/** Drops the deferrable indexes that exist, recording how to rebuild them. Call inside a transaction. */
export function deferIndexes(db: Database, now: string): string[] {
  const existing = db
    .prepare(
      `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN (${DEFERRABLE_INDEXES.map(() => '?').join(', ')})`,
    )
    .all(...DEFERRABLE_INDEXES) as Array<{ name: string; sql: string }>;
  const record = db.prepare(
    'INSERT OR REPLACE INTO deferred_indexes (name, sql, deferred_at, owner) VALUES (?, ?, ?, ?)',
  );
  for (const { name, sql } of existing) {
    record.run(name, sql, now, OWNER);
    db.exec(`DROP INDEX "${name}"`);
  }
  return existing.map((e) => e.name);
}

/** Recreates every recorded index (a no-op for one that exists). Call inside a transaction. */
export function restoreIndexes(db: Database): string[] {
  const rows = db.prepare('SELECT name, sql FROM deferred_indexes ORDER BY name').all() as Array<{
    name: string;
    sql: string;
  }>;
  for (const { name, sql } of rows) {
    db.exec(sql.replace(/^\s*CREATE\s+INDEX\s+(IF\s+NOT\s+EXISTS\s+)?/i, 'CREATE INDEX IF NOT EXISTS '));
    db.prepare('DELETE FROM deferred_indexes WHERE name = ?').run(name);
  }
  return rows.map((r) => r.name);
}

const OWNER = `${hostname()}:${process.pid}`;

/**
 * True when indexes were set aside by a process that no longer runs (a load that died), so they should
 * be rebuilt now; false while the loading process is alive (it rebuilds them itself) or none are aside.
 */
export function abandonedIndexes(db: Database): boolean {
  const owners = db.prepare('SELECT DISTINCT owner FROM deferred_indexes').all() as Array<{ owner: string }>;
  return owners.some(({ owner }) => !isAlive(owner));
}

function isAlive(owner: string): boolean {
  if (owner === OWNER) return true;
  const colon = owner.lastIndexOf(':');
  const host = owner.slice(0, colon);
  const pid = Number(owner.slice(colon + 1));
  // Another machine's process cannot be checked; a SQLite file is not shared across machines anyway.
  if (host !== hostname() || !Number.isInteger(pid)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
