import { TraindbError } from '../core/errors.js';
import type { Row } from '../db/store.js';

export type OutputFormat = 'table' | 'json' | 'csv';

export function parseFormat(text: string): OutputFormat {
  if (text === 'table' || text === 'json' || text === 'csv') return text;
  throw new TraindbError('INVALID_INPUT', `--format must be table, json or csv, got '${text}'`);
}

export function formatRows(rows: readonly Row[], format: OutputFormat, columns?: readonly string[]): string {
  const cols = columns && columns.length > 0 ? [...columns] : rows[0] ? Object.keys(rows[0]) : [];
  if (format === 'json') return JSON.stringify(rows, null, 2);
  if (format === 'csv')
    return [cols.map(csvCell).join(','), ...rows.map((r) => cols.map((c) => csvCell(r[c])).join(','))].join('\n');
  return table(rows, cols);
}

export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function display(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' && !Number.isInteger(value)) return Number(value.toPrecision(6)).toString();
  const text = String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

export function table(rows: readonly Row[], cols: readonly string[]): string {
  if (cols.length === 0) return '(no rows)';
  const cells = rows.map((r) => cols.map((c) => display(r[c])));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: readonly string[]): string =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const out = [line(cols), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)];
  out.push(`(${rows.length} row${rows.length === 1 ? '' : 's'})`);
  return out.join('\n');
}
