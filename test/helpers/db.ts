import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/db/open-store.js';
import type { RunStore } from '../../src/db/store.js';

/** A fresh SQLite file in its own temp directory; `cleanup` closes and removes it. */
export async function tempStore(): Promise<{
  store: RunStore;
  path: string;
  dir: string;
  cleanup: () => Promise<void>;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'traindb-test-'));
  const path = join(dir, 'traindb.sqlite');
  const { store } = await openStore(path, { create: true });
  return {
    store,
    path,
    dir,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'traindb-test-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
