import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { TraindbError } from '../core/errors.js';
import { RunFileScanner } from '../core/run-file.js';
import type { IngestFailure } from './ingest.js';

/**
 * Streams run nodes from an export of any size and format (a JSON array, `{"runs": [...]}`, a GraphQL
 * response, JSON lines: told from the content), holding one run at a time, so a file larger than a
 * JavaScript string can hold (~512 MB) still loads. A part that cannot be read (a bad line or element, a
 * run nested too deep) is pushed to `failures` with its position, and the rest is read.
 * `input` is a file path, `-` for standard input, or a readable stream.
 */
export async function* readRunFile(input: string | Readable, failures: IngestFailure[]): AsyncGenerator<unknown> {
  const stream = typeof input !== 'string' ? input : input === '-' ? process.stdin : openFile(input);
  stream.setEncoding('utf8');
  const scanner = new RunFileScanner();
  try {
    for await (const chunk of stream) {
      for (const item of scanner.feed(chunk as string)) {
        if (item.ok) yield item.node;
        else failures.push({ run: item.run, reason: item.reason });
      }
    }
  } catch (error) {
    if (error instanceof TraindbError) {
      const label = typeof input === 'string' ? (input === '-' ? 'standard input' : input) : 'the input';
      throw new TraindbError(error.code, `${label}: ${error.message}`, { cause: error });
    }
    const code = (error as NodeJS.ErrnoException).code;
    throw new TraindbError(
      'INVALID_INPUT',
      `cannot read ${typeof input === 'string' ? input : 'the input'}: ${code ?? (error as Error).message}`,
      { cause: error },
    );
  }
  for (const item of scanner.end()) {
    if (item.ok) yield item.node;
    else failures.push({ run: item.run, reason: item.reason });
  }
}

function openFile(path: string): Readable {
  // A large buffer: the scanner's per-chunk overhead is small, the fewer reads the better.
  return createReadStream(path, { highWaterMark: 1 << 20 });
}
