import { ALL_RUN_COLUMNS } from '../core/columns.js';
import { FilterError, TraindbError } from '../core/errors.js';
import type { AttributeSource } from '../core/normalize/attributes.js';
import type { RunStore } from '../db/store.js';
import type { FieldRef, FilterExpr } from './filter/ast.js';

/** Friendly names for columns whose stored name is W&B-specific. */
const COLUMN_ALIASES: Readonly<Record<string, string>> = {
  entity: 'wandb_entity',
  project: 'wandb_project',
  group: 'wandb_group',
  display_name: 'run_name',
};

/** Fields that look like columns but live in the attribute index (multi-valued). */
const META_FIELDS: ReadonlySet<string> = new Set(['tags']);

/** What a compiled query needs to know about the database: attribute key ids and objective names. */
export interface FieldContext {
  keyIds: ReadonlyMap<string, number>;
}

export function attributeRef(field: FieldRef): { source: AttributeSource; path: string } | null {
  if (field.scope === 'config' || field.scope === 'summary' || field.scope === 'system') {
    return { source: field.scope, path: field.path };
  }
  if (field.scope === 'column' && META_FIELDS.has(field.name)) return { source: 'meta', path: field.name };
  return null;
}

export function keyOf(ref: { source: string; path: string }): string {
  return `${ref.source}\u0000${ref.path}`;
}

/** Canonical column name for a column field, or a FilterError naming the closest real column. */
export function columnName(field: Extract<FieldRef, { scope: 'column' }>, input: string): string {
  // Own properties only: `toString` or `__proto__` must be unknown columns, not Object.prototype's members.
  const name = Object.hasOwn(COLUMN_ALIASES, field.name) ? COLUMN_ALIASES[field.name]! : field.name;
  if (Object.hasOwn(ALL_RUN_COLUMNS, name) || name === 'run_key') return name;
  const hint = closest(name, Object.keys(ALL_RUN_COLUMNS));
  const message = `unknown column '${field.name}'${hint ? `; did you mean '${hint}'?` : ''} (other attributes: config.<path>, summary."<key>", objective.<name>)`;
  // Without filter text (a Mongo object) there is nothing to point into: the message names the key.
  if (input === '') throw new TraindbError('INVALID_FILTER', message, { details: { field: field.name } });
  throw new FilterError(message, input, field.position);
}

export function collectFields(expr: FilterExpr, out: FieldRef[] = []): FieldRef[] {
  switch (expr.kind) {
    case 'and':
    case 'or':
      for (const item of expr.items) collectFields(item, out);
      return out;
    case 'not':
      return collectFields(expr.expr, out);
    default:
      out.push(expr.field);
      return out;
  }
}

/**
 * Resolves every field of a query against the database before any SQL runs: columns must exist,
 * attribute paths must have been seen in at least one run, objectives must be known. A typo is an
 * error with a suggestion, never a silently empty result.
 */
export async function resolveFields(
  store: RunStore,
  fields: readonly FieldRef[],
  input: string,
): Promise<FieldContext> {
  const keyIds = new Map<string, number>();
  const refs = fields.map((f) => ({ field: f, ref: attributeRef(f) }));
  const wanted = refs.flatMap((r) => (r.ref ? [r.ref] : []));
  for (const found of await store.findAttributeKeys(wanted)) keyIds.set(keyOf(found), found.keyId);

  for (const { field, ref } of refs) {
    if (field.scope === 'column' && !ref) columnName(field, input);
    if (ref && !keyIds.has(keyOf(ref))) {
      if (ref.source === 'meta') continue; // no run has tags yet: matches nothing, not an error
      const known = (await store.listAttributeKeys(ref.source)).map((k) => k.path);
      const hint = closest(ref.path, known);
      const field = `${ref.source}.${quotePath(ref.path)}`;
      const suggestion = hint === null ? undefined : `${ref.source}.${quotePath(hint)}`;
      // Each door (CLI, HTTP, web page) adds its own way to list the known keys from `details`.
      throw new TraindbError(
        'UNKNOWN_ATTRIBUTE',
        `no run has ${field}${suggestion ? `; did you mean ${suggestion}?` : ''}`,
        { details: { field, source: ref.source, ...(suggestion ? { suggestion } : {}) } },
      );
    }
    if (field.scope === 'objective') await checkObjective(store, field.name);
  }
  return { keyIds };
}

async function checkObjective(store: RunStore, name: string): Promise<void> {
  const rows = await store.all('SELECT 1 AS found FROM run_objectives WHERE objective_name = ? LIMIT 1', [name]);
  if (rows.length > 0) return;
  const names = (await store.all('SELECT DISTINCT objective_name AS n FROM run_objectives')).map((r) => String(r['n']));
  const hint = closest(name, names);
  throw new TraindbError(
    'UNKNOWN_ATTRIBUTE',
    `no run has objective '${name}'${hint ? `; did you mean '${hint}'?` : ''}`,
    {
      details: {
        field: `objective.${/^[A-Za-z_][\w-]*$/.test(name) ? name : `"${name}"`}`,
        source: 'objective',
        ...(hint ? { suggestion: hint } : {}),
      },
    },
  );
}

function quotePath(path: string): string {
  return /^[A-Za-z_][\w.-]*$/.test(path) ? path : `"${path}"`;
}

/** The candidate with the smallest edit distance, if it is close enough to be a plausible typo. */
export function closest(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
