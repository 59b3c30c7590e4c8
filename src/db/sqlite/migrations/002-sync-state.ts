import type { Database } from 'better-sqlite3';

/**
 * Cursors and watermarks of backfills and pollers, per entity/project and job kind. They are written
 * in the same transaction as the runs they cover, so a crash can never leave a cursor ahead of its data.
 */
export const version = 2;
export const name = 'sync-state';

export function up(db: Database): void {
  db.exec(`
CREATE TABLE sync_state (
  wandb_entity TEXT NOT NULL,
  wandb_project TEXT NOT NULL,
  kind TEXT NOT NULL,
  cursor TEXT,
  watermark TEXT,
  detail TEXT,
  updated_at TIMESTAMP NOT NULL,
  PRIMARY KEY (wandb_entity, wandb_project, kind)
);`);
}
