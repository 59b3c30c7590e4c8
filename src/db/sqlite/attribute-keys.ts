import type { Database, Statement } from 'better-sqlite3';

/** Maps (source, path) to a small integer key id, allocating new ids on first sight. */
export class AttributeKeyCache {
  private readonly ids = new Map<string, number>();
  private readonly insert: Statement;
  private readonly select: Statement;

  constructor(db: Database) {
    this.insert = db.prepare('INSERT INTO attribute_keys (source, path) VALUES (?, ?) ON CONFLICT DO NOTHING');
    this.select = db.prepare('SELECT key_id FROM attribute_keys WHERE source = ? AND path = ?');
  }

  idFor(source: string, path: string): number {
    const cacheKey = `${source}\u0000${path}`;
    const cached = this.ids.get(cacheKey);
    if (cached !== undefined) return cached;
    this.insert.run(source, path);
    const { key_id } = this.select.get(source, path) as { key_id: number };
    this.ids.set(cacheKey, key_id);
    return key_id;
  }

  reset(): void {
    this.ids.clear();
  }
}
