import type { Database, Statement } from 'better-sqlite3';

/** Maps (source, path) to a small integer key id, allocating new ids on first sight. */
export class AttributeKeyCache {
  // source → path → id: nested maps avoid building a composite string key per lookup (a hot path).
  private readonly ids = new Map<string, Map<string, number>>();
  private readonly insert: Statement;
  private readonly select: Statement;

  constructor(db: Database) {
    this.insert = db.prepare('INSERT INTO attribute_keys (source, path) VALUES (?, ?) ON CONFLICT DO NOTHING');
    this.select = db.prepare('SELECT key_id FROM attribute_keys WHERE source = ? AND path = ?');
  }

  idFor(source: string, path: string): number {
    let bySource = this.ids.get(source);
    if (!bySource) {
      bySource = new Map();
      this.ids.set(source, bySource);
    }
    const cached = bySource.get(path);
    if (cached !== undefined) return cached;
    this.insert.run(source, path);
    const { key_id } = this.select.get(source, path) as { key_id: number };
    bySource.set(path, key_id);
    return key_id;
  }

  reset(): void {
    this.ids.clear();
  }
}
