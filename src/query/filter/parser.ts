/**
 * Recursive-descent parser for the filter language a researcher types on the command line:
 *   gradient_method = 'mgda' and batch_size >= 64 and not (host in ('expanse', 'ec2'))
 * Precedence: not > and > or. Every error is a FilterError pointing at the offending token.
 */
import { FilterError } from '../../core/errors.js';
import type { ComparisonOp, FieldRef, FilterExpr, Scalar } from './ast.js';
import { Lexer, type Segment, type Token } from './lexer.js';

/** Parses filter text; empty or whitespace-only text is `{kind:'and', items: []}`, which matches everything. */
export function parseFilter(text: string): FilterExpr {
  const parser = new Parser(text);
  return parser.parse();
}

/**
 * Parses one field reference on its own (`batch_size`, `config.a.b`, `objective."x.y".raw_std`), for
 * column lists, sort keys and group-by fields. Errors show only the text given.
 */
export function parseFieldRef(text: string): FieldRef {
  return new Parser(text).parseFieldOnly();
}

/**
 * How deeply parentheses and `not` may nest. Deeper input would exhaust the parser's stack (and
 * SQLite's expression depth of 1000); 200 levels is far beyond anything written by hand.
 */
export const MAX_FILTER_DEPTH = 200;

/** Joins and/or operands, flattening nested chains of the same kind into one `items` array. */
export function combine(kind: 'and' | 'or', items: FilterExpr[]): FilterExpr {
  const [only] = items;
  if (items.length === 1 && only) return only;
  const flat: FilterExpr[] = [];
  for (const item of items) {
    if (item.kind === kind) flat.push(...item.items);
    else flat.push(item);
  }
  return { kind, items: flat };
}

const PATH_SCOPES: Record<string, 'config' | 'summary' | 'system'> = {
  config: 'config',
  summary: 'summary',
  summary_metrics: 'summary',
  system: 'system',
};
const OBJECTIVE_SCOPES = new Set(['objective', 'objectives']);
const COMPARISONS = new Set<string>(['=', '!=', '<', '<=', '>', '>=']);
const OPERATORS = '=, !=, <, <=, >, >=, ~, in, not in, like, not like, is null, is not null';

class Parser {
  private readonly lexer: Lexer;
  private token: Token;
  /** The token before `token`, so messages can say "after '>'". */
  private previous: Token | undefined;
  /** Current nesting of parentheses and `not`, capped at MAX_FILTER_DEPTH. */
  private depth = 0;

  constructor(private readonly input: string) {
    this.lexer = new Lexer(input);
    this.token = this.lexer.next();
  }

  parse(): FilterExpr {
    if (this.token.type === 'end') return { kind: 'and', items: [] };
    const expr = this.parseOr();
    if (!this.atEnd()) {
      const message = this.isPunct(')')
        ? "unmatched ')'"
        : `unexpected ${describe(this.token)} after a complete condition; join conditions with 'and' or 'or'`;
      this.fail(message);
    }
    return expr;
  }

  private parseOr(): FilterExpr {
    const items = [this.parseAnd()];
    while (this.isKeyword('or')) {
      this.advance();
      items.push(this.parseAnd());
    }
    return combine('or', items);
  }

  private parseAnd(): FilterExpr {
    const items = [this.parseNot()];
    while (this.isKeyword('and')) {
      this.advance();
      items.push(this.parseNot());
    }
    return combine('and', items);
  }

  parseFieldOnly(): FieldRef {
    const token = this.token;
    if (token.type !== 'path' && !(token.type === 'string' && token.quote === '"')) {
      const hint = token.type === 'string' ? ' (field names are bare or "double-quoted")' : '';
      this.fail(`expected a field name but found ${describe(token)}${hint}`);
    }
    const segments =
      token.type === 'path' ? token.segments : [{ text: token.value, quoted: true, position: token.position }];
    const field = this.resolveField(segments, token);
    this.advance();
    if (!this.atEnd()) this.fail(`expected one field name but found ${describe(this.token)} after '${token.source}'`);
    return field;
  }

  private parseNot(): FilterExpr {
    if (this.isKeyword('not') || this.isPunct('(')) {
      if (this.depth >= MAX_FILTER_DEPTH) {
        this.fail(`the filter nests parentheses and 'not' more than ${MAX_FILTER_DEPTH} levels deep; simplify it`);
      }
      this.depth++;
      try {
        return this.parseNested();
      } finally {
        this.depth--;
      }
    }
    return this.parsePredicate();
  }

  private parseNested(): FilterExpr {
    if (this.isKeyword('not')) {
      this.advance();
      return { kind: 'not', expr: this.parseNot() };
    }
    const open = this.token;
    this.advance();
    const expr = this.parseOr();
    if (!this.isPunct(')')) {
      this.fail(`expected ')' to close the '(' at offset ${open.position} but found ${describe(this.token)}`);
    }
    this.advance();
    return expr;
  }

  private parsePredicate(): FilterExpr {
    const fieldToken = this.token;
    let segments: Segment[];
    if (fieldToken.type === 'path') segments = fieldToken.segments;
    else if (fieldToken.type === 'string' && fieldToken.quote === '"') {
      segments = [{ text: fieldToken.value, quoted: true, position: fieldToken.position }];
    } else {
      const hint = fieldToken.type === 'string' ? ' (field names are bare or "double-quoted")' : '';
      this.fail(`expected a field name${this.after()} but found ${describe(fieldToken)}${hint}`);
    }
    const field = this.resolveField(segments, fieldToken);
    const position = fieldToken.position;
    const op = this.advance();

    if (op.type === 'punct' && COMPARISONS.has(op.value)) {
      const compareOp = op.value as ComparisonOp;
      this.advance();
      const value = this.parseValue();
      if (value === null) this.rejectNullComparison(compareOp);
      return { kind: 'compare', field, op: compareOp, value, position };
    }
    if (op.type === 'punct' && op.value === '~') {
      this.advance();
      const patternPosition = this.token.position;
      return { kind: 'regex', field, pattern: this.parseString('regular expression'), position: patternPosition };
    }
    if (op.type === 'keyword') {
      const negated = op.keyword === 'not';
      const keyword = negated ? this.advance() : op;
      if (keyword.type === 'keyword' && keyword.keyword === 'in') {
        this.advance();
        return { kind: 'in', field, values: this.parseList(fieldToken.source), negated, position };
      }
      if (keyword.type === 'keyword' && keyword.keyword === 'like') {
        this.advance();
        return { kind: 'like', field, pattern: this.parseString('pattern'), negated, position };
      }
      if (negated) this.fail(`expected 'in' or 'like' after 'not' but found ${describe(this.token)}`);
      if (op.keyword === 'is') return { kind: 'null', field, negated: this.parseIsNull(), position };
    }
    return this.fail(`expected an operator (${OPERATORS}) after '${fieldToken.source}' but found ${describe(op)}`);
  }

  /** After `is`: `null` or `not null`; returns whether it was negated. */
  private parseIsNull(): boolean {
    let next = this.advance();
    const negated = next.type === 'keyword' && next.keyword === 'not';
    if (negated) next = this.advance();
    if (next.type !== 'keyword' || next.keyword !== 'null') {
      this.fail(`expected 'null'${this.after()} but found ${describe(next)}`);
    }
    this.advance();
    return negated;
  }

  /** Consumes the current token as a value; the operator before it is already consumed. */
  private parseValue(): Scalar {
    const token = this.token;
    let value: Scalar;
    if (token.type === 'number' || token.type === 'string') value = token.value;
    else if (token.type === 'keyword' && token.keyword === 'null') value = null;
    else if (token.type === 'keyword' && (token.keyword === 'true' || token.keyword === 'false')) {
      value = token.keyword === 'true';
    } else {
      // A bare word in value position is most often an unquoted string: `status = completed`.
      const hint = token.type === 'path' ? `; quote text values: '${token.source}'` : '';
      return this.fail(`expected a value${this.after()} but found ${describe(token)}${hint}`);
    }
    this.advance();
    return value;
  }

  private parseString(what: string): string {
    const token = this.token;
    if (token.type !== 'string') {
      return this.fail(`expected a quoted ${what}${this.after()} but found ${describe(token)}`);
    }
    this.advance();
    return token.value;
  }

  /** `( v, ... )` after `in`: non-empty, and without null (which `in` can never match). */
  private parseList(fieldSource: string): Scalar[] {
    if (!this.isPunct('(')) this.fail(`expected '(' after 'in' but found ${describe(this.token)}`);
    this.advance();
    if (this.isPunct(')')) this.fail("the 'in' list is empty; give at least one value");
    const values: Scalar[] = [];
    for (;;) {
      if (this.token.type === 'keyword' && this.token.keyword === 'null') {
        this.fail(
          `'in' cannot match null; add a separate condition: (${fieldSource} in (...) or ${fieldSource} is null)`,
        );
      }
      values.push(this.parseValue());
      if (this.isPunct(')')) break;
      if (!this.isPunct(',')) this.fail(`expected ',' or ')' in the 'in' list but found ${describe(this.token)}`);
      this.advance();
    }
    this.advance();
    return values;
  }

  /** Throws for `= null` and friends; the current token is just past the `null`. */
  private rejectNullComparison(op: ComparisonOp): never {
    const previous = this.previous ?? this.token;
    const fix = op === '=' ? "use 'is null'" : op === '!=' ? "use 'is not null'" : "use 'is null' or 'is not null'";
    throw new FilterError(`cannot compare with null using '${op}'; ${fix}`, this.input, previous.position);
  }

  /** The first segment picks the scope; see FieldRef. */
  private resolveField(segments: Segment[], token: Token): FieldRef {
    const position = token.position;
    const empty = segments.find((s) => s.text === '');
    if (empty) throw new FilterError('empty field name', this.input, empty.position);
    const [first, ...rest] = segments as [Segment, ...Segment[]];
    const head = first.text.toLowerCase();
    const scope = Object.hasOwn(PATH_SCOPES, head) ? PATH_SCOPES[head] : undefined;
    if (scope) {
      if (rest.length === 0) this.fail(`'${first.text}' needs a key after it, e.g. ${head}.learning_rate`, position);
      return { scope, path: rest.map((s) => s.text).join('.'), position };
    }
    if (OBJECTIVE_SCOPES.has(head)) {
      const [name, stat, ...extra] = rest;
      if (!name) this.fail(`'${first.text}' needs an objective name, e.g. objective.DRD5_activity`, position);
      if (extra.length > 0) {
        this.fail(
          `too many segments in '${token.source}': use objective.<name>.<stat>, and quote a name that contains dots,` +
            ` e.g. objective."pIC50.DRD1".raw_mean`,
          position,
        );
      }
      return { scope: 'objective', name: name.text, stat: stat?.text ?? 'raw_mean', position };
    }
    if (rest.length > 0) {
      this.fail(
        `unknown field '${token.source}': a dotted field must start with config., summary., system. or objective.` +
          ` (e.g. config.${token.source} or summary.${token.source})`,
        position,
      );
    }
    return { scope: 'column', name: first.text, position };
  }

  private advance(): Token {
    this.previous = this.token;
    this.token = this.lexer.next();
    return this.token;
  }

  private atEnd(): boolean {
    return this.token.type === 'end';
  }

  private isKeyword(keyword: string): boolean {
    return this.token.type === 'keyword' && this.token.keyword === keyword;
  }

  private isPunct(value: string): boolean {
    return this.token.type === 'punct' && this.token.value === value;
  }

  /** " after '>'" for messages, naming the token just consumed. */
  private after(): string {
    return this.previous ? ` after '${this.previous.source}'` : '';
  }

  private fail(message: string, position = this.token.position): never {
    throw new FilterError(message, this.input, position);
  }
}

function describe(token: Token): string {
  switch (token.type) {
    case 'end':
      return 'end of input';
    case 'number':
      return `number ${token.source}`;
    case 'string':
      return `string ${token.source}`;
    case 'path':
      return `field '${token.source}'`;
    default:
      return `'${token.source}'`;
  }
}
