/**
 * W&B's `filters` argument: a JSON string holding a MongoDB-style query. Compiled once per request into
 * a predicate. Semantics follow MongoDB where W&B is silent: values compare only within one type
 * (a number never matches a string such as "1e-4" or "NaN"), timestamps compare as W&B's strings, and
 * an operator on an array field (tags) matches when any element matches.
 */
import { badArgument } from './errors.js';
import type { Lookup, RunDoc } from './fields.js';
import { lookup, MISSING, parseFieldKey } from './fields.js';

export type Predicate<D = RunDoc> = (doc: D) => boolean;

/** Turns a filter key into a getter (throwing badArgument for a key the document kind does not have). */
export type KeyResolver<D> = (key: string) => (doc: D) => Lookup;

const runKey: KeyResolver<RunDoc> = (key) => {
  const field = parseFieldKey(key);
  return (doc) => lookup(doc, field);
};

/** Parses the JSON string (null / "" / "{}" mean no filter) and compiles it; run keys by default. */
export function compileFilters(filters: unknown): Predicate;
export function compileFilters<D>(filters: unknown, resolve: KeyResolver<D>): Predicate<D>;
export function compileFilters(filters: unknown, resolve: KeyResolver<unknown> = runKey as KeyResolver<unknown>) {
  if (filters === null || filters === undefined || filters === '') return () => true;
  // JSONString: real W&B wants a string here; an inlined object is a client bug worth catching.
  if (typeof filters !== 'string') throw badArgument('filters must be a JSON string (JSONString), not an object');
  let parsed: unknown;
  try {
    parsed = JSON.parse(filters);
  } catch (error) {
    throw badArgument(`filters is not valid JSON: ${(error as Error).message}`);
  }
  if (!isPlainObject(parsed)) throw badArgument('filters must be a JSON object');
  return compileQuery(parsed, resolve);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function compileQuery<D>(query: Record<string, unknown>, resolve: KeyResolver<D>): Predicate<D> {
  const parts: Predicate<D>[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (key === '$and' || key === '$or' || key === '$nor') {
      if (!Array.isArray(value)) throw badArgument(`${key} takes an array`);
      const subs = value.map((q) => {
        if (!isPlainObject(q)) throw badArgument(`${key} items must be objects`);
        return compileQuery(q, resolve);
      });
      if (key === '$and') parts.push((d) => subs.every((p) => p(d)));
      else if (key === '$or') parts.push((d) => subs.some((p) => p(d)));
      else parts.push((d) => !subs.some((p) => p(d)));
    } else if (key.startsWith('$')) {
      throw badArgument(`unsupported operator ${key} at query level`);
    } else {
      parts.push(compileField(resolve(key), value));
    }
  }
  if (parts.length === 1) return parts[0] as Predicate<D>;
  return (d) => parts.every((p) => p(d));
}

function isOperatorObject(value: unknown): value is Record<string, unknown> {
  if (!isPlainObject(value)) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((k) => k.startsWith('$'));
}

type ValueTest = (value: unknown) => boolean;

function compileField<D>(get: (doc: D) => Lookup, condition: unknown): Predicate<D> {
  const test = isOperatorObject(condition) ? compileOperators(condition) : compileOperators({ $eq: condition });
  return (doc) => test(get(doc));
}

function compileOperators(ops: Record<string, unknown>): ValueTest {
  const tests: ValueTest[] = [];
  for (const [op, arg] of Object.entries(ops)) {
    switch (op) {
      case '$eq':
        tests.push((v) => matchesEq(v, arg));
        break;
      case '$ne':
        tests.push((v) => !matchesEq(v, arg));
        break;
      case '$gt':
      case '$gte':
      case '$lt':
      case '$lte':
        tests.push(rangeTest(op, arg));
        break;
      case '$in':
      case '$nin': {
        if (!Array.isArray(arg)) throw badArgument(`${op} takes an array`);
        const t: ValueTest = (v) => arg.some((a) => matchesEq(v, a));
        tests.push(op === '$in' ? t : (v) => !t(v));
        break;
      }
      case '$exists':
        tests.push((v) => (v !== MISSING) === Boolean(arg));
        break;
      case '$regex': {
        if (typeof arg !== 'string') throw badArgument('$regex takes a string');
        const flags = typeof ops.$options === 'string' ? ops.$options.replace(/[^imsu]/g, '') : '';
        let re: RegExp;
        try {
          re = new RegExp(arg, flags);
        } catch (error) {
          throw badArgument(`invalid $regex: ${(error as Error).message}`);
        }
        tests.push((v) => anyElement(v, (x) => typeof x === 'string' && re.test(x)));
        break;
      }
      case '$options':
        break;
      case '$not': {
        if (!isOperatorObject(arg)) throw badArgument('$not takes an operator object');
        const inner = compileOperators(arg);
        tests.push((v) => !inner(v));
        break;
      }
      default:
        throw badArgument(`unsupported filter operator ${op}`);
    }
  }
  return (v) => tests.every((t) => t(v));
}

function anyElement(value: unknown, test: (x: unknown) => boolean): boolean {
  if (Array.isArray(value)) return value.some(test);
  return test(value);
}

function matchesEq(value: unknown, arg: unknown): boolean {
  // MongoDB: {field: null} matches a null or a missing field.
  if (arg === null) return value === MISSING || value === null;
  if (value === MISSING) return false;
  if (deepEqual(value, arg)) return true;
  return Array.isArray(value) && value.some((x) => deepEqual(x, arg));
}

function rangeTest(op: '$gt' | '$gte' | '$lt' | '$lte', arg: unknown): ValueTest {
  if (typeof arg !== 'number' && typeof arg !== 'string') throw badArgument(`${op} takes a number or a string`);
  const cmp = (x: unknown): boolean => {
    if (typeof x !== typeof arg) return false;
    const a = x as number | string;
    switch (op) {
      case '$gt':
        return a > arg;
      case '$gte':
        return a >= arg;
      case '$lt':
        return a < arg;
      case '$lte':
        return a <= arg;
    }
  };
  return (v) => anyElement(v, cmp);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every(
    (k) => Object.hasOwn(b, k) && deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
  );
}
