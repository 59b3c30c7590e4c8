/**
 * The filter language's syntax tree. Both the text language (`batch_size >= 64 and config.x > 4`) and
 * W&B's MongoDB-style filter objects are translated into this one shape; the compiler turns it into SQL.
 */
export type Scalar = string | number | boolean | null;

export type FieldRef =
  /** A column of training_runs, e.g. `batch_size`, `status`, `gradient_method`. */
  | { scope: 'column'; name: string; position: number }
  /** Any attribute of a run's config, summary or system metrics, by dotted path (`training.batch_size`, `train/loss`). */
  | { scope: 'config' | 'summary' | 'system'; path: string; position: number }
  /** One statistic of one objective, e.g. `objective.DRD5_activity` (raw_mean) or `objective."pIC50.DRD1".normalized_mean`. */
  | { scope: 'objective'; name: string; stat: string; position: number };

export type ComparisonOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

export type FilterExpr =
  | { kind: 'and'; items: FilterExpr[] }
  | { kind: 'or'; items: FilterExpr[] }
  | { kind: 'not'; expr: FilterExpr }
  | { kind: 'compare'; field: FieldRef; op: ComparisonOp; value: Scalar; position: number }
  | { kind: 'in'; field: FieldRef; values: Scalar[]; negated: boolean; position: number }
  | { kind: 'like'; field: FieldRef; pattern: string; negated: boolean; position: number }
  /** A regular expression match (W&B's `$regex`, or `~` in the text language); `position` is the pattern's. */
  | { kind: 'regex'; field: FieldRef; pattern: string; position: number }
  | { kind: 'null'; field: FieldRef; negated: boolean; position: number };
