import { getOwn, isJsonObject, setOwn, type JsonObject, type JsonValue } from '../json.js';

/** Keys the W&B SDK adds to every config; kept apart so `config_json` holds only what the user logged. */
export const SDK_INTERNAL_KEYS: ReadonlySet<string> = new Set(['_wandb', 'wandb_version']);

export interface UnwrappedConfig {
  /** The user's config, nested, with W&B's value wrappers removed and dotted keys expanded. */
  config: JsonObject;
  /** SDK internals (`_wandb`, `wandb_version`), unwrapped. */
  internals: JsonObject;
}

/**
 * W&B stores each top-level config key as `{"value": v}`, or `{"desc": null, "value": v}` in runs
 * written by older SDKs. Only an object whose keys are exactly those is a wrapper: a user dict that
 * happens to contain `value` next to other keys is data.
 */
function isWrapper(value: JsonValue): value is { value: JsonValue; desc?: JsonValue } {
  if (!isJsonObject(value) || !Object.prototype.hasOwnProperty.call(value, 'value')) return false;
  return Object.keys(value).every((k) => k === 'value' || k === 'desc');
}

export function unwrapConfig(raw: JsonObject): UnwrappedConfig {
  const config: JsonObject = {};
  const internals: JsonObject = {};
  // Nested keys first, dotted keys after: a run that logs both forms gets the flattened value, the
  // more specific spelling, whatever the key order in the document.
  const keys = Object.keys(raw).sort((a, b) => Number(a.includes('.')) - Number(b.includes('.')));
  for (const key of keys) {
    const wrapped = raw[key] as JsonValue;
    const value = isWrapper(wrapped) ? wrapped.value : wrapped;
    if (SDK_INTERNAL_KEYS.has(key)) setOwn(internals, key, value);
    else setPath(config, key.split('.'), expandDottedKeys(value));
  }
  return { config, internals };
}

/**
 * `training.batch_size: 64` and `training: {batch_size: 64}` are the same config path: dotted keys
 * at any depth become nesting, so `config_json` is one canonical tree and `$.training.batch_size`
 * finds the value whichever way it was logged.
 */
export function expandDottedKeys(value: JsonValue): JsonValue {
  // Most configs have no dotted key below the top level: return them as they are, without copying.
  if (!hasDottedKey(value)) return value;
  if (Array.isArray(value)) return value.map(expandDottedKeys);
  if (!isJsonObject(value)) return value;
  const out: JsonObject = {};
  const keys = Object.keys(value).sort((a, b) => Number(a.includes('.')) - Number(b.includes('.')));
  for (const key of keys) setPath(out, key.split('.'), expandDottedKeys(value[key] as JsonValue));
  return out;
}

function hasDottedKey(value: JsonValue): boolean {
  if (Array.isArray(value)) return value.some(hasDottedKey);
  if (!isJsonObject(value)) return false;
  for (const key in value) if (key.includes('.') || hasDottedKey(value[key]!)) return true;
  return false;
}

/**
 * Every segment is data: `__proto__`, `constructor` and `prototype` are read and written as own
 * properties, never followed into a prototype (a key `x.__proto__.y` once wrote into Object.prototype).
 */
function setPath(target: JsonObject, path: string[], value: JsonValue): void {
  let node = target;
  for (const segment of path.slice(0, -1)) {
    const next = getOwn(node, segment);
    if (isJsonObject(next)) node = next;
    else {
      const created: JsonObject = {};
      setOwn(node, segment, created);
      node = created;
    }
  }
  const last = path[path.length - 1]!;
  const existing = getOwn(node, last);
  setOwn(node, last, isJsonObject(existing) && isJsonObject(value) ? mergeObjects(existing, value) : value);
}

function mergeObjects(a: JsonObject, b: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(a)) setOwn(out, key, value);
  for (const [key, value] of Object.entries(b)) {
    const existing = getOwn(out, key);
    setOwn(out, key, isJsonObject(existing) && isJsonObject(value) ? mergeObjects(existing, value) : value);
  }
  return out;
}

/** Reads a dotted path from a nested object (`training.batch_size`). */
export function getPath(root: JsonValue | undefined, path: string): JsonValue | undefined {
  let node: JsonValue | undefined = root;
  for (const segment of path.split('.')) {
    if (!isJsonObject(node)) return undefined;
    node = getOwn(node, segment);
  }
  return node;
}
