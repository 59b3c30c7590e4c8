import {
  DEFAULT_PAGE_SIZE,
  MAX_COLUMNS,
  MAX_PAGE_SIZE,
  type CompareRequest,
  type FilterInput,
  type RunsPageRequest,
} from '../app/read-queries.js';
import { splitFieldList } from '../query/field-list.js';
import { HttpError } from './respond.js';

/**
 * The query parameters of a request, each given at most once and each known to the endpoint: a typo
 * (`limt=5`) must not be silently ignored.
 */
export function strictParams(
  search: URLSearchParams,
  endpoint: { method: string; path: string; params?: readonly string[] },
): Map<string, string> {
  const params = new Map<string, string>();
  if (endpoint.params === undefined) return params;
  for (const [key, value] of search) {
    if (!endpoint.params.includes(key)) {
      const expected = endpoint.params.length ? `; expected ${endpoint.params.join(', ')}` : '; it takes none';
      throw new HttpError(400, `unknown parameter ${show(key)} for ${endpoint.method} ${endpoint.path}${expected}`);
    }
    if (params.has(key)) throw new HttpError(400, `parameter ${key} is given more than once; give it once`);
    params.set(key, value);
  }
  return params;
}

export function runsPageParams(params: Map<string, string>): RunsPageRequest {
  const filter = filterParams(params);
  const limit = params.has('limit') ? pageSize(params.get('limit')!) : DEFAULT_PAGE_SIZE;
  const after = params.get('after');
  if (after !== undefined && after === '')
    throw new HttpError(400, 'after is empty; pass the "next" of the previous page, or leave after out for the first');
  return {
    ...(filter ? { filter } : {}),
    ...(params.has('columns') ? { columns: fieldList(params.get('columns')!, 'columns', MAX_COLUMNS) } : {}),
    ...(params.has('order') ? { order: fieldList(params.get('order')!, 'order', MAX_COLUMNS) } : {}),
    limit,
    ...(after !== undefined ? { after } : {}),
    includeDeleted: flag(params, 'include_deleted'),
  };
}

export function compareParams(params: Map<string, string>): CompareRequest {
  const by = params.get('by');
  if (!by) throw new HttpError(400, 'give by=<field> (e.g. by=gradient_method)');
  const objective = params.get('objective');
  const metric = params.get('metric');
  if (!objective && !metric) throw new HttpError(400, 'give objective=<name> or metric=<field>');
  if (objective && metric) throw new HttpError(400, 'give objective= or metric=, not both');
  const filter = filterParams(params);
  return {
    by,
    ...(objective ? { objective } : { metric: metric! }),
    ...(filter ? { filter } : {}),
    includeDeleted: flag(params, 'include_deleted'),
  };
}

/** `where` (the filter language) or `mongo` (a JSON object, checked here so the error names the parameter). */
function filterParams(params: Map<string, string>): FilterInput {
  const where = params.get('where');
  const mongo = params.get('mongo');
  if (where && mongo) throw new HttpError(400, 'give where= or mongo=, not both');
  if (where) return { text: where };
  if (!mongo) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(mongo);
  } catch (error) {
    throw new HttpError(400, `mongo=${show(mongo)} is not JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new HttpError(400, `mongo=${show(mongo)} is not a JSON object; give one such as {"state": "finished"}`);
  return { mongo };
}

function pageSize(text: string): number {
  if (!/^\d{1,15}$/.test(text))
    throw new HttpError(400, `limit=${show(text)} is not a whole number; give 1 to ${MAX_PAGE_SIZE}`);
  const n = Number(text);
  if (n < 1) throw new HttpError(400, `limit=${text} asks for no runs; give 1 to ${MAX_PAGE_SIZE}`);
  if (n > MAX_PAGE_SIZE)
    throw new HttpError(
      400,
      `limit=${text} is above the largest page, ${MAX_PAGE_SIZE}; ask for at most ${MAX_PAGE_SIZE} and follow "next" (pass it as after=) for the following pages`,
    );
  return n;
}

function fieldList(text: string, name: string, max: number): string[] {
  const fields = splitFieldList(text);
  if (fields.length === 0)
    throw new HttpError(
      400,
      `${name} is empty; give field names separated by commas${name === 'columns' ? ', or *' : ''}`,
    );
  if (fields.length > max)
    throw new HttpError(400, `${name} lists ${fields.length} fields; at most ${max} are accepted`);
  return fields;
}

function flag(params: Map<string, string>, name: string): boolean {
  const text = params.get(name);
  if (text === undefined) return false;
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  throw new HttpError(400, `${name}=${show(text)} is not a boolean; give true or false`);
}

/** A value as typed, quoted and cut short so an error message stays readable. */
function show(value: string): string {
  return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);
}
