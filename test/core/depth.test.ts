import { afterEach, describe, expect, it } from 'vitest';
import { normalizeRun } from '../../src/core/normalize/run.js';
import { jsonDepth, MAX_JSON_DEPTH } from '../../src/core/json.js';

// Issue 12 item 10: a document deeper than the database's JSON functions can read fails its run alone.
const project = { name: 'p', entityName: 'e' };
const nested = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;
const fail = (config: unknown) => () => normalizeRun({ name: 'r', project, config: config as string });

afterEach(() => expect(Object.keys(Object.prototype)).toEqual([]));

describe('nesting limits', () => {
  it('jsonDepth counts levels without recursion, even 200,000 of them', () => {
    expect(jsonDepth(1)).toBe(0);
    expect(jsonDepth({ a: [1, { b: {} }] })).toBe(4);
    expect(jsonDepth(JSON.parse(nested(200_000)))).toBe(200_000);
    expect(jsonDepth(JSON.parse(nested(200_000)), 10)).toBe(11);
  });

  it(`accepts ${MAX_JSON_DEPTH} levels and refuses one more, as text, inline, or through dotted keys`, () => {
    expect(() => normalizeRun({ name: 'r', project, config: `{"a": ${nested(MAX_JSON_DEPTH - 1)}}` })).not.toThrow();
    expect(fail(`{"a": ${nested(MAX_JSON_DEPTH)}}`)).toThrow(/run r: config is nested more than 500 levels deep/);
    expect(fail({ a: JSON.parse(nested(200_000)) as unknown })).toThrow(/config is nested more than 500/);
    expect(fail(`{"x": NaN, "a": ${nested(200_000)}}`)).toThrow(
      /run r: (config is nested more than 500|too deeply nested)/,
    );
    const dotted = Array.from({ length: 501 }, () => 'k').join('.');
    expect(fail(`{"${dotted}": 1}`)).toThrow(/config is nested more than 500/);
    const huge = Array.from({ length: 100_000 }, () => 'k').join('.');
    expect(fail(`{"${huge}": {"a": 1}, "${huge}.b": 2}`)).toThrow(
      /run r: (config is nested more than 500|too deeply nested)/,
    );
    expect(() => normalizeRun({ name: 'r', project, summaryMetrics: `{"a": ${nested(600)}}` })).toThrow(
      /summaryMetrics is nested more than 500/,
    );
  });
});
