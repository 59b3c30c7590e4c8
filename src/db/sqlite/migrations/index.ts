import type { Database } from 'better-sqlite3';
import * as m001 from './001-v2-schema.js';
import * as m002 from './002-sync-state.js';
import * as m003 from './003-active-runs-index.js';
import * as m004 from './004-bucketed-attributes.js';
import * as m005 from './005-objective-run-order-index.js';
import * as m006 from './006-deferred-indexes.js';
import * as m007 from './007-smaller-run-buckets.js';
import * as m008 from './008-run-order-index.js';
import * as m009 from './009-plain-sql-writes.js';
import * as m010 from './010-system-metric-paths.js';
import * as m011 from './011-sync-failures.js';

export interface SqliteMigration {
  version: number;
  name: string;
  up(db: Database): void;
}

/** Forward-only, in order. Never edit a shipped migration: add the next one. */
export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = [
  m001,
  m002,
  m003,
  m004,
  m005,
  m006,
  m007,
  m008,
  m009,
  m010,
  m011,
];
