import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { normalizeRun } from '../../src/core/normalize/run.js';
import { storedAttributes } from '../../src/core/normalize/stored.js';
import { launchConfigJson } from '../../src/core/normalize/stored.js';
import { indexableScalar } from '../../src/core/normalize/coerce.js';

const project = { name: 'p', entityName: 'e' };

/** Object.prototype's own properties and their values: pollution adds or replaces one. */
function prototypeSnapshot(): Map<string, unknown> {
  return new Map(
    Object.getOwnPropertyNames(Object.prototype).map((k) => [k, Object.getOwnPropertyDescriptor(Object.prototype, k)]),
  );
}
const pristine = prototypeSnapshot();

function expectPrototypeUntouched(): void {
  const now = prototypeSnapshot();
  expect([...now.keys()].sort()).toEqual([...pristine.keys()].sort());
  for (const [k, d] of pristine) {
    const after = now.get(k) as PropertyDescriptor;
    expect(after.value ?? after.get).toBe((d as PropertyDescriptor).value ?? (d as PropertyDescriptor).get);
  }
  expect(Object.getPrototypeOf({})).toBe(Object.prototype);
}

/** Writes JSON text for an object from entries, so keys like `__proto__` are real members of the text. */
function objectText(entries: ReadonlyArray<readonly [string, string]>): string {
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
}

/** Follows a path through parsed JSON by own properties only. */
function ownPath(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const segment of path) {
    if (node === null || typeof node !== 'object' || !Object.prototype.hasOwnProperty.call(node, segment))
      return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}

afterEach(() => expectPrototypeUntouched());

describe('prototype keys are data (issue 12 item 2)', () => {
  it('x.__proto__.loop.y is stored at its path and does not reach Object.prototype', () => {
    const n = normalizeRun({
      name: 'r1',
      project,
      config: '{"x.__proto__.loop.y": 1, "constructor": {"prototype": {"z": 2}}}',
      summaryMetrics: '{"__proto__": {"loss": 0.5}}',
    });
    expect(({} as Record<string, unknown>)['loop']).toBeUndefined();
    const config = JSON.parse(n.run.config_json as string) as unknown;
    expect(ownPath(config, ['x', '__proto__', 'loop', 'y'])).toBe(1);
    expect(ownPath(config, ['constructor', 'prototype', 'z'])).toBe(2);
    const paths = n.attributes.map((a) => `${a.source}:${a.path}=${a.value}`);
    expect(paths).toEqual(
      expect.arrayContaining([
        'config:x.__proto__.loop.y=1',
        'config:constructor.prototype.z=2',
        'summary:__proto__.loss=0.5',
      ]),
    );
    // A second run normalizes fully: nothing inherited shadows its keys.
    const m = normalizeRun({ name: 'r2', project, config: '{"loop": {"y": 3}, "x": {"a": 1}}' });
    expect(m.attributes.map((a) => a.path).sort()).toEqual(['loop.y', 'x.a']);
  });

  it('a launch config with __proto__ keys stays data', () => {
    const config = JSON.parse('{"a.__proto__.polluted": true, "__proto__": {"b": 1}}') as unknown;
    const text = launchConfigJson(config);
    expect(ownPath(JSON.parse(text), ['a', '__proto__', 'polluted'])).toBe(true);
    expect(ownPath(JSON.parse(text), ['__proto__', 'b'])).toBe(1);
  });

  const hostile = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty');
  const plainSegment = fc.oneof(
    hostile,
    fc.string({ minLength: 1, maxLength: 6 }).filter((s) => !s.includes('.')),
    fc.constantFrom('é', '名前', '🙂', 'a b', '"q"', '\\'),
  );
  const path = fc.array(plainSegment, { minLength: 1, maxLength: 5 });
  const scalar = fc.oneof(fc.integer(), fc.constantFrom('x', 'yes', 'été'), fc.boolean());

  it('every leaf is found at its path, however its key is split between dots and nesting', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(path, scalar, fc.nat()), { selector: ([p]) => p.join('.'), maxLength: 12 }),
        (leaves) => {
          // Prefix-free paths: a leaf is never also an object on another leaf's path.
          const joined = leaves.map(([p]) => p.join('.'));
          const kept = leaves.filter(([p]) => !joined.some((j) => j.startsWith(`${p.join('.')}.`)));
          // Each leaf is written as a dotted key at one split point, nested below it.
          // (Where two leaves would share a top-level key, both are written fully dotted: JSON keeps one.)
          const tops = kept.map(([p, , split]) => p.slice(0, 1 + (split % p.length)).join('.'));
          const entries = kept.map(([p, v, split], i): [string, string] => {
            const shared = tops.filter((t) => t === tops[i]).length > 1;
            const at = shared ? p.length : 1 + (split % p.length);
            let text = JSON.stringify(v);
            if (at < p.length) text = objectText([[p.slice(at).join('.'), text]]);
            return [p.slice(0, at).join('.'), text];
          });
          const n = normalizeRun({
            name: 'fuzz',
            project,
            config: objectText(entries),
            summaryMetrics: objectText(entries),
          });
          const config = JSON.parse(n.run.config_json as string) as unknown;
          for (const [p, v] of kept) {
            expect(ownPath(config, p)).toEqual(v);
            const value = indexableScalar(v);
            expect(n.attributes).toContainEqual({ source: 'config', path: p.join('.'), value });
          }
          const stored = storedAttributes({
            config_json: n.run.config_json,
            final_metrics_json: n.run.final_metrics_json,
            system_metrics_json: n.run.system_metrics_json,
            tags_json: n.run.tags_json,
          });
          expect(new Set(stored.map((a) => JSON.stringify(a)))).toEqual(
            new Set(n.attributes.map((a) => JSON.stringify(a))),
          );
          expectPrototypeUntouched();
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('arbitrary keys (empty segments, dots, unicode) never touch Object.prototype', () => {
    const key = fc
      .array(fc.oneof(hostile, fc.string({ maxLength: 4 }), fc.constant('.')), { maxLength: 6 })
      .map((a) => a.join(''));
    const value: fc.Arbitrary<string> = fc.letrec<{ v: string }>((tie) => ({
      v: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.constantFrom('1', '"s"', 'null', 'true', 'NaN', '-Infinity', '9007199254740993', '1e308'),
        fc.array(fc.tuple(key, tie('v')), { maxLength: 4 }).map((es) => objectText(es)),
        fc.array(tie('v'), { maxLength: 3 }).map((xs) => `[${xs.join(',')}]`),
      ),
    })).v;
    fc.assert(
      fc.property(fc.array(fc.tuple(key, value), { maxLength: 8 }), (entries) => {
        const text = objectText(entries);
        try {
          normalizeRun({ name: 'fuzz', project, config: text, summaryMetrics: text, systemMetrics: text });
        } catch (error) {
          expect((error as { code?: string }).code).toBe('INVALID_RUN');
        }
        expectPrototypeUntouched();
      }),
      { numRuns: 2000 },
    );
  });
});
