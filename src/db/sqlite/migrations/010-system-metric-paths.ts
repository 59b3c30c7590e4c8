import type { Database } from 'better-sqlite3';

/**
 * System metric paths without W&B's `system.` prefix: W&B names them `system.cpu`, `system.gpu.0.temp`,
 * and under the `system` source they were indexed as `system.system.cpu`. Normalization now drops the
 * prefix (`core/normalize/attributes.ts`, `systemAttributes`); this renames the keys already stored. Where
 * a run logged both spellings the rows join the existing key. system_metrics_json is unchanged: it keeps
 * what W&B sent, and a select of `system.cpu` reads `$."system.cpu"` there.
 */
export const version = 10;
export const name = 'system-metric-paths';

export function up(db: Database): void {
  db.exec(`
CREATE TEMP TABLE prefixed_system_keys AS
  SELECT old.key_id AS old_id, substr(old.path, 8) AS path, new.key_id AS new_id
  FROM attribute_keys old
  LEFT JOIN attribute_keys new ON new.source = 'system' AND new.path = substr(old.path, 8)
  WHERE old.source = 'system' AND substr(old.path, 1, 7) = 'system.' AND length(old.path) > 7;

INSERT OR IGNORE INTO run_attributes (key_id, value, run_key, run_bucket)
  SELECT p.new_id, a.value, a.run_key, a.run_bucket
  FROM prefixed_system_keys p JOIN run_attributes a ON a.key_id = p.old_id
  WHERE p.new_id IS NOT NULL;
DELETE FROM run_attributes WHERE key_id IN (SELECT old_id FROM prefixed_system_keys WHERE new_id IS NOT NULL);
DELETE FROM attribute_keys WHERE key_id IN (SELECT old_id FROM prefixed_system_keys WHERE new_id IS NOT NULL);

UPDATE attribute_keys SET path = (SELECT path FROM prefixed_system_keys WHERE old_id = key_id)
  WHERE key_id IN (SELECT old_id FROM prefixed_system_keys WHERE new_id IS NULL);

DROP TABLE prefixed_system_keys;`);
}
