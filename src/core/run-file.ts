import { TraindbError } from './errors.js';
import { isJsonObject, parseWandbJson } from './json.js';

/**
 * Reads W&B run nodes from the text of an export: a JSON array, `{"runs": [...]}`, a raw GraphQL
 * response (`{"data": {"project": {"runs": {"edges": [{"node": ...}]}}}}`), or JSON lines.
 * Items are returned unvalidated: normalization reports a bad one with its id and reason.
 */
export function parseRunFile(text: string, fileName = 'input'): unknown[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  let whole: unknown;
  try {
    whole = parseLenient(trimmed);
  } catch {
    return parseJsonLines(trimmed, fileName);
  }
  if (Array.isArray(whole)) return whole;
  if (isJsonObject(whole)) {
    if (Array.isArray(whole['runs'])) return whole['runs'];
    const edges = (whole as { data?: { project?: { runs?: { edges?: unknown } } } }).data?.project?.runs?.edges;
    if (Array.isArray(edges)) return edges.map((e) => (isJsonObject(e) ? e['node'] : e));
    if (typeof whole['name'] === 'string') return [whole];
  }
  throw new TraindbError(
    'INVALID_INPUT',
    `${fileName}: expected a JSON array of W&B runs, {"runs": [...]}, a GraphQL runs response, or JSON lines`,
  );
}

function parseJsonLines(text: string, fileName: string): unknown[] {
  const out: unknown[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    try {
      out.push(parseLenient(line));
    } catch (error) {
      throw new TraindbError('INVALID_INPUT', `${fileName}:${i + 1}: not valid JSON (${(error as Error).message})`);
    }
  }
  return out;
}

/** Standard JSON first (fast, exact); W&B's bare NaN/Infinity tokens only if that fails. */
function parseLenient(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return parseWandbJson(text);
  }
}
