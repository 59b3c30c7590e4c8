import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import { ALL_RUN_COLUMNS } from '../../core/columns.js';
import { TraindbError } from '../../core/errors.js';
import type { SqlValue } from '../../core/columns.js';
import type { ResultColumnTypes, StorageClass } from '../../query/column-types.js';
import type { RunPage } from '../../query/find-runs.js';
import type { Sink } from './sink.js';

type ParquetKind = 'BOOLEAN' | 'INT64' | 'DOUBLE' | 'STRING' | 'BYTE_ARRAY';

/** Rows per row group: memory holds one group's values and its encoded bytes, whatever the export's size. */
export const ROW_GROUP_ROWS = 10_000;
/** A row group also ends at about this many bytes of values, so wide rows (`*`: every JSON column) stay bounded too. */
const ROW_GROUP_BYTES = 32 * 2 ** 20;

/**
 * The Parquet type for a column from the storage classes it holds: integers INT64 (BOOLEAN for a run
 * column declared boolean), numbers with a fraction DOUBLE, anything with text UTF8 (numbers then as
 * their text), blobs BYTE_ARRAY; a column with no value at all gets its declared type (run columns) or UTF8.
 * Every column is nullable.
 */
export function parquetKind(column: string, classes: ReadonlySet<StorageClass>): ParquetKind {
  const only = (...allowed: StorageClass[]): boolean => [...classes].every((c) => allowed.includes(c));
  if (classes.size === 0) {
    const declared = ALL_RUN_COLUMNS[column];
    return declared === 'integer'
      ? 'INT64'
      : declared === 'real'
        ? 'DOUBLE'
        : declared === 'boolean'
          ? 'BOOLEAN'
          : 'STRING';
  }
  if (only('integer')) return ALL_RUN_COLUMNS[column] === 'boolean' ? 'BOOLEAN' : 'INT64';
  if (only('integer', 'real')) return 'DOUBLE';
  if (only('blob')) return 'BYTE_ARRAY';
  return 'STRING';
}

const SCHEMA: Record<ParquetKind, { type: 'BOOLEAN' | 'INT64' | 'DOUBLE' | 'BYTE_ARRAY'; converted_type?: 'UTF8' }> = {
  BOOLEAN: { type: 'BOOLEAN' },
  INT64: { type: 'INT64' },
  DOUBLE: { type: 'DOUBLE' },
  STRING: { type: 'BYTE_ARRAY', converted_type: 'UTF8' },
  BYTE_ARRAY: { type: 'BYTE_ARRAY' },
};

/**
 * Writes every page as Parquet, one row group per ROW_GROUP_ROWS rows; each group's bytes go to the sink
 * (waiting for it) before the next group is read.
 */
export async function writeParquet(
  pages: AsyncIterable<RunPage>,
  sink: Sink,
  scan: ResultColumnTypes,
  rowGroupRows = ROW_GROUP_ROWS,
): Promise<number> {
  const kinds = scan.columns.map((c) => parquetKind(c, scan.types.get(c) ?? new Set()));
  const writer = sinkWriter(sink);
  const parquet = new ParquetWriter({
    writer,
    schema: [
      { name: 'root', num_children: scan.columns.length },
      ...scan.columns.map((name, i) => ({ name, repetition_type: 'OPTIONAL' as const, ...SCHEMA[kinds[i]!] })),
    ],
    createdBy: 'traindb export (hyparquet-writer)',
  });
  let data: unknown[][] = scan.columns.map(() => []);
  let buffered = 0;
  let bytes = 0;
  let n = 0;
  const flush = async (): Promise<void> => {
    if (buffered === 0) return;
    const columnData = scan.columns.map((name, i) => ({ name, data: data[i]! }));
    await parquet.write({ columnData, rowGroupSize: buffered });
    data = scan.columns.map(() => []);
    buffered = 0;
    bytes = 0;
  };
  for await (const page of pages) {
    if (sink.gone) break;
    for (const row of page.rows) {
      scan.columns.forEach((c, i) => {
        const value = row[c] ?? null;
        bytes += typeof value === 'string' ? value.length : 8;
        data[i]!.push(convert(value, kinds[i]!, c));
      });
    }
    buffered += page.rows.length;
    n += page.rows.length;
    if (buffered >= rowGroupRows || bytes >= ROW_GROUP_BYTES) await flush();
  }
  await flush();
  await parquet.finish();
  return n;
}

function convert(value: SqlValue | Uint8Array, kind: ParquetKind, column: string): unknown {
  if (value === null) return null;
  switch (kind) {
    case 'STRING':
      return value instanceof Uint8Array ? Buffer.from(value).toString('hex') : String(value);
    case 'DOUBLE':
      if (typeof value === 'number') return value;
      break;
    case 'INT64':
      if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
      break;
    case 'BOOLEAN':
      if (typeof value === 'number') return value !== 0;
      break;
    case 'BYTE_ARRAY':
      if (value instanceof Uint8Array) return value;
      break;
  }
  // The schema came from a scan of the same matches: a value outside it was written during the export.
  throw new TraindbError(
    'UNAVAILABLE',
    `column '${column}' received a ${typeof value} value after its Parquet type (${kind}) was chosen: the data changed during the export; run it again`,
    { transient: true },
  );
}

/**
 * A hyparquet Writer that hands its bytes to the sink: in 1 MB chunks as they fill, and all of them at
 * each row group's end (flush), awaited before the next group is encoded.
 */
function sinkWriter(sink: Sink): ByteWriter {
  const writer = new ByteWriter(1 << 20);
  const chunks: Uint8Array[] = [];
  const take = (): void => {
    if (writer.index === 0) return;
    chunks.push(new Uint8Array(writer.buffer.slice(0, writer.index)));
    writer.index = 0;
  };
  const drain = async (): Promise<void> => {
    take();
    while (chunks.length > 0) await sink.write(chunks.shift()!);
  };
  const ensure = writer.ensure.bind(writer);
  writer.ensure = (size: number): void => {
    if (writer.index > 1 << 20) take();
    ensure(size);
  };
  (writer as { flush?: () => Promise<void> }).flush = drain;
  writer.finish = drain as () => void;
  return writer;
}
