import type { Database } from 'better-sqlite3';

/**
 * The daemon re-fetches every run the database still holds as alive, on every poll. A partial index
 * over exactly those rows keeps that lookup proportional to the live runs, not to the project.
 * Frozen in time: the status list is spelled out here, not imported. Queries must repeat this WHERE
 * clause verbatim for SQLite to use the index.
 */
export const version = 3;
export const name = 'active-runs-index';

export function up(db: Database): void {
  db.exec(`
CREATE INDEX idx_active_runs ON training_runs(wandb_entity, wandb_project, wandb_run_id)
  WHERE status NOT IN ('completed', 'failed', 'crashed', 'killed', 'preempted') AND deleted_at IS NULL;`);
}
