/** Real-HTTP helpers for the emulator tests: every call goes over a socket to the started server. */
import { request } from 'undici';
import type { WandbEmulator } from '../../src/dev/emulator/index.js';

export interface GqlResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test assertions walk arbitrary JSON
  body: any;
}

export function basicAuth(key: string, user = 'api'): string {
  return `Basic ${Buffer.from(`${user}:${key}`).toString('base64')}`;
}

export interface GqlOptions {
  key?: string | null;
  operationName?: string;
  headers?: Record<string, string>;
  /** Send this raw body instead of {query, variables, operationName}. */
  rawBody?: string;
}

export async function gql(
  emu: WandbEmulator,
  query: string,
  variables: Record<string, unknown> = {},
  opts: GqlOptions = {},
): Promise<GqlResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...opts.headers };
  const key = opts.key === undefined ? emu.apiKey : opts.key;
  if (key !== null) headers.authorization = basicAuth(key);
  const res = await request(`${emu.url}/graphql`, {
    method: 'POST',
    headers,
    body:
      opts.rawBody ??
      JSON.stringify({
        query,
        variables,
        ...(opts.operationName !== undefined ? { operationName: opts.operationName } : {}),
      }),
  });
  const text = await res.body.text();
  let body: unknown = undefined;
  try {
    body = JSON.parse(text);
  } catch {
    // Non-JSON bodies (502/503 pages) stay available as text.
  }
  return { status: res.statusCode, headers: res.headers, text, body };
}

export const RUNS_PAGE = `query ListRuns($entity: String!, $project: String!, $filters: JSONString, $order: String, $first: Int, $after: String) {
  project(name: $project, entityName: $entity) {
    runs(filters: $filters, order: $order, first: $first, after: $after) {
      totalCount
      edges { cursor node { name createdAt updatedAt heartbeatAt state config summaryMetrics } }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;

export const RUN_NAMES_PAGE = `query Names($entity: String!, $project: String!, $filters: JSONString, $order: String, $first: Int, $after: String) {
  project(name: $project, entityName: $entity) {
    runs(filters: $filters, order: $order, first: $first, after: $after) {
      totalCount
      edges { cursor node { name } }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;

/** Follows endCursor until hasNextPage is false; returns the names in the order served. */
export async function pageAll(
  emu: WandbEmulator,
  vars: { entity: string; project: string; filters?: string; order?: string; first?: number },
  onPage?: (i: number) => void | Promise<void>,
): Promise<string[]> {
  const names: string[] = [];
  let after: string | null = null;
  for (let i = 0; ; i++) {
    await onPage?.(i);
    const res = await gql(emu, RUN_NAMES_PAGE, { first: 50, ...vars, after });
    if (res.status !== 200 || res.body.errors) throw new Error(`page ${i}: ${res.status} ${res.text}`);
    const runs = res.body.data.project.runs;
    for (const e of runs.edges) names.push(e.node.name);
    if (!runs.pageInfo.hasNextPage) return names;
    after = runs.pageInfo.endCursor;
  }
}
