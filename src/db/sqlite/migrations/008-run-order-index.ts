import type { Database } from 'better-sqlite3';

/**
 * The few columns most run queries need, keyed by run_key: the default answer (run ids, newest first) and
 * the seed's own group compare (status, gradient_method). A filter answered from the objective or attribute
 * indexes probes one run per match, and in idx_runs_narrow (~220 bytes an entry, 22 MB at 100K runs) those
 * probes are bound by memory latency, about 1 µs each. This index is 8 MB, and the same probes take about
 * half as long: counting "COMT_activity > 0.8" (4,302 runs) with its run ids went from 4.4 to 2.4 ms, a
 * 40,000-run attribute range from 35 to 23 ms, and "MGDA vs PCGrad on DRD5" from 31 to 19 ms.
 * New runs get the highest run keys, so ingest appends to it.
 */
export const version = 8;
export const name = 'run-order-index';

// status third, as in idx_runs_narrow: a compare's `status = ?` is then a third equality column in both, and
// SQLite picks the smaller index; after created_at it lost to idx_runs_narrow.
export function up(db: Database): void {
  db.exec(
    'CREATE INDEX idx_runs_order ON training_runs(run_key, deleted_at, status, created_at, run_id, gradient_method);',
  );
}
