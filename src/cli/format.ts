import { randomBytes } from 'node:crypto';
import { TraindbError } from '../core/errors.js';
import type { Row } from '../db/store.js';

export type OutputFormat = 'table' | 'json' | 'csv';

export function parseFormat(text: string): OutputFormat {
  if (text === 'table' || text === 'json' || text === 'csv') return text;
  throw new TraindbError('INVALID_INPUT', `--format must be table, json or csv, got '${visible(text)}'`);
}

export interface FormatOptions {
  /** Neutralize CSV text cells a spreadsheet would run as a formula (see csvCell); default true. */
  csvSafe?: boolean;
  /** Output goes to a terminal: escape control characters in CSV too (table output always escapes them). */
  terminal?: boolean;
}

/** The output options of a command's flags: `--csv-raw` turns spreadsheet safety off; a TTY stdout escapes CSV. */
export function outputOptions(flags: { csvRaw?: boolean }): FormatOptions {
  return { csvSafe: !flags.csvRaw, terminal: process.stdout.isTTY === true };
}

export function formatRows(
  rows: readonly Row[],
  format: OutputFormat,
  columns?: readonly string[],
  options: FormatOptions = {},
): string {
  const cols = columns && columns.length > 0 ? [...columns] : rows[0] ? Object.keys(rows[0]) : [];
  if (format === 'json') return jsonText(rows);
  if (format === 'csv') {
    const cell = { safe: options.csvSafe ?? true, terminal: options.terminal ?? false };
    return [
      cols.map((c) => csvCell(c, cell)).join(','),
      ...rows.map((r) => cols.map((c) => csvCell(r[c], cell)).join(',')),
    ].join('\n');
  }
  return table(rows, cols);
}

export interface CsvCellOptions {
  /**
   * Spreadsheet safety: a text cell starting with = + - @ (or tab, CR, LF) is prefixed with a single quote
   * so Excel/LibreOffice/Sheets show it as text instead of running it as a formula. Numbers (JS numbers and
   * bigints, and text that is a plain decimal number such as "-0.5" or "1e-3") are never changed.
   */
  safe: boolean;
  /** Escape control and bidi characters visibly (`\x1b`, `\u202e`): for CSV printed to a terminal. */
  terminal?: boolean;
}

/** One RFC 4180 CSV cell: the single place CSV text is made (query output, `traindb export`, streaming). */
export function csvCell(value: unknown, options: CsvCellOptions): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  let text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (options.safe && FORMULA_START.test(text) && !PLAIN_NUMBER.test(text)) text = `'${text}`;
  if (options.terminal) text = visible(text);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Characters that make a spreadsheet cell a formula (OWASP "CSV injection"). */
const FORMULA_START = /^[=+\-@\t\r\n]/;
/** Text a spreadsheet reads as a number, not a formula: left as is so numbers stay numbers. */
const PLAIN_NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$|^[+-]?(?:Infinity|NaN)$/;

/**
 * Control characters (C0, DEL, C1), bidi overrides/isolates/marks, line/paragraph separators and
 * invisible format characters: what can move the cursor, recolour or reorder a terminal, or hide text.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;
const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `text` with every UNSAFE character written out as an escape (`\x1b`, `\u202e`), safe to print. */
export function visible(text: string): string {
  return text.replace(UNSAFE, (ch) => {
    const named = NAMED[ch];
    if (named) return named;
    const code = ch.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** An error message made safe to print: like `visible`, but its line breaks stay line breaks. */
export function visibleMessage(text: string): string {
  return text
    .split('\n')
    .map((line) => visible(line))
    .join('\n');
}

/**
 * JSON text that is also safe on a terminal: JSON.stringify escapes C0 but leaves DEL, C1, bidi
 * overrides and U+2028/2029 raw; `\uXXXX` for those is the same JSON value. Integers read as bigint
 * (beyond 2^53) are written as JSON numbers with every digit.
 */
export function jsonText(value: unknown): string {
  const marker = `bigint-${randomBytes(8).toString('hex')}:`;
  const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${marker}${v}` : v), 2);
  return text.replace(new RegExp(`"${marker}(-?\\d+)"`, 'g'), '$1').replace(JSON_UNSAFE, jsonEscape);
}

/** JSON.stringify output made terminal-safe: DEL, C1, bidi and U+2028/2029 as `\\uXXXX` (the same JSON value). */
export function jsonSafe(text: string): string {
  return text.replace(JSON_UNSAFE, jsonEscape);
}

const JSON_UNSAFE = /[\u007f-\u009f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;
const jsonEscape = (ch: string): string => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;

const MAX_CELL_WIDTH = 60;

function display(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' && !Number.isInteger(value)) return Number(value.toPrecision(6)).toString();
  return truncate(visible(typeof value === 'object' ? JSON.stringify(value) : String(value)), MAX_CELL_WIDTH);
}

/** Cuts `text` to at most `max` terminal columns, ending in "..." when cut; never splits a code point. */
function truncate(text: string, max: number): string {
  if (displayWidth(text) <= max) return text;
  let out = '';
  let width = 0;
  for (const ch of text) {
    const w = charWidth(ch.codePointAt(0)!);
    if (width + w > max - 3) break;
    out += ch;
    width += w;
  }
  return `${out}...`;
}

/** Columns a string takes on a terminal: wide East Asian characters and emoji take 2, combining marks 0. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) width += charWidth(ch.codePointAt(0)!);
  return width;
}

const COMBINING = /^[\p{Mn}\p{Me}\u200c\u200d]$/u;
const EMOJI = /^\p{Extended_Pictographic}$/u;

function charWidth(code: number): number {
  const ch = String.fromCodePoint(code);
  if (COMBINING.test(ch)) return 0;
  if (isWide(code) || (code >= 0x1f000 && EMOJI.test(ch))) return 2;
  return 1;
}

function isWide(code: number): boolean {
  return (
    (code >= 0x1100 && code <= 0x115f) ||
    (code >= 0x2e80 && code <= 0x303e) ||
    (code >= 0x3041 && code <= 0x33ff) ||
    (code >= 0x3400 && code <= 0x4dbf) ||
    (code >= 0x4e00 && code <= 0x9fff) ||
    (code >= 0xa000 && code <= 0xa4cf) ||
    (code >= 0xac00 && code <= 0xd7a3) ||
    (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe30 && code <= 0xfe4f) ||
    (code >= 0xff00 && code <= 0xff60) ||
    (code >= 0xffe0 && code <= 0xffe6) ||
    (code >= 0x20000 && code <= 0x3fffd)
  );
}

export function table(rows: readonly Row[], cols: readonly string[]): string {
  if (cols.length === 0) return '(no rows)';
  const header = cols.map((c) => visible(c));
  const cells = rows.map((r) => cols.map((c) => display(r[c])));
  const widths = header.map((h, i) => Math.max(displayWidth(h), ...cells.map((row) => displayWidth(row[i]!))));
  const line = (values: readonly string[]): string =>
    values
      .map((v, i) => v + ' '.repeat(Math.max(0, widths[i]! - displayWidth(v))))
      .join('  ')
      .trimEnd();
  const out = [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)];
  out.push(`(${rows.length} row${rows.length === 1 ? '' : 's'})`);
  return out.join('\n');
}
