import { describe, it, expect } from 'vitest';
import { FilterError, TraindbError } from '../../src/core/errors.js';
import type { ComparisonOp, FieldRef, FilterExpr, Scalar } from '../../src/query/filter/ast.js';
import { parseFilter } from '../../src/query/filter/parser.js';

const col = (name: string, position: number): FieldRef => ({ scope: 'column', name, position });
const cmp = (field: FieldRef, op: ComparisonOp, value: Scalar): FilterExpr => ({
  kind: 'compare',
  field,
  op,
  value,
  position: field.position,
});

/** Parses text that must fail and returns the FilterError; fails the test if nothing is thrown. */
function parseError(text: string): FilterError {
  let thrown: unknown;
  try {
    parseFilter(text);
  } catch (error) {
    thrown = error;
  }
  if (thrown === undefined) throw new Error(`expected parseFilter(${JSON.stringify(text)}) to throw`);
  expect(thrown).toBeInstanceOf(FilterError);
  const error = thrown as FilterError;
  expect(error).toBeInstanceOf(TraindbError);
  expect(error.code).toBe('INVALID_FILTER');
  expect(error.input).toBe(text);
  return error;
}

describe('parseFilter: the documented examples', () => {
  it('parses a conjunction of column comparisons', () => {
    expect(parseFilter("gradient_method = 'mgda' and batch_size >= 64 and status = 'completed'")).toEqual({
      kind: 'and',
      items: [
        cmp(col('gradient_method', 0), '=', 'mgda'),
        cmp(col('batch_size', 29), '>=', 64),
        cmp(col('status', 50), '=', 'completed'),
      ],
    });
  });

  it('parses config and summary paths, quoted segments included', () => {
    expect(parseFilter('config.training.gradient_accumulation_steps > 4 or summary."train/loss" < 0.5')).toEqual({
      kind: 'or',
      items: [
        cmp({ scope: 'config', path: 'training.gradient_accumulation_steps', position: 0 }, '>', 4),
        cmp({ scope: 'summary', path: 'train/loss', position: 51 }, '<', 0.5),
      ],
    });
  });

  it('parses objectives with the default and an explicit stat', () => {
    expect(parseFilter('objective.COMT_activity > 0.8 and objective.DRD5_activity.normalized_mean >= 0.7')).toEqual({
      kind: 'and',
      items: [
        cmp({ scope: 'objective', name: 'COMT_activity', stat: 'raw_mean', position: 0 }, '>', 0.8),
        cmp({ scope: 'objective', name: 'DRD5_activity', stat: 'normalized_mean', position: 34 }, '>=', 0.7),
      ],
    });
  });

  it('parses quoted objective names, including ones with dots', () => {
    expect(parseFilter('objective."5-HT2A_activity" > 0.5')).toEqual(
      cmp({ scope: 'objective', name: '5-HT2A_activity', stat: 'raw_mean', position: 0 }, '>', 0.5),
    );
    expect(parseFilter('objective."pIC50.DRD1".raw_std < 0.1')).toEqual(
      cmp({ scope: 'objective', name: 'pIC50.DRD1', stat: 'raw_std', position: 0 }, '<', 0.1),
    );
  });

  it('parses not, in, like and is not null', () => {
    const text = "not (host in ('expanse', 'ec2')) and run_name like 'eager%' and blog_post_url is not null";
    expect(parseFilter(text)).toEqual({
      kind: 'and',
      items: [
        {
          kind: 'not',
          expr: { kind: 'in', field: col('host', 5), values: ['expanse', 'ec2'], negated: false, position: 5 },
        },
        { kind: 'like', field: col('run_name', 37), pattern: 'eager%', negated: false, position: 37 },
        { kind: 'null', field: col('blog_post_url', 64), negated: true, position: 64 },
      ],
    });
  });
});

describe('parseFilter: precedence and grouping', () => {
  it('binds and tighter than or', () => {
    expect(parseFilter('a = 1 or b = 2 and c = 3')).toEqual({
      kind: 'or',
      items: [
        cmp(col('a', 0), '=', 1),
        {
          kind: 'and',
          items: [cmp(col('b', 9), '=', 2), cmp(col('c', 19), '=', 3)],
        },
      ],
    });
  });

  it('binds not tighter than and', () => {
    expect(parseFilter('not a = 1 and b = 2')).toEqual({
      kind: 'and',
      items: [{ kind: 'not', expr: cmp(col('a', 4), '=', 1) }, cmp(col('b', 14), '=', 2)],
    });
  });

  it('lets parentheses override precedence', () => {
    expect(parseFilter('(a = 1 or b = 2) and c = 3')).toEqual({
      kind: 'and',
      items: [{ kind: 'or', items: [cmp(col('a', 1), '=', 1), cmp(col('b', 10), '=', 2)] }, cmp(col('c', 21), '=', 3)],
    });
  });

  it('flattens nested chains of the same connective, even across parentheses', () => {
    expect(parseFilter('a = 1 or (b = 2 or (c = 3)) or d = 4')).toEqual({
      kind: 'or',
      items: [
        cmp(col('a', 0), '=', 1),
        cmp(col('b', 10), '=', 2),
        cmp(col('c', 20), '=', 3),
        cmp(col('d', 31), '=', 4),
      ],
    });
    expect(parseFilter('(a = 1 and b = 2) and c = 3')).toEqual({
      kind: 'and',
      items: [cmp(col('a', 1), '=', 1), cmp(col('b', 11), '=', 2), cmp(col('c', 22), '=', 3)],
    });
  });

  it('nests not', () => {
    expect(parseFilter('not not x = 1')).toEqual({
      kind: 'not',
      expr: { kind: 'not', expr: cmp(col('x', 8), '=', 1) },
    });
  });

  it('treats empty or whitespace-only text as match-everything', () => {
    expect(parseFilter('')).toEqual({ kind: 'and', items: [] });
    expect(parseFilter(' \t\n ')).toEqual({ kind: 'and', items: [] });
  });
});

describe('parseFilter: operators', () => {
  it.each<[string, ComparisonOp]>([
    ['=', '='],
    ['==', '='],
    ['!=', '!='],
    ['<>', '!='],
    ['<', '<'],
    ['<=', '<='],
    ['>', '>'],
    ['>=', '>='],
  ])('x %s 1 compares with %s', (written, op) => {
    expect(parseFilter(`x ${written} 1`)).toEqual(cmp(col('x', 0), op, 1));
  });

  it('needs no spaces around operators', () => {
    expect(parseFilter('x>=-1')).toEqual(cmp(col('x', 0), '>=', -1));
  });

  it('parses in and not in', () => {
    expect(parseFilter("x in ('a', 2, true)")).toEqual({
      kind: 'in',
      field: col('x', 0),
      values: ['a', 2, true],
      negated: false,
      position: 0,
    });
    expect(parseFilter('x not in (1)')).toEqual({
      kind: 'in',
      field: col('x', 0),
      values: [1],
      negated: true,
      position: 0,
    });
  });

  it('parses like and not like', () => {
    expect(parseFilter("run_name not like 'eager%'")).toEqual({
      kind: 'like',
      field: col('run_name', 0),
      pattern: 'eager%',
      negated: true,
      position: 0,
    });
  });

  it('parses is null', () => {
    expect(parseFilter('host is null')).toEqual({ kind: 'null', field: col('host', 0), negated: false, position: 0 });
  });

  it('parses ~ as a regex match, keeping backslashes in single-quoted patterns', () => {
    expect(parseFilter("run_name ~ '^eager-\\d+$'")).toEqual({
      kind: 'regex',
      field: col('run_name', 0),
      pattern: '^eager-\\d+$',
      position: 11, // the pattern's offset, where a bad pattern is pointed at
    });
  });

  it('reads keywords case-insensitively', () => {
    expect(parseFilter("NOT x IS NOT NULL Or y In (1) AnD z LIKE 'a' and w = TRUE and v = False")).toEqual({
      kind: 'or',
      items: [
        { kind: 'not', expr: { kind: 'null', field: col('x', 4), negated: true, position: 4 } },
        {
          kind: 'and',
          items: [
            { kind: 'in', field: col('y', 21), values: [1], negated: false, position: 21 },
            { kind: 'like', field: col('z', 34), pattern: 'a', negated: false, position: 34 },
            cmp(col('w', 49), '=', true),
            cmp(col('v', 62), '=', false),
          ],
        },
      ],
    });
  });
});

describe('parseFilter: values', () => {
  it.each<[string, number]>([
    ['64', 64],
    ['-1', -1],
    ['1e-4', 0.0001],
    ['0.5', 0.5],
    ['.5', 0.5],
    ['-.5', -0.5],
    ['2.5E+3', 2500],
    ['3e2', 300],
  ])('reads the number %s', (written, value) => {
    const parsed = parseFilter(`x = ${written}`);
    expect(parsed).toEqual(cmp(col('x', 0), '=', value));
  });

  it('reads single-quoted strings with doubled quotes', () => {
    expect(parseFilter("notes = 'it''s'")).toEqual(cmp(col('notes', 0), '=', "it's"));
    expect(parseFilter("notes = ''")).toEqual(cmp(col('notes', 0), '=', ''));
  });

  it('reads double-quoted strings in value position, with \\" and \\\\ escapes', () => {
    expect(parseFilter('notes = "say \\"hi\\" \\\\ bye"')).toEqual(cmp(col('notes', 0), '=', 'say "hi" \\ bye'));
  });

  it('keeps a number-like string a string', () => {
    expect(parseFilter("wandb_run_id = '123'")).toEqual(cmp(col('wandb_run_id', 0), '=', '123'));
  });
});

describe('parseFilter: field paths', () => {
  it('gives the same path for quoted dotted keys and nested keys', () => {
    const quoted = parseFilter('summary."a.b" = 1');
    const nested = parseFilter('summary.a.b = 1');
    expect(quoted).toEqual(cmp({ scope: 'summary', path: 'a.b', position: 0 }, '=', 1));
    expect(nested).toEqual(quoted);
  });

  it('accepts / and - in bare segments, and a digit after a dot', () => {
    expect(parseFilter('summary.train/loss < 1')).toEqual(
      cmp({ scope: 'summary', path: 'train/loss', position: 0 }, '<', 1),
    );
    expect(parseFilter('objective.5-HT2A_activity > .5')).toEqual(
      cmp({ scope: 'objective', name: '5-HT2A_activity', stat: 'raw_mean', position: 0 }, '>', 0.5),
    );
  });

  it('maps summary_metrics to summary, system to system, objectives to objective', () => {
    expect(parseFilter('summary_metrics.loss = 1')).toEqual(
      cmp({ scope: 'summary', path: 'loss', position: 0 }, '=', 1),
    );
    expect(parseFilter('system.gpu.0.temp > 80')).toEqual(
      cmp({ scope: 'system', path: 'gpu.0.temp', position: 0 }, '>', 80),
    );
    expect(parseFilter('objectives.qed.raw_max >= 1')).toEqual(
      cmp({ scope: 'objective', name: 'qed', stat: 'raw_max', position: 0 }, '>=', 1),
    );
  });

  it('unescapes quoted segments', () => {
    expect(parseFilter('config."a\\"b\\\\c" = 1')).toEqual(
      cmp({ scope: 'config', path: 'a"b\\c', position: 0 }, '=', 1),
    );
  });

  it('accepts a double-quoted column name', () => {
    expect(parseFilter('"batch_size" = 1')).toEqual(cmp(col('batch_size', 0), '=', 1));
  });

  it('records each field position', () => {
    expect(parseFilter('  (  config.x = 1)')).toEqual(cmp({ scope: 'config', path: 'x', position: 5 }, '=', 1));
  });
});

describe('parseFilter: errors', () => {
  it('reports a missing value after an operator at end of input', () => {
    const error = parseError('batch_size >');
    expect(error.position).toBe(12);
    expect(error.message).toContain("expected a value after '>' but found end of input");
  });

  it('hints at quoting when a value is a bare word', () => {
    const error = parseError('status = completed');
    expect(error.position).toBe(9);
    expect(error.message).toContain("quote text values: 'completed'");
  });

  it('draws a caret under the offending token', () => {
    expect(parseError('x = 1 y').message).toBe(
      "unexpected field 'y' after a complete condition; join conditions with 'and' or 'or'\n  x = 1 y\n        ^",
    );
  });

  it('reports a missing closing parenthesis', () => {
    const error = parseError('(a = 1 or b = 2');
    expect(error.position).toBe(15);
    expect(error.message).toContain("expected ')' to close the '(' at offset 0 but found end of input");
  });

  it('reports an unmatched closing parenthesis', () => {
    const error = parseError('a = 1)');
    expect(error.position).toBe(5);
    expect(error.message).toContain("unmatched ')'");
  });

  it('reports an unterminated string at its opening quote', () => {
    const error = parseError("name = 'abc");
    expect(error.position).toBe(7);
    expect(error.message).toContain('unterminated string');
    expect(parseError('summary."train/loss < 1').position).toBe(8);
  });

  it('reports an unknown character, with a hint for && and !', () => {
    const dollar = parseError('x = $5');
    expect(dollar.position).toBe(4);
    expect(dollar.message).toContain("unexpected character '$'");
    expect(parseError('a = 1 && b = 2').message).toContain("use 'and'");
    expect(parseError('! a = 1').message).toContain("did you mean '!=' or 'not'?");
  });

  it('rejects = null and suggests is null', () => {
    const error = parseError('host = null');
    expect(error.position).toBe(7);
    expect(error.message).toContain("use 'is null'");
    expect(parseError('host != NULL').message).toContain("use 'is not null'");
    expect(parseError('host < null').message).toContain("cannot compare with null using '<'");
  });

  it('rejects empty in lists, trailing commas and null in lists', () => {
    const empty = parseError('x in ()');
    expect(empty.position).toBe(6);
    expect(empty.message).toContain('at least one value');
    expect(parseError('x in (1,)').position).toBe(8);
    const withNull = parseError("x in ('a', null)");
    expect(withNull.position).toBe(11);
    expect(withNull.message).toContain('x is null');
    const noParen = parseError("x in 'a'");
    expect(noParen.position).toBe(5);
    expect(noParen.message).toContain("expected '(' after 'in'");
  });

  it('requires a key after config, summary and system', () => {
    const error = parseError('x = 1 and config > 4');
    expect(error.position).toBe(10);
    expect(error.message).toContain("'config' needs a key after it");
    expect(parseError('summary = 1').position).toBe(0);
    expect(parseError('objective > 1').message).toContain('needs an objective name');
  });

  it('asks for quoting when an objective has more than two segments', () => {
    const error = parseError('a = 1 or objective.pIC50.DRD1.raw_mean > 5');
    expect(error.position).toBe(9);
    expect(error.message).toContain('objective."pIC50.DRD1".raw_mean');
  });

  it('rejects a dotted path with an unknown scope, suggesting config. and summary.', () => {
    const error = parseError('training.batch_size = 64');
    expect(error.position).toBe(0);
    expect(error.message).toContain('config.training.batch_size');
    expect(error.message).toContain('summary.training.batch_size');
  });

  it('reports a missing operator', () => {
    const error = parseError('batch_size 64');
    expect(error.position).toBe(11);
    expect(error.message).toContain('expected an operator (=, !=, <, <=, >, >=, ~, in, not in, like, not like');
    expect(parseError('x not = 1').message).toContain("expected 'in' or 'like' after 'not' but found '='");
    expect(parseError('x is 5').message).toContain("expected 'null' after 'is' but found number 5");
  });

  it('reports a missing condition after a connective', () => {
    const error = parseError('a = 1 and');
    expect(error.position).toBe(9);
    expect(error.message).toContain("expected a field name after 'and' but found end of input");
    expect(parseError('a = 1 or or b = 2').position).toBe(9);
  });

  it('rejects a single-quoted field name', () => {
    const error = parseError("'status' = 'x'");
    expect(error.position).toBe(0);
    expect(error.message).toContain('double-quoted');
  });

  it('rejects malformed numbers', () => {
    expect(parseError('x = 64abc').message).toContain("invalid number '64abc'");
    expect(parseError('x = 1.2.3').position).toBe(4);
    expect(parseError('x = 1e999').message).toContain('out of range');
  });

  it('rejects a trailing dot or a space inside a path', () => {
    expect(parseError('config. = 1').position).toBe(7);
    expect(parseError('config .x = 1').message).toContain("'config' needs a key after it");
    const spaced = parseError('a .x = 1');
    expect(spaced.position).toBe(2);
    expect(spaced.message).toContain('without spaces');
  });

  it('requires a quoted pattern after like and ~', () => {
    const error = parseError('x like 5');
    expect(error.position).toBe(7);
    expect(error.message).toContain("expected a quoted pattern after 'like' but found number 5");
    expect(parseError('x ~ abc').message).toContain("expected a quoted regular expression after '~'");
  });
});
