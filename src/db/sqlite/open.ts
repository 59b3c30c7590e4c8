import Database from 'better-sqlite3';
import { RE2JS } from 're2js';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { TraindbError } from '../../core/errors.js';

/**
 * Opens (creating if needed) a traindb SQLite file with the settings every connection must share:
 * WAL so readers never block the writer, a busy timeout for the writer lock, foreign keys on.
 */
export function openSqliteFile(path: string, options: { readonly?: boolean } = {}): Database.Database {
  if (path !== ':memory:' && !options.readonly) mkdirSync(dirname(path), { recursive: true });
  let db: Database.Database;
  try {
    db = new Database(path, {
      readonly: options.readonly ?? false,
      fileMustExist: options.readonly ?? false,
      timeout: 5000,
    });
  } catch (error) {
    throw new TraindbError('DATABASE', `cannot open SQLite database ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (!options.readonly) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('journal_size_limit = 67108864');
    // 16 MB instead of SQLite's 2 MB: a batch of runs touches the newest pages of ~200 attribute keys
    // plus random pages of the run-id indexes, more than 2 MB holds once the database is large. Writing
    // 5,000 runs into a 100K-run database: 990-1,090 -> 915-978 µs/run; 64 MB gained nothing more.
    db.pragma('cache_size = -16384');
  }
  db.pragma('foreign_keys = ON');
  // REGEXP backs the filter language's `~` and W&B's `$regex`. RE2 matches in time linear in the
  // value, so no pattern can stall the process (a backtracking engine took forever on `(a+)+$`).
  db.function('regexp', { deterministic: true }, (pattern: unknown, value: unknown) => {
    if (typeof pattern !== 'string' || value === null || value === undefined) return 0;
    return cachedRegex(pattern).test(String(value)) ? 1 : 0;
  });
  return db;
}

const regexCache = new Map<string, RE2JS>();
const REGEX_CACHE_SIZE = 256;

/** Each pattern is compiled once and reused for every row (and later queries); least recently used go first. */
function cachedRegex(pattern: string): RE2JS {
  let re = regexCache.get(pattern);
  if (re) regexCache.delete(pattern);
  else {
    // The filter compiler has validated the pattern; one reaching SQL another way fails the statement.
    re = RE2JS.compile(pattern);
    if (regexCache.size >= REGEX_CACHE_SIZE) regexCache.delete(regexCache.keys().next().value as string);
  }
  regexCache.set(pattern, re);
  return re;
}
