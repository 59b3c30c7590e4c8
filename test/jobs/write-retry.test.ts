import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { TraindbError } from '../../src/core/errors.js';
import { classifyWriteError, withWriteRetries, type WriteRetryInfo } from '../../src/jobs/write-retry.js';
import { tempDir } from '../helpers/db.js';

/** A real SqliteError from a real database. */
function sqliteError(run: (db: Database.Database) => void): unknown {
  const db = new Database(':memory:');
  try {
    run(db);
  } catch (error) {
    return error;
  } finally {
    db.close();
  }
  throw new Error('expected the statement to fail');
}

describe('write failures: transient, the database, or the run', () => {
  it('classifies SQLite errors by code', () => {
    expect(classifyWriteError(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }))).toBe(
      'transient',
    );
    expect(classifyWriteError(Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' }))).toBe(
      'transient',
    );
    expect(classifyWriteError(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }))).toBe(
      'database',
    );
    const constraint = sqliteError((db) => {
      db.exec('CREATE TABLE t (x INTEGER NOT NULL)');
      db.exec('INSERT INTO t VALUES (NULL)');
    });
    expect(classifyWriteError(constraint)).toBe('run');
    expect(classifyWriteError(new TraindbError('INVALID_RUN', 'run x: bad config'))).toBe('run');
    expect(classifyWriteError(new TraindbError('UNAVAILABLE', 'busy'))).toBe('transient');
    expect(classifyWriteError(new TraindbError('DATABASE', 'cannot open'))).toBe('database');
  });

  it('a real lock from another connection is transient', () => {
    const { dir, cleanup } = tempDir();
    const a = new Database(`${dir}/x.sqlite`, { timeout: 0 });
    const b = new Database(`${dir}/x.sqlite`, { timeout: 0 });
    try {
      a.exec('CREATE TABLE t (x)');
      a.exec('BEGIN IMMEDIATE');
      let error: unknown;
      try {
        b.exec('BEGIN IMMEDIATE');
      } catch (e) {
        error = e;
      }
      expect(classifyWriteError(error)).toBe('transient');
      a.exec('COMMIT');
    } finally {
      a.close();
      b.close();
      cleanup();
    }
  });

  it('retries transient failures, announcing each, then gives up with UNAVAILABLE naming what and how often', async () => {
    const retries: WriteRetryInfo[] = [];
    let calls = 0;
    const error = await withWriteRetries(
      'run r1 of lab/rl',
      async () => {
        calls++;
        throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
      },
      { policy: { retries: 2, minDelayMs: 1, maxDelayMs: 2 }, onRetry: (i) => retries.push(i) },
    ).catch((e: unknown) => e);
    expect(calls).toBe(3);
    expect(retries.map((r) => [r.attempt, r.attempts, r.what])).toEqual([
      [1, 3, 'run r1 of lab/rl'],
      [2, 3, 'run r1 of lab/rl'],
    ]);
    expect(error).toMatchObject({ code: 'UNAVAILABLE', transient: true, details: { attempts: 3 } });
    expect((error as Error).message).toMatch(
      /^could not write run r1 of lab\/rl: "database is locked" on each of 3 attempts over \d+ s \(another process holds the database write lock, or the storage is failing\)$/,
    );
  });

  it('throws anything else at once, unchanged, and returns what succeeds after a retry', async () => {
    const bad = new TraindbError('INVALID_RUN', 'run x: config is not valid JSON');
    let calls = 0;
    await expect(
      withWriteRetries('x', async () => {
        calls++;
        throw bad;
      }),
    ).rejects.toBe(bad);
    expect(calls).toBe(1);
    let n = 0;
    const value = await withWriteRetries(
      'y',
      async () => {
        if (++n < 2) throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
        return 'ok';
      },
      { policy: { minDelayMs: 1, maxDelayMs: 1 } },
    );
    expect([value, n]).toEqual(['ok', 2]);
  });
});
