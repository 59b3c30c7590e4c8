import type { RunPage } from '../../query/find-runs.js';
import { csvCell, type CsvCellOptions } from '../format.js';
import type { Sink } from './sink.js';

/**
 * CSV written page by page. Every cell goes through the CLI's one `csvCell`, so its escaping rules hold
 * here too. With no column list (`*`), the header is the first row's columns.
 */
export async function writeCsv(
  pages: AsyncIterable<RunPage>,
  sink: Sink,
  columns: readonly string[] = [],
  options: CsvCellOptions = { safe: true },
): Promise<number> {
  const cell = (value: unknown): string => csvCell(value, options);
  let cols: readonly string[] | null = columns.length > 0 ? columns : null;
  let n = 0;
  if (cols) await sink.write(`${cols.map(cell).join(',')}\n`);
  for await (const page of pages) {
    if (sink.gone) break;
    let chunk = '';
    if (!cols && page.rows[0]) {
      cols = Object.keys(page.rows[0]);
      chunk += `${cols.map(cell).join(',')}\n`;
    }
    for (const row of page.rows) chunk += `${cols!.map((c) => cell(row[c])).join(',')}\n`;
    n += page.rows.length;
    if (chunk) await sink.write(chunk);
  }
  return n;
}
