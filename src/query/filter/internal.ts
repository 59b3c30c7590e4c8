import type { FilterExpr } from './ast.js';

const built = new WeakSet<object>();

/**
 * A filter tree built by traindb's own code (the seed's query functions), as opposed to text or a Mongo
 * object from outside. Only `internalFilter` makes one, and parsed JSON can never be one, so a tree
 * cannot be smuggled in through a query option, the CLI or HTTP. The compiler still checks every node.
 */
export class InternalFilter {
  readonly expr: FilterExpr;

  private constructor(expr: FilterExpr) {
    this.expr = expr;
    built.add(this);
  }

  static of(expr: FilterExpr): InternalFilter {
    return new InternalFilter(expr);
  }

  /** True only for objects made by `internalFilter`, not for look-alikes with the same prototype. */
  static is(value: unknown): value is InternalFilter {
    return typeof value === 'object' && value !== null && built.has(value);
  }
}

export function internalFilter(expr: FilterExpr): InternalFilter {
  return InternalFilter.of(expr);
}
