import type { Database } from 'better-sqlite3';

/**
 * Clusters the attribute index by (key_id, run_bucket, value, run_key), run_bucket = run_key >> 12
 * (blocks of 4,096 runs), instead of (key_id, value, run_key).
 *
 * Why: run keys only grow, so a batch of new runs now lands in the newest bucket of each key, a few
 * pages per key. Clustered on value alone, a batch touched leaf pages all over the index: at 100K runs
 * every batch rewrote most of its 124,000 pages (about 440 KB of WAL per run) and ingest slowed from
 * 1,100 to 390 runs/s as the database grew. With buckets it stays flat (measured on 60K synthetic runs:
 * 2.6 µs/row throughout, against 2.5 → 8.8 µs/row). A range on one key becomes one seek per bucket:
 * 0.10 ms instead of 0.08 ms for 2,000 matches at 60K runs.
 *
 * `run_buckets` lists the buckets in use, so `key_id = ? AND run_bucket IN run_buckets AND value > ?`
 * is a seek per bucket. Frozen in time: the shift (12) is spelled out, here and in the writer.
 */
export const version = 4;
export const name = 'bucketed-attributes';

export function up(db: Database): void {
  db.exec(`
CREATE TABLE run_attributes_bucketed (
  key_id INTEGER NOT NULL,
  value NUMERIC NOT NULL,
  run_key INTEGER NOT NULL,
  run_bucket INTEGER NOT NULL,
  PRIMARY KEY (key_id, run_bucket, value, run_key)
) WITHOUT ROWID;
INSERT INTO run_attributes_bucketed (key_id, value, run_key, run_bucket)
  SELECT key_id, value, run_key, run_key >> 12 FROM run_attributes ORDER BY key_id, run_key >> 12, value, run_key;
DROP TABLE run_attributes;
ALTER TABLE run_attributes_bucketed RENAME TO run_attributes;
CREATE VIEW run_buckets (run_bucket) AS
  WITH RECURSIVE b(n) AS (
    SELECT 0 UNION ALL SELECT n + 1 FROM b WHERE n < (SELECT coalesce(max(run_key), 0) >> 12 FROM training_runs)
  )
  SELECT n FROM b;`);
}
