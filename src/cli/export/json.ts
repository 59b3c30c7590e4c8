import type { RunPage } from '../../query/find-runs.js';
import type { Sink } from './sink.js';
import { jsonSafe } from '../format.js';

/** JSON has no Infinity or NaN: they are written as the strings W&B itself uses, never as null. */
export function jsonValue(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? String(value) : value;
}

/** A JSON array written row by row: the whole answer is never held at once. */
export async function writeJsonArray(pages: AsyncIterable<RunPage>, sink: Sink): Promise<number> {
  let n = 0;
  for await (const page of pages) {
    if (sink.gone) break;
    let chunk = '';
    for (const row of page.rows) chunk += `${n++ === 0 ? '[\n' : ',\n'}  ${jsonSafe(JSON.stringify(row, jsonValue))}`;
    if (chunk) await sink.write(chunk);
  }
  await sink.write(n === 0 ? '[]\n' : '\n]\n');
  return n;
}

/** JSON lines: one object per run. */
export async function writeJsonLines(pages: AsyncIterable<RunPage>, sink: Sink): Promise<number> {
  let n = 0;
  for await (const page of pages) {
    if (sink.gone) break;
    let chunk = '';
    for (const row of page.rows) chunk += `${jsonSafe(JSON.stringify(row, jsonValue))}\n`;
    n += page.rows.length;
    if (chunk) await sink.write(chunk);
  }
  return n;
}
