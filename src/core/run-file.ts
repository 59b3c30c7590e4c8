import { TraindbError } from './errors.js';
import { isJsonObject, MAX_JSON_DEPTH, parseJsonText } from './json.js';

/**
 * How deep a run node read from a file may be nested. A node wraps its documents in a few levels
 * (`config` → a key → W&B's `{"value": ...}` wrapper), so this sits a little above the documents' own
 * limit, which normalization checks exactly; it keeps a hostile line from reaching code that recurses.
 */
export const MAX_NODE_DEPTH = MAX_JSON_DEPTH + 10;

/** A run node read from a file, or a part of the file that could not be read, named by its position. */
export type RunFileItem = { ok: true; node: unknown } | { ok: false; run: string; reason: string };

/**
 * What a frame of the JSON being scanned means. Runs are the elements of a top-level array, of
 * `{"runs": [...]}`, or the `node` of each edge in a GraphQL response (`data.project.runs.edges`);
 * a top-level object that is none of these is a run itself (a single-run file, or JSON lines).
 */
type Role =
  'top-array' | 'candidate' | 'wrapper' | 'data' | 'project' | 'connection' | 'runs' | 'edges' | 'skip' | 'run';

interface Frame {
  array: boolean;
  role: Role;
  expectKey: boolean;
  key: string | null;
  /** Elements started so far (arrays of runs). */
  count: number;
}

interface Capture {
  /** Stack depth outside the captured value. */
  depth: number;
  pieces: string[];
  /** Where the captured text starts in the current chunk (-1: not in this chunk, or no longer kept). */
  start: number;
  label: string;
  line: number;
  edge: boolean;
  tooDeep: boolean;
  name: string | null;
}

// A string body: anything but a quote, a backslash or a raw newline, or an escape pair.
const STRING_BODY = /(?:[^"\\\n]|\\.)*/y;
// Keys that name a wrapper level or a run's name are short; longer ones are not recorded.
const MAX_KEY = 8;

/**
 * Reads W&B run nodes from an export of any size, fed in chunks: a JSON array, `{"runs": [...]}`, a raw
 * GraphQL `runs` response, one run object, or JSON lines. The format is told from the content, not the
 * file name. Each run's text is parsed on its own, so a bad element or line is reported with its number
 * and the others are still read, and a run nested deeper than `MAX_NODE_DEPTH` fails alone before it is
 * parsed. Memory holds one run at a time.
 */
export class RunFileScanner {
  private readonly stack: Frame[] = [];
  private line = 1;
  private topValues = 0;
  private capture: Capture | null = null;
  private inString = false;
  private escape = false;
  private record: { kind: 'key' | 'name'; text: string } | null = null;
  private skipToNewline = false;
  private out: RunFileItem[] = [];
  private emitted = false;
  /** Whether the current wrapper object held an array of runs (or of GraphQL edges). */
  private foundRuns = false;

  constructor(private readonly maxDepth = MAX_NODE_DEPTH) {}

  feed(chunk: string): RunFileItem[] {
    this.scan(chunk);
    const items = this.out;
    if (items.length > 0) this.emitted = true;
    this.out = [];
    return items;
  }

  end(): RunFileItem[] {
    const c = this.capture;
    if (c) {
      this.captureFailed(c, `not valid JSON: the file ends inside it (started at line ${c.line}): truncated`, '');
    } else if (this.stack.length > 0 || this.inString) {
      this.out.push({ ok: false, run: '(end of file)', reason: 'the file ends before its JSON is closed: truncated' });
    }
    this.stack.length = 0;
    this.capture = null;
    const items = this.out;
    this.out = [];
    return items;
  }

  private scan(chunk: string): void {
    const n = chunk.length;
    const c0 = this.capture;
    if (c0 && !c0.tooDeep) c0.start = 0;
    let i = 0;
    while (i < n) {
      if (this.skipToNewline) {
        const nl = chunk.indexOf('\n', i);
        if (nl < 0) break;
        this.skipToNewline = false;
        this.line++;
        i = nl + 1;
        continue;
      }
      if (this.inString) {
        i = this.scanString(chunk, i);
        continue;
      }
      const ch = chunk.charCodeAt(i);
      if (isBlank(ch)) {
        i++;
        continue;
      }
      if (ch === 10) {
        this.newline(chunk, i);
        i++;
        continue;
      }
      const frame = this.stack[this.stack.length - 1];
      if (ch === 44 /* , */) {
        if (frame && !frame.array) {
          frame.expectKey = true;
          frame.key = null;
        }
        i++;
        continue;
      }
      if (ch === 58 /* : */) {
        if (frame && !frame.array) frame.expectKey = false;
        i++;
        continue;
      }
      if (ch === 123 /* { */ || ch === 91 /* [ */) {
        this.open(i, ch === 91);
        i++;
        continue;
      }
      if (ch === 125 /* } */ || ch === 93 /* ] */) {
        this.close(chunk, i, ch === 93);
        i++;
        continue;
      }
      if (ch === 34 /* " */) {
        this.startString(chunk, i);
        i++;
        continue;
      }
      // A number, true, false, null (or a bare NaN/Infinity) token.
      if (!frame) {
        this.notJson(chunk, i);
        this.fail(chunk, i, `(line ${this.line})`, 'not a JSON object or array');
        continue;
      }
      if (this.capture === null && isRunArray(frame) && this.valueStarts(frame)) {
        frame.count++;
        this.out.push({ ok: false, run: this.elementLabel(frame), reason: 'not a JSON object (a W&B run node)' });
      }
      i = this.skipToken(chunk, i);
    }
    const c = this.capture;
    if (c && !c.tooDeep && c.start >= 0) {
      c.pieces.push(chunk.slice(c.start));
      c.start = 0;
    }
  }

  /**
   * Text before any JSON value (a CSV, a YAML file, an HTML error page) is not an export at all: one
   * clear error instead of a failure for each of its lines.
   */
  private notJson(chunk: string, i: number): void {
    if (this.topValues > 0 || this.emitted || this.capture) return;
    const start = chunk.slice(i, i + 40).split('\n')[0]!;
    throw new TraindbError(
      'INVALID_INPUT',
      `not a W&B export: expected a JSON array of runs, {"runs": [...]}, a GraphQL runs response or JSON lines; line ${this.line} starts with ${JSON.stringify(start)}`,
    );
  }

  /** Whether a value (not a key) starts here in `frame`. */
  private valueStarts(frame: Frame): boolean {
    return frame.array || !frame.expectKey;
  }

  private skipToken(chunk: string, i: number): number {
    let j = i;
    while (j < chunk.length) {
      const ch = chunk.charCodeAt(j);
      if (ch === 44 || ch === 93 || ch === 125 || ch === 10 || ch === 58 || isBlank(ch)) break;
      j++;
    }
    return j;
  }

  private newline(chunk: string, i: number): void {
    // In JSON lines every run is one line: a second value that has not ended at its line's end is broken.
    const c = this.capture;
    if (c && c.depth === 0 && this.topValues > 0) {
      this.captureFailed(
        c,
        'not valid JSON: the line ends before its value does (truncated)',
        chunk.slice(Math.max(c.start, 0), i),
      );
      this.stack.length = 0;
      this.capture = null;
    }
    this.line++;
  }

  private open(i: number, array: boolean): void {
    const parent = this.stack[this.stack.length - 1];
    let role: Role = 'skip';
    if (this.capture) {
      if (parent?.role === 'candidate' && ((parent.key === 'runs' && array) || (parent.key === 'data' && !array))) {
        // `{"runs": [...]}` or `{"data": ...}`: a wrapper, not a run; its runs are read one by one.
        parent.role = 'wrapper';
        this.capture = null;
        role = array ? 'runs' : 'data';
      } else role = 'run';
    } else if (!parent) {
      this.startCapture(i, 0, `(line ${this.line})`, false);
      role = array ? 'top-array' : 'candidate';
      if (array) this.capture = null;
    } else if (isRunArray(parent) && this.valueStarts(parent)) {
      parent.count++;
      this.startCapture(i, this.stack.length, this.elementLabel(parent), parent.role === 'edges');
      role = 'run';
    } else if (!parent.array && !parent.expectKey) role = childRole(parent, array);
    if (role === 'runs' || role === 'edges') this.foundRuns = true;
    this.stack.push({ array, role, expectKey: !array, key: null, count: 0 });
    const c = this.capture;
    if (c && this.stack.length - c.depth > this.maxDepth && !c.tooDeep) {
      // Stop keeping its text: it fails without being parsed, named if its name was seen.
      c.tooDeep = true;
      c.pieces = [];
      c.start = -1;
    }
  }

  private close(chunk: string, i: number, array: boolean): void {
    const frame = this.stack[this.stack.length - 1];
    if (!frame || frame.array !== array) {
      this.fail(
        chunk,
        i,
        this.capture?.label ?? `(line ${this.line})`,
        `unexpected '${array ? ']' : '}'}' at line ${this.line}`,
      );
      return;
    }
    this.stack.pop();
    if (frame.role === 'wrapper' && !this.foundRuns) {
      // A run node has no "data" field: an object with one and no runs in it is not something to skip quietly.
      this.out.push({
        ok: false,
        run: `(line ${this.line})`,
        reason: 'an object with "data" but no data.project.runs.edges: not a GraphQL runs response, and not a run',
      });
    }
    if (frame.role === 'wrapper') this.foundRuns = false;
    const c = this.capture;
    if (c && this.stack.length === c.depth) {
      this.capture = null;
      this.finishCapture(c, chunk.slice(Math.max(c.start, 0), i + 1));
      if (c.depth === 0) this.topValues++;
    } else if (this.stack.length === 0) this.topValues++;
  }

  private startString(chunk: string, i: number): void {
    const frame = this.stack[this.stack.length - 1];
    if (!frame) {
      this.notJson(chunk, i);
      this.fail(chunk, i, `(line ${this.line})`, 'not a JSON object or array');
      return;
    }
    const isKey = !frame.array && frame.expectKey;
    const c = this.capture;
    if (!isKey && c === null && isRunArray(frame)) {
      frame.count++;
      this.out.push({ ok: false, run: this.elementLabel(frame), reason: 'not a JSON object (a W&B run node)' });
    }
    this.record = null;
    if (isKey) {
      const relative = c ? this.stack.length - c.depth : 0;
      if (!c || frame.role === 'candidate' || relative <= 2) this.record = { kind: 'key', text: '' };
    } else if (c && c.name === null && frame.key === 'name' && this.isRunLevel(c)) {
      this.record = { kind: 'name', text: '' };
    }
    this.inString = true;
    this.escape = false;
  }

  private scanString(chunk: string, from: number): number {
    let i = from;
    if (this.escape) {
      this.appendRecord(chunk.slice(i, i + 1));
      this.escape = false;
      i++;
    }
    // The whole body in one native match: exports hold JSON documents as strings, full of escapes.
    STRING_BODY.lastIndex = i;
    STRING_BODY.test(chunk);
    const at = STRING_BODY.lastIndex;
    this.appendRecord(chunk.slice(i, at));
    if (at >= chunk.length) return chunk.length;
    const ch = chunk.charCodeAt(at);
    if (ch === 92 /* \ */) {
      if (at + 1 >= chunk.length) {
        // An escape cut by the chunk boundary: its character comes with the next chunk.
        this.appendRecord('\\');
        this.escape = true;
        return chunk.length;
      }
      this.inString = false;
      this.fail(chunk, at + 1, this.capture?.label ?? `(line ${this.line})`, `line ${this.line} ends inside a string`);
      return at + 1;
    }
    if (ch === 10) {
      this.inString = false;
      this.fail(chunk, at, this.capture?.label ?? `(line ${this.line})`, `line ${this.line} ends inside a string`);
      return at;
    }
    this.inString = false;
    this.endString();
    const c = this.capture;
    // A string element of a run array was reported when it started.
    if (c && this.stack.length === c.depth) {
      this.capture = null;
      this.finishCapture(c, chunk.slice(Math.max(c.start, 0), at + 1));
    }
    return at + 1;
  }

  /** Whether the innermost frame is the run object itself (an edge's `node`, for a GraphQL response). */
  private isRunLevel(c: Capture): boolean {
    const relative = this.stack.length - c.depth;
    return c.edge ? relative === 2 && this.stack[this.stack.length - 2]!.key === 'node' : relative === 1;
  }

  private appendRecord(text: string): void {
    const r = this.record;
    if (r && r.text.length <= 256) r.text += text;
  }

  private endString(): void {
    const r = this.record;
    this.record = null;
    const frame = this.stack[this.stack.length - 1];
    if (!frame) return;
    if (!frame.array && frame.expectKey) frame.key = r && r.kind === 'key' && r.text.length <= MAX_KEY ? r.text : null;
    else if (r?.kind === 'name' && this.capture && this.capture.name === null) {
      try {
        const name = JSON.parse(`"${r.text}"`) as string;
        if (name.trim() !== '') this.capture.name = name;
      } catch {
        // A name that is not a valid string literal stays unknown.
      }
    }
  }

  private startCapture(i: number, depth: number, label: string, edge: boolean): void {
    this.capture = { depth, pieces: [], start: i, label, line: this.line, edge, tooDeep: false, name: null };
  }

  /** Named by the run's name when it was seen, its position always said. */
  private failed(c: Capture, reason: string): void {
    const where = c.label.slice(1, -1);
    this.out.push(
      c.name === null ? { ok: false, run: c.label, reason } : { ok: false, run: c.name, reason: `${where}: ${reason}` },
    );
  }

  private finishCapture(c: Capture, tail: string): void {
    if (c.tooDeep) {
      this.failed(
        c,
        `nested more than ${this.maxDepth} levels deep; traindb reads runs up to ${this.maxDepth} levels and stores documents up to ${MAX_JSON_DEPTH}`,
      );
      return;
    }
    const text = c.pieces.length === 0 ? tail : c.pieces.join('') + tail;
    let value: unknown;
    try {
      value = parseJsonText(text);
    } catch (error) {
      if (c.depth === 0 && this.topValues === 0 && text.includes('\n') && this.splitLines(text, c.line)) return;
      this.failed(c, `not valid JSON (${(error as Error).message})`);
      return;
    }
    const node = c.edge ? (isJsonObject(value) ? value['node'] : undefined) : value;
    if (c.edge && node === undefined) this.failed(c, 'a GraphQL edge without "node"');
    // Checked here, where the run's position is known, so the failure says where it is.
    else if (!isJsonObject(node)) this.failed(c, 'not a JSON object (a W&B run node)');
    else if (typeof node['name'] !== 'string' || node['name'].trim() === '')
      this.failed(c, `the run has no "name" (W&B's run id)`);
    else this.out.push({ ok: true, node });
  }

  /**
   * The first value of a file spanned lines and did not parse: if its lines parse one by one, the file is
   * JSON lines whose first line is broken. Returns false (nothing emitted) when no line parses alone.
   */
  private splitLines(text: string, firstLine: number): boolean {
    const items: RunFileItem[] = [];
    let parsed = 0;
    text.split('\n').forEach((raw, k) => {
      const line = raw.trim();
      if (line === '') return;
      try {
        items.push({ ok: true, node: parseJsonText(line) });
        parsed++;
      } catch (error) {
        items.push({
          ok: false,
          run: `(line ${firstLine + k})`,
          reason: `not valid JSON (${(error as Error).message})`,
        });
      }
    });
    if (parsed === 0) return false;
    this.out.push(...items);
    this.topValues++;
    return true;
  }

  private captureFailed(c: Capture, reason: string, tail: string): void {
    const text = c.tooDeep ? '' : c.pieces.join('') + tail;
    if (c.depth === 0 && this.topValues === 0 && text.includes('\n') && this.splitLines(text, c.line)) return;
    this.failed(c, reason);
  }

  /**
   * Reports the value being read as broken and resynchronizes at the next line: inside an array of runs,
   * the array goes on (one run per line is the usual layout of big exports); at the top level, the next
   * line is read as a new value (JSON lines).
   */
  private fail(chunk: string, i: number, label: string, reason: string): void {
    const c = this.capture;
    if (c) this.captureFailed(c, `not valid JSON: ${reason}`, chunk.slice(Math.max(c.start, 0), i));
    else this.out.push({ ok: false, run: label, reason: `not valid JSON: ${reason}` });
    this.capture = null;
    this.inString = false;
    this.record = null;
    let keep = 0;
    for (let k = this.stack.length - 1; k >= 0; k--) {
      if (isRunArray(this.stack[k]!)) {
        keep = k + 1;
        break;
      }
    }
    this.stack.length = keep;
    // Failing at a newline, the scan goes on from it (the next line is the next value).
    this.skipToNewline = chunk.charCodeAt(i) !== 10;
  }

  private elementLabel(frame: Frame): string {
    return frame.role === 'edges' ? `(edge ${frame.count})` : `(element ${frame.count})`;
  }
}

function isBlank(ch: number): boolean {
  return ch === 32 || ch === 9 || ch === 13;
}

function isRunArray(frame: Frame): boolean {
  return frame.role === 'top-array' || frame.role === 'runs' || frame.role === 'edges';
}

function childRole(parent: Frame, array: boolean): Role {
  const key = parent.key;
  switch (parent.role) {
    case 'wrapper':
      if (key === 'runs' && array) return 'runs';
      if (key === 'data' && !array) return 'data';
      return 'skip';
    case 'data':
      return key === 'project' && !array ? 'project' : 'skip';
    case 'project':
      return key === 'runs' && !array ? 'connection' : 'skip';
    case 'connection':
      return key === 'edges' && array ? 'edges' : 'skip';
    default:
      return 'skip';
  }
}

/**
 * Reads run nodes from the whole text of an export (see `RunFileScanner`). Throws on the first part that
 * cannot be read; `traindb ingest` streams the file instead and reports such parts as failures.
 */
export function parseRunFile(text: string, fileName = 'input'): unknown[] {
  const scanner = new RunFileScanner();
  const items = [...scanner.feed(text), ...scanner.end()];
  const nodes: unknown[] = [];
  for (const item of items) {
    if (!item.ok) throw new TraindbError('INVALID_INPUT', `${fileName}: ${item.run}: ${item.reason}`);
    nodes.push(item.node);
  }
  return nodes;
}
