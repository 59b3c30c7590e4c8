import type { SqlValue } from '../core/columns.js';
import type { FieldRef } from './filter/ast.js';
import { parseFilter } from './filter/parser.js';
import { objectiveStat } from './compile-filter.js';
import { attributeRef, columnName, keyOf, type FieldContext } from './resolve-fields.js';

/** Parses one field reference as the filter language spells it (`batch_size`, `config.a.b`, `objective.X`). */
export function parseField(text: string): FieldRef {
  const expr = parseFilter(`${text} is null`);
  if (expr.kind !== 'null') throw new Error(`not a field: ${text}`);
  return expr.field;
}

/** A scalar SQL expression for a field's value on run `r` (for SELECT, ORDER BY and GROUP BY). */
export function fieldValueSql(field: FieldRef, ctx: FieldContext, input: string, params: SqlValue[]): string {
  const attr = attributeRef(field);
  if (attr) {
    const keyId = ctx.keyIds.get(keyOf(attr));
    if (keyId === undefined) return 'NULL';
    params.push(keyId);
    // Multi-valued attributes (tags) are listed; scalars come back as themselves.
    return attr.source === 'meta'
      ? `(SELECT group_concat(value, ',') FROM run_attributes WHERE run_key = r.run_key AND key_id = ?)`
      : `(SELECT value FROM run_attributes WHERE run_key = r.run_key AND key_id = ? LIMIT 1)`;
  }
  if (field.scope === 'objective') {
    params.push(field.name);
    return `(SELECT ${objectiveStat(field)} FROM run_objectives WHERE run_id = r.run_id AND objective_name = ?)`;
  }
  if (field.scope !== 'column') throw new Error('unreachable');
  return `r.${columnName(field, input)}`;
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
