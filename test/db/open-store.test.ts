import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/db/open-store.js';
import { TraindbError } from '../../src/core/errors.js';
import { tempDir } from '../helpers/db.js';

let dir: string;
let cleanup: () => void;
beforeAll(() => ({ dir, cleanup } = tempDir()));
afterAll(() => cleanup());

describe('openStore (the library entry point)', () => {
  it('refuses a missing path by default: NOT_FOUND naming it, and creates nothing', async () => {
    const missing = join(dir, 'sub', 'typo.sqlite');
    const error = await openStore(missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TraindbError);
    expect(error).toMatchObject({ code: 'NOT_FOUND', details: { path: missing, what: 'database' } });
    expect((error as Error).message).toContain(missing);
    expect((error as Error).message).toContain('create: true');
    expect(existsSync(join(dir, 'sub'))).toBe(false);
    // The same through a URL form.
    await expect(openStore(`sqlite://${missing}`)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('creates the database when asked, and then opens it without being asked', async () => {
    const path = join(dir, 'new', 'runs.sqlite');
    const created = await openStore(path, { create: true });
    expect(created.migration.from).toBe(0);
    await created.store.close();
    expect(existsSync(path)).toBe(true);
    const again = await openStore(path);
    expect(again.migration.applied).toEqual([]);
    await again.store.close();
  });

  it("leaves another program's SQLite file, or an empty file, as it was unless asked to create", async () => {
    const other = join(dir, 'other.db');
    const raw = new Database(other);
    raw.exec('CREATE TABLE notes (x TEXT)');
    raw.close();
    await expect(openStore(other)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      details: { path: other, what: 'database', reason: 'not-traindb' },
    });
    const check = new Database(other, { readonly: true });
    expect(check.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all()).toEqual([{ name: 'notes' }]);
    expect(check.pragma('journal_mode', { simple: true })).toBe('delete');
    check.close();

    const empty = join(dir, 'empty.sqlite');
    writeFileSync(empty, '');
    await expect(openStore(empty)).rejects.toMatchObject({ code: 'NOT_FOUND', details: { reason: 'not-traindb' } });
    const created = await openStore(empty, { create: true });
    await created.store.close();
  });

  it('names a file that is not a database (bad input) and leaves it as it was', async () => {
    const path = join(dir, 'notes.sqlite');
    writeFileSync(path, 'not a database, just text that is long enough to fill a header page'.repeat(10));
    await expect(openStore(path)).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: `${path} is not a SQLite database`,
    });
    await expect(openStore(dir)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });
});
