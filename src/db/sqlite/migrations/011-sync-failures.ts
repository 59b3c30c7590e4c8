import type { Database } from 'better-sqlite3';

/**
 * Runs a sync (a backfill page) gave up on for good: data W&B sent that cannot be normalized or stored.
 * A cursor moves past a run only when the run is written or recorded here, in the same transaction, so
 * nothing is skipped without a trace. A later successful write of the run deletes its row.
 */
export const version = 11;
export const name = 'sync-failures';

export function up(db: Database): void {
  db.exec(`
CREATE TABLE sync_failures (
  wandb_entity TEXT NOT NULL,
  wandb_project TEXT NOT NULL,
  wandb_run_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  reason TEXT NOT NULL,
  failed_at TIMESTAMP NOT NULL,
  PRIMARY KEY (wandb_entity, wandb_project, wandb_run_id)
);`);
}
