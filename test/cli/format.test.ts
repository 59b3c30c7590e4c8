import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csvCell, displayWidth, formatRows, table, visible } from '../../src/cli/format.js';

const RAW_UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;

/** RFC 4180: one cell back to its text. */
function unquote(cell: string): string {
  return cell.startsWith('"') ? cell.slice(1, -1).replace(/""/g, '"') : cell;
}

describe('csvCell(value, {safe})', () => {
  it.each([
    ['=1+2', "'=1+2"],
    ['+SUM(A1)', "'+SUM(A1)"],
    ['-cmd', "'-cmd"],
    ['@A1', "'@A1"],
    ['\tx', "'\tx"],
    ['\rx', `"'\rx"`],
    ['=HYPERLINK("http://x","y")', `"'=HYPERLINK(""http://x"",""y"")"`],
    ['-0.5', '-0.5'],
    ['+1e-3', '+1e-3'],
    ['-Infinity', '-Infinity'],
    ['mgda', 'mgda'],
    ['a,b', '"a,b"'],
  ])('safe: text %j -> %s', (value, expected) => {
    expect(csvCell(value, { safe: true })).toBe(expected);
  });

  it('never changes numbers, null or raw text', () => {
    expect(csvCell(-0.5, { safe: true })).toBe('-0.5');
    expect(csvCell(-3n, { safe: true })).toBe('-3');
    expect(csvCell(null, { safe: true })).toBe('');
    expect(csvCell('=1+2', { safe: false })).toBe('=1+2');
  });

  it('round-trips any text when not safe, and never starts a formula when safe', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(unquote(csvCell(text, { safe: false }))).toBe(text);
        const safe = unquote(csvCell(text, { safe: true }));
        if (/^[=+\-@\t\r\n]/.test(safe)) expect(Number.isNaN(Number(safe))).toBe(false);
        expect(safe === text || safe === `'${text}`).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('escapes control characters for a terminal', () => {
    expect(csvCell('\u001b[2Jx\u202e', { safe: true, terminal: true })).toBe('\\x1b[2Jx\\u202e');
  });
});

describe('table', () => {
  it('escapes every control and bidi character and keeps the next column aligned, for any text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (text) => {
        const out = table([{ a: text, b: 'x' }], ['a', 'b']);
        expect(out).not.toMatch(RAW_UNSAFE);
        const [header, , row] = out.split('\n');
        expect(displayWidth(row!) - 1).toBe(header!.indexOf('b'));
        // Cut to 60 columns at most, with the cut shown.
        expect(displayWidth(row!.slice(0, -1).trimEnd())).toBeLessThanOrEqual(60);
      }),
      { numRuns: 2000 },
    );
  });

  it('counts wide characters twice and combining marks not at all', () => {
    expect(displayWidth('模型')).toBe(4);
    expect(displayWidth('e\u0301')).toBe(1);
    expect(displayWidth('🙂')).toBe(2);
    expect(visible('\u001b\u0085\u202e\n')).toBe('\\x1b\\x85\\u202e\\n');
  });
});

describe('formatRows json', () => {
  it('is JSON with DEL, C1 and bidi characters escaped', () => {
    const value = 'a\u007f\u0085\u202e\u2028b';
    const text = formatRows([{ v: value }], 'json');
    expect(text).not.toMatch(RAW_UNSAFE);
    expect(JSON.parse(text)).toEqual([{ v: value }]);
  });

  it('writes integers beyond 2^53 with every digit', () => {
    expect(formatRows([{ v: 9007199254740993n, w: -12345678901234567890n }] as never, 'json')).toBe(
      '[\n  {\n    "v": 9007199254740993,\n    "w": -12345678901234567890\n  }\n]',
    );
  });
});
