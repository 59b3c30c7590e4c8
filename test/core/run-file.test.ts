import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RunFileScanner, parseRunFile, type RunFileItem } from '../../src/core/run-file.js';

function scan(text: string, chunkSizes: number[] = [text.length || 1]): RunFileItem[] {
  const scanner = new RunFileScanner();
  const items: RunFileItem[] = [];
  let at = 0;
  let k = 0;
  while (at < text.length) {
    const size = Math.max(1, chunkSizes[k++ % chunkSizes.length]!);
    items.push(...scanner.feed(text.slice(at, at + size)));
    at += size;
  }
  items.push(...scanner.end());
  return items;
}

const run = (name: string, extra: Record<string, unknown> = {}) => ({ name, config: { a: { value: 1 } }, ...extra });
const names = (items: RunFileItem[]) => items.map((i) => (i.ok ? (i.node as { name: string }).name : `!${i.run}`));

describe('export files: the format is told from the content', () => {
  const runs = [run('a'), run('b', { displayName: 'x]}"[{' }), run('c')];
  it.each([
    ['a JSON array', JSON.stringify(runs)],
    ['a pretty-printed array', JSON.stringify(runs, null, 2)],
    ['{"runs": [...]}', JSON.stringify({ meta: { runs: 3 }, runs })],
    ['{"runs": [...]} one run per line', `{"runs":[\n${runs.map((r) => JSON.stringify(r)).join(',\n')}\n]}\n`],
    [
      'a GraphQL response',
      JSON.stringify({
        data: { project: { runs: { edges: runs.map((node) => ({ node, cursor: 'x' })), pageInfo: {} } } },
      }),
    ],
    ['JSON lines', runs.map((r) => JSON.stringify(r)).join('\n')],
    ['JSON lines with CRLF and blank lines', `${runs.map((r) => JSON.stringify(r)).join('\r\n\r\n')}\r\n`],
  ])('%s', (_label, text) => {
    expect(names(scan(text))).toEqual(['a', 'b', 'c']);
    // However the stream is cut into chunks.
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 }), (sizes) => {
        expect(names(scan(text, sizes))).toEqual(['a', 'b', 'c']);
      }),
      { numRuns: 200 },
    );
  });

  it('one run object alone is one run; an empty file none', () => {
    expect(names(scan(JSON.stringify(run('solo'), null, 2)))).toEqual(['solo']);
    expect(scan('  \n')).toEqual([]);
  });

  it('reads bare NaN/Infinity and keeps big integers exact, leaving strings as strings', () => {
    const [item] = scan(
      '[{"name": "NaN", "config": {"x": NaN, "y": -Infinity, "seed": 9007199254740993, "f": 0.12345678901234567}}]',
    );
    expect(item).toEqual({
      ok: true,
      node: {
        name: 'NaN',
        config: { x: Number.NaN, y: Number.NEGATIVE_INFINITY, seed: 9007199254740993n, f: 0.12345678901234567 },
      },
    });
  });
});

describe('a bad part fails alone, named by its position (issue 12 item 10)', () => {
  it('JSON lines: a bad line is reported with its number and the others are read', () => {
    const text = [
      '{"name": "a"}',
      '{"name": "b", oops}',
      '{"name": "c", "config": {',
      '{"name": "d"}',
      'hello',
      '{"name": "e"}',
    ].join('\n');
    const items = scan(text);
    expect(names(items)).toEqual(['a', '!b', '!c', 'd', '!(line 5)', 'e']);
    expect(items[1]).toMatchObject({ reason: expect.stringMatching(/^line 2: not valid JSON/) });
  });

  it('JSON lines whose first line is broken', () => {
    const text = ['{"name": "a", "config": {', '{"name": "b"}', '{"name": "c"}'].join('\n');
    expect(names(scan(text))).toEqual(['!(line 1)', 'b', 'c']);
  });

  it('an array: a bad element is reported with its number and the others are read', () => {
    const text = `[\n{"name": "a"},\n{"name": "b", "x": tru},\n3,\n"s",\n{"name": "c"}\n]`;
    const items = scan(text);
    expect(names(items)).toEqual(['a', '!b', '!(element 3)', '!(element 4)', 'c']);
    expect(items[1]).toMatchObject({ reason: expect.stringMatching(/^element 2: not valid JSON/) });
  });

  it('an array element with broken brackets: the array goes on at the next line', () => {
    const text = `[\n{"name": "a"},\n{"name": "b", "x": [}],\n{"name": "c"}\n]`;
    expect(names(scan(text))).toEqual(['a', '!b', 'c']);
  });

  it('a truncated file names what was cut', () => {
    expect(names(scan('[{"name": "a"}, {"name": "b", "con'))).toEqual(['a', '!b']);
    expect(names(scan('[{"name": "a"}'))).toEqual(['a', '!(end of file)']);
  });

  it('a run nested deeper than the limit fails alone with its name, without being parsed', () => {
    const deep = `{"name": "deep", "config": ${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
    const text = ['{"name": "a"}', deep, '{"name": "c"}'].join('\n');
    const items = scan(text, [65536]);
    expect(names(items)).toEqual(['a', '!deep', 'c']);
    expect((items[1] as { reason: string }).reason).toMatch(/nested more than 510 levels deep.*500/);
  });

  it('text that is not JSON at all is one clear error, not a failure per line', () => {
    expect(() => scan('a,b,c\n1,2,3\n')).toThrow(/not a W&B export: .* line 1 starts with "a,b,c"/);
    expect(() => scan('<html>\n')).toThrow(/not a W&B export/);
    // After a first run, a garbage line is one bad line of JSON lines.
    expect(names(scan('{"name": "a"}\nnot json\n{"name": "b"}'))).toEqual(['a', '!(line 2)', 'b']);
  });

  it('a run without a name, or a value that is not a run, is named by its position', () => {
    const items = scan(
      '[{"name": "a"}, {"config": "{}"}, [1], {"name": "  "}, {"project": {"name": "p"}, "name": "b", "x": }]',
    );
    expect(names(items)).toEqual(['a', '!(element 2)', '!(element 3)', '!(element 4)', '!b']);
    expect(items[1]).toMatchObject({ reason: 'the run has no "name" (W&B\'s run id)' });
  });

  it('a GraphQL response without runs (an error answer) is reported, an empty runs list is not', () => {
    const items = scan('{"data": {"project": null}, "errors": [{"message": "not found"}]}');
    expect(items).toEqual([
      { ok: false, run: '(line 1)', reason: expect.stringMatching(/no data\.project\.runs\.edges/) },
    ]);
    expect(scan('{"runs": []}')).toEqual([]);
    expect(scan('{"data": {"project": {"runs": {"edges": []}}}}')).toEqual([]);
  });

  it('parseRunFile throws on the first bad part, naming it', () => {
    expect(() => parseRunFile('[{"name": "a"}, {"name": ]', 'f.json')).toThrow(/f\.json: \(element 2\)/);
  });
});

describe('any input', () => {
  it('never throws: every part is a run or a failure with a reason', () => {
    const valid = JSON.stringify([{ name: 'a', config: { x: [1, { y: 'z' }] } }, { name: 'b' }]);
    const mutated = fc
      .tuple(fc.nat(valid.length), fc.nat(6), fc.constantFrom('', '[', ']', '{', '}', '"', '\\', '\n', ',', ':', 'NaN'))
      .map(([at, cut, insert]) => valid.slice(0, at) + insert + valid.slice(at + cut));
    fc.assert(
      fc.property(
        fc.oneof(mutated, fc.string({ unit: 'binary', maxLength: 60 })),
        fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 4 }),
        (text, sizes) => {
          let items: RunFileItem[];
          try {
            items = scan(text, sizes);
          } catch (error) {
            // Only text that is not JSON from its first value on is refused whole.
            expect((error as Error).message).toMatch(/^not a W&B export/);
            return;
          }
          for (const item of items) {
            if (!item.ok) expect(item.reason).toMatch(/\S/);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
