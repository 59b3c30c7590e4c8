import type { SqlValue } from '../core/columns.js';
import type { FieldRef } from './filter/ast.js';
import { parseFieldRef } from './filter/parser.js';
import { objectiveStat } from './compile-filter.js';
import { attributeRef, columnName, type FieldContext } from './resolve-fields.js';

/** Parses one field reference as the filter language spells it (`batch_size`, `config.a.b`, `objective.X`). */
export function parseField(text: string): FieldRef {
  const field = parseFieldRef(text);
  // Checked here, so an unknown column's message shows this field's text, not the filter's.
  if (field.scope === 'column' && !attributeRef(field)) columnName(field, text);
  return field;
}

/** A scalar SQL expression for a field's value on run `r` (for SELECT, ORDER BY and GROUP BY). */
export function fieldValueSql(field: FieldRef, _ctx: FieldContext, input: string, params: SqlValue[]): string {
  const attr = attributeRef(field);
  if (attr) {
    // The attribute index is clustered by (path, value), built to find runs, not to read one run's value:
    // a run's own value comes from its JSON, which is cheap for the rows a query returns.
    if (attr.source === 'meta') return `(SELECT group_concat(value, ',') FROM json_each(r.tags_json))`;
    const column = { config: 'config_json', summary: 'final_metrics_json', system: 'system_metrics_json' }[attr.source];
    const nested = jsonPath(attr.path.split('.'));
    if (attr.source === 'system') {
      // W&B's keys are `system.cpu`; the index and the filter path drop that prefix (`system.cpu`).
      params.push(jsonPath([`system.${attr.path}`]), jsonPath([attr.path]), nested);
      return `coalesce(json_extract(r.${column}, ?), json_extract(r.${column}, ?), json_extract(r.${column}, ?))`;
    }
    if (attr.source === 'config' || !attr.path.includes('.')) {
      params.push(nested);
      return `json_extract(r.${column}, ?)`;
    }
    // A summary key may itself contain dots ("objectives/pIC50.DRD1_maximize/raw_mean"): try it whole first.
    params.push(jsonPath([attr.path]), nested);
    return `coalesce(json_extract(r.${column}, ?), json_extract(r.${column}, ?))`;
  }
  if (field.scope === 'objective') {
    params.push(field.name);
    return `(SELECT ${objectiveStat(field)} FROM run_objectives WHERE run_id = r.run_id AND objective_name = ?)`;
  }
  if (field.scope !== 'column') throw new Error('unreachable');
  return `r.${columnName(field, input)}`;
}

function jsonPath(segments: readonly string[]): string {
  return `$${segments.map((s) => `."${s.replace(/"/g, '')}"`).join('')}`;
}

/** The label a field gets as a result column: what the user typed. */
export function fieldLabel(field: FieldRef): string {
  switch (field.scope) {
    case 'column':
      return field.name;
    case 'objective':
      return field.stat === 'raw_mean' ? `objective.${field.name}` : `objective.${field.name}.${field.stat}`;
    default:
      return `${field.scope}.${field.path}`;
  }
}
