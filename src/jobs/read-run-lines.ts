import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseWandbJson } from '../core/json.js';
import type { IngestFailure } from './ingest.js';

// Lines that only frame a `{"runs": [ ... ]}` file written one run per line (as `traindb dev generate` does).
const FRAME_LINES = new Set(['{"runs":[', '{"runs": [', '[', ']}', ']', '']);

/**
 * Streams run nodes from a file with one run per line (JSON lines, or the one-run-per-line
 * `{"runs": [...]}` layout), so an export larger than a JavaScript string can hold (~512 MB) still loads,
 * in constant memory. A line that is not JSON is reported in `failures` with its line number and skipped.
 */
export async function* readRunLines(path: string, failures: IngestFailure[]): AsyncGenerator<unknown> {
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let number = 0;
  for await (const raw of lines) {
    number++;
    const line = raw.trim().replace(/,$/, '');
    if (FRAME_LINES.has(line)) continue;
    try {
      yield JSON.parse(line);
    } catch {
      try {
        yield parseWandbJson(line);
      } catch (error) {
        failures.push({ run: `(line ${number})`, reason: `not valid JSON: ${(error as Error).message}` });
      }
    }
  }
}
