/**
 * Run files for `dev generate` / `dev wandb-emulator --data`: `{"runs":[...]}` (also a bare array) or
 * JSON lines. Writing streams with backpressure, so 100K generated runs never sit in memory as one string.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { WandbRunNode } from '../core/wandb-run.js';
import type { IngestFailure } from '../jobs/ingest.js';
import { readRunFile } from '../jobs/read-run-lines.js';

/**
 * Streams runs as `{"runs":[...]}` (one run per line inside the array, so large files can be read back
 * line by line) or as JSON lines. A reader that goes away (EPIPE, e.g. `| head`) ends the output quietly.
 */
export async function writeRuns(
  out: Writable,
  runs: Iterable<WandbRunNode>,
  format: 'json' | 'jsonl',
): Promise<number> {
  let failure: NodeJS.ErrnoException | undefined;
  const onError = (error: NodeJS.ErrnoException): void => {
    failure = error;
  };
  out.on('error', onError);
  const write = async (text: string): Promise<void> => {
    if (failure || out.write(text)) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        out.off('drain', done);
        out.off('close', done);
        out.off('error', done);
        resolve();
      };
      out.on('drain', done);
      out.on('close', done);
      out.on('error', done);
    });
  };
  let n = 0;
  if (format === 'json') await write('{"runs":[');
  for (const run of runs) {
    if (failure) break;
    const line = JSON.stringify(run);
    await write(format === 'json' ? `${n === 0 ? '\n' : ',\n'}${line}` : `${line}\n`);
    n++;
  }
  if (format === 'json' && !failure) await write('\n]}\n');
  // The error listener stays: a late EPIPE from stdout must not become an unhandled 'error' event.
  if (failure && failure.code !== 'EPIPE') throw failure;
  return n;
}

function asNode(value: unknown, where: string): WandbRunNode {
  if (!value || typeof value !== 'object' || typeof (value as { name?: unknown }).name !== 'string') {
    throw new Error(`${where}: a run must be an object with a string "name"`);
  }
  return value as WandbRunNode;
}

/** Above this size a file is read line by line: V8 strings cannot exceed ~512 MB (100K runs ≈ 900 MB). */
const WHOLE_FILE_LIMIT = 200 * 1024 * 1024;

/**
 * Reads runs from `{"runs":[...]}`, a bare array, or JSON lines. Small files are parsed whole (any
 * layout); large ones must have one run per line: JSON lines, or the layout `dev generate` writes.
 */
export async function* streamRuns(
  path: string,
  wholeFileLimit = WHOLE_FILE_LIMIT,
): AsyncGenerator<WandbRunNode, void, undefined> {
  if (statSync(path).size <= wholeFileLimit && !/\.(jsonl|ndjson)$/i.test(path)) {
    const text = readFileSync(path, 'utf8');
    let parsed: unknown;
    let isJson = true;
    try {
      parsed = JSON.parse(text);
    } catch {
      isJson = false;
    }
    if (isJson) {
      const list = Array.isArray(parsed) ? parsed : (parsed as { runs?: unknown } | null)?.runs;
      if (!Array.isArray(list)) throw new Error(`${path}: expected {"runs": [...]}, an array of runs, or JSON lines`);
      for (let i = 0; i < list.length; i++) yield asNode(list[i], `${path}: runs[${i}]`);
      return;
    }
  }
  // One run per line: the same reader `traindb ingest` uses, but the emulator's data must be whole, so
  // the first unreadable line is an error rather than a reported failure.
  const failures: IngestFailure[] = [];
  const fail = (f: IngestFailure): never => {
    throw new Error(`${path}: ${f.run}: ${f.reason}; large files need one run per line (use --jsonl)`);
  };
  let n = 0;
  for await (const value of readRunFile(path, failures)) {
    if (failures[0]) fail(failures[0]);
    yield asNode(value, `${path}: run ${++n}`);
  }
  if (failures[0]) fail(failures[0]);
}

export async function readRuns(path: string): Promise<WandbRunNode[]> {
  const runs: WandbRunNode[] = [];
  for await (const run of streamRuns(path)) runs.push(run);
  return runs;
}

/** Groups runs by the project they name (`project: {name, entityName}`), defaulting to the given one. */
export function groupByProject(
  runs: Iterable<WandbRunNode>,
  entity: string,
  project: string,
): Map<string, { entity: string; project: string; runs: WandbRunNode[] }> {
  const groups = new Map<string, { entity: string; project: string; runs: WandbRunNode[] }>();
  for (const run of runs) {
    const e = run.project?.entityName ?? entity;
    const p = run.project?.name ?? project;
    const key = `${e}/${p}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { entity: e, project: p, runs: [] }));
    g.runs.push(run);
  }
  return groups;
}
