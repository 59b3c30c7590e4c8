import { afterAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { RowReader } from '../../src/db/sqlite/read-rows.js';

const db = new Database(':memory:');
db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, x REAL, b BLOB)');
const insert = db.prepare('INSERT INTO t (id, name, x) VALUES (?, ?, ?)');
for (let i = 1; i <= 3000; i++)
  insert.run(i, i % 7 === 0 ? null : `run-${(i * 7919) % 3001}`, i % 5 === 0 ? null : Math.sin(i) * 1e-3);
afterAll(() => db.close());
const reader = new RowReader(db);
const plain = (sql: string, ...params: unknown[]) => db.prepare(sql).all(...params);

describe('RowReader returns exactly what better-sqlite3 returns', () => {
  it.each([
    ['SELECT id, name, x FROM t ORDER BY name DESC, id'],
    ['SELECT id, name, x FROM t WHERE x > ? ORDER BY x', 0.0001],
    ['SELECT name AS "a ""quoted"" name", count(*) AS n FROM t GROUP BY name ORDER BY n DESC, name LIMIT 20'],
    ['WITH s AS (SELECT id FROM t WHERE id % 3 = 0) SELECT id FROM s ORDER BY id DESC'],
    ['SELECT id FROM t WHERE id < 0'],
  ])('%s', (sql, ...params) => {
    expect(reader.all(sql, params as never)).toEqual(plain(sql, ...params));
  });

  it('keeps full double precision', () => {
    const sql = 'SELECT 0.1 + 0.2 AS a, 1.0 / 3 AS b, 5e-324 AS c, 123456789.12345679 AS d, 9007199254740991 AS e';
    expect(reader.all(sql)).toEqual(plain(sql));
  });

  it('falls back to the plain path for BLOBs and duplicate column names', () => {
    db.prepare('UPDATE t SET b = ? WHERE id = 1').run(Buffer.from([1, 2, 3]));
    const blob = 'SELECT id, b FROM t WHERE id <= 2 ORDER BY id';
    expect(reader.all(blob)).toEqual(plain(blob));
    const dup = 'SELECT id, id FROM t WHERE id <= 2';
    expect(reader.all(dup)).toEqual(plain(dup));
  });

  it('reports a bad statement as SQLite does', () => {
    expect(() => reader.all('SELECT nope FROM t')).toThrow(/no such column: nope/);
  });
});
