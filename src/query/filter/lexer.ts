/**
 * Tokenizer for the filter language. It is pulled one token at a time by the parser, so the first error
 * a user sees is the leftmost one. Field paths (`config.training.batch_size`, `objective."pIC50.DRD1".raw_std`)
 * are lexed as one token because whether `.5` is a number or a path segment depends on what precedes it.
 */
import { FilterError } from '../../core/errors.js';

export type Keyword = 'and' | 'or' | 'not' | 'in' | 'like' | 'is' | 'null' | 'true' | 'false';
export type Punct = '=' | '!=' | '<' | '<=' | '>' | '>=' | '~' | '(' | ')' | ',';

/** One segment of a field path; `text` is unescaped for quoted segments. */
export interface Segment {
  text: string;
  quoted: boolean;
  position: number;
}

/** `source` is the token as typed, for error messages. */
export type Token =
  | { type: 'path'; segments: Segment[]; position: number; source: string }
  | { type: 'keyword'; keyword: Keyword; position: number; source: string }
  | { type: 'number'; value: number; position: number; source: string }
  | { type: 'string'; value: string; quote: "'" | '"'; position: number; source: string }
  | { type: 'punct'; value: Punct; position: number; source: string }
  | { type: 'end'; position: number; source: '' };

const KEYWORDS = new Set<string>(['and', 'or', 'not', 'in', 'like', 'is', 'null', 'true', 'false']);
// Longest first, so `<=` wins over `<`. `==` and `<>` are accepted spellings of `=` and `!=`.
const PUNCTUATION: [string, Punct][] = [
  ['<=', '<='],
  ['>=', '>='],
  ['!=', '!='],
  ['<>', '!='],
  ['==', '='],
  ['=', '='],
  ['<', '<'],
  ['>', '>'],
  ['~', '~'],
  ['(', '('],
  [')', ')'],
  [',', ','],
];
const HINTS: Record<string, string> = {
  '!': "; did you mean '!=' or 'not'?",
  '&': "; use 'and'",
  '|': "; use 'or'",
  '.': '; write field paths without spaces, e.g. config.learning_rate',
};

const FIRST_SEGMENT = /[A-Za-z_][A-Za-z0-9_\-/]*/y;
// After a dot a segment may start with a digit: `objective.5-HT2A_activity`.
const LATER_SEGMENT = /[A-Za-z0-9_][A-Za-z0-9_\-/]*/y;
const NUMBER = /-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?/y;
// Characters that may not directly follow a number (`64abc`, `1e`, `1.2.3`).
const AFTER_NUMBER = /[A-Za-z0-9_.]+/y;

/**
 * Reads a quoted string starting at `start` (which holds the quote). Single quotes escape a quote by
 * doubling it (SQL style, so regex backslashes pass through untouched); double quotes use `\"` and `\\`,
 * and keep any other backslash literally. Returns undefined when the closing quote is missing.
 */
export function scanQuoted(text: string, start: number): { value: string; end: number } | undefined {
  const quote = text[start];
  let value = '';
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (c === quote) {
      if (quote === "'" && text[i + 1] === "'") {
        value += "'";
        i++;
        continue;
      }
      return { value, end: i + 1 };
    }
    if (quote === '"' && c === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\')) {
      value += text[i + 1];
      i++;
      continue;
    }
    value += c;
  }
  return undefined;
}

export class Lexer {
  private pos = 0;

  constructor(private readonly input: string) {}

  next(): Token {
    const input = this.input;
    while (this.pos < input.length && /\s/.test(input[this.pos] ?? '')) this.pos++;
    const start = this.pos;
    const c = input[start];
    if (c === undefined) return { type: 'end', position: start, source: '' };
    if (c === "'") return this.singleQuoted(start);
    if (c === '"' || /[A-Za-z_]/.test(c)) return this.path(start);
    const number = this.matchAt(NUMBER, start);
    if (number !== undefined) return this.number(start, number);
    for (const [text, value] of PUNCTUATION) {
      if (input.startsWith(text, start)) {
        this.pos += text.length;
        return { type: 'punct', value, position: start, source: text };
      }
    }
    throw new FilterError(`unexpected character '${c}'${HINTS[c] ?? ''}`, input, start);
  }

  /** The match of sticky regex `re` exactly at offset `at`, if any. */
  private matchAt(re: RegExp, at: number): string | undefined {
    re.lastIndex = at;
    return re.exec(this.input)?.[0];
  }

  private singleQuoted(start: number): Token {
    const value = this.quoted(start);
    return { type: 'string', value, quote: "'", position: start, source: this.input.slice(start, this.pos) };
  }

  private quoted(start: number): string {
    const scanned = scanQuoted(this.input, start);
    if (!scanned) {
      const quote = this.input[start];
      const hint = quote === "'" ? " (write '' for a quote inside a string)" : ' (write \\" for a quote inside it)';
      throw new FilterError(`unterminated string: no closing ${quote}${hint}`, this.input, start);
    }
    this.pos = scanned.end;
    return scanned.value;
  }

  private number(start: number, text: string): Token {
    this.pos = start + text.length;
    const trailing = this.matchAt(AFTER_NUMBER, this.pos);
    if (trailing !== undefined) {
      throw new FilterError(`invalid number '${text}${trailing}'`, this.input, start);
    }
    const value = Number(text);
    if (!Number.isFinite(value)) throw new FilterError(`number '${text}' is out of range`, this.input, start);
    return { type: 'number', value, position: start, source: text };
  }

  /** A dotted path, a keyword (a lone bare word), or a double-quoted string (a lone quoted segment). */
  private path(start: number): Token {
    const segments: Segment[] = [];
    for (;;) {
      const segStart = this.pos;
      if (this.input[segStart] === '"') {
        segments.push({ text: this.quoted(segStart), quoted: true, position: segStart });
      } else {
        const match = this.matchAt(segments.length === 0 ? FIRST_SEGMENT : LATER_SEGMENT, segStart);
        if (match === undefined) {
          const c = this.input[segStart];
          const found = c === undefined ? 'end of input' : /\s/.test(c) ? 'whitespace' : `'${c}'`;
          throw new FilterError(`expected a name after '.' but found ${found}`, this.input, segStart);
        }
        segments.push({ text: match, quoted: false, position: segStart });
        this.pos = segStart + match.length;
      }
      if (this.input[this.pos] !== '.') break;
      this.pos++;
    }
    const source = this.input.slice(start, this.pos);
    const [only] = segments;
    if (segments.length === 1 && only) {
      if (only.quoted) return { type: 'string', value: only.text, quote: '"', position: start, source };
      const lower = only.text.toLowerCase();
      if (KEYWORDS.has(lower)) return { type: 'keyword', keyword: lower as Keyword, position: start, source };
    }
    return { type: 'path', segments, position: start, source };
  }
}
