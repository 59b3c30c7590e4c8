import { isJsonObject, type JsonValue } from '../json.js';
import { indexableScalar } from './coerce.js';

/** Where an attribute comes from. `meta` holds W&B run fields such as tags. */
export type AttributeSource = 'config' | 'summary' | 'system' | 'meta';
export const ATTRIBUTE_SOURCES: readonly AttributeSource[] = ['config', 'summary', 'system', 'meta'];

/** One indexed (source, path, value) triple; an array of scalars yields one triple per element. */
export interface Attribute {
  source: AttributeSource;
  path: string;
  value: number | string;
}

/**
 * Flattens a document into indexable leaves, paths joined with `.`. Rich W&B values (objects tagged
 * `_type`: histograms, images, tables) are opaque: they stay in the JSON column and are not indexed.
 * Nulls and NaN are not indexed either, so `IS NULL` means "absent, null or NaN".
 */
export function flattenAttributes(source: AttributeSource, root: JsonValue, prefix = ''): Attribute[] {
  const out: Attribute[] = [];
  walk(root, prefix, (path, value) => out.push({ source, path, value }));
  return out;
}

/**
 * W&B names system metrics `system.cpu`, `system.gpu.0.temp`: under the `system` source the prefix would
 * be said twice (`system.system.cpu`), so the index drops it and the filter path is `system.cpu`.
 */
export function systemAttributes(system: JsonValue): Attribute[] {
  return flattenAttributes('system', system).map((a) =>
    a.path.startsWith(SYSTEM_PREFIX) && a.path.length > SYSTEM_PREFIX.length
      ? { ...a, path: a.path.slice(SYSTEM_PREFIX.length) }
      : a,
  );
}

const SYSTEM_PREFIX = 'system.';

function walk(node: JsonValue, path: string, emit: (path: string, value: number | string) => void): void {
  if (isJsonObject(node)) {
    if ('_type' in node) return;
    for (const [key, child] of Object.entries(node)) walk(child, path ? `${path}.${key}` : key, emit);
    return;
  }
  if (Array.isArray(node)) {
    // Lists of scalars are indexed as multi-valued attributes (`tags = 'x'` means "has tag x");
    // lists of objects (e.g. the objectives list) have their own tables.
    // A list may repeat a value (tags: ['a', 'a']); the index holds each (path, value) once.
    const seen = new Set<string>();
    for (const item of node) {
      if (isJsonObject(item) || Array.isArray(item)) continue;
      const key = `${typeof item}:${String(item)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      emitScalar(item, path, emit);
    }
    return;
  }
  emitScalar(node, path, emit);
}

function emitScalar(node: JsonValue, path: string, emit: (path: string, value: number | string) => void): void {
  if (path === '') return;
  const value = indexableScalar(node);
  if (value !== null) emit(path, value);
}
