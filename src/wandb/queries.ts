/**
 * GraphQL query text. Only fields present in `schema.graphql` (the emulator validates against it;
 * test/wandb/queries.test.ts checks these queries against it).
 * The heavy fields (config, summaryMetrics, systemMetrics) are inside the page query: one request
 * per page, never one per run (the N+1 trap of the official client since 2025).
 */
const RUN_FIELDS = `
        id
        name
        displayName
        state
        tags
        group
        jobType
        host
        notes
        sweepName
        commit
        createdAt
        updatedAt
        heartbeatAt
        computeSeconds
        historyLineCount
        config
        summaryMetrics
        systemMetrics
        user {
          username
        }`;

export const LIST_RUNS_QUERY = `query ListRuns($entity: String!, $project: String!, $filters: JSONString, $order: String, $first: Int, $after: String) {
  project(name: $project, entityName: $entity) {
    name
    entityName
    runs(filters: $filters, order: $order, first: $first, after: $after) {
      edges {
        node {${RUN_FIELDS}
        }
        cursor
      }
      pageInfo {
        endCursor
        hasNextPage
      }
    }
  }
}`;

/** Light query for one position of a listing: used to name a run whose full page query keeps failing. */
export const PROBE_RUN_QUERY = `query ProbeRun($entity: String!, $project: String!, $filters: JSONString, $order: String, $after: String) {
  project(name: $project, entityName: $entity) {
    runs(filters: $filters, order: $order, first: 1, after: $after) {
      edges {
        node {
          name
        }
        cursor
      }
    }
  }
}`;

export const COUNT_RUNS_QUERY = `query CountRuns($entity: String!, $project: String!, $filters: JSONString) {
  project(name: $project, entityName: $entity) {
    runCount(filters: $filters)
  }
}`;

export const VIEWER_QUERY = `query Viewer {
  viewer {
    id
    username
    name
    entity
  }
}`;

export const ALL_QUERIES = { LIST_RUNS_QUERY, PROBE_RUN_QUERY, COUNT_RUNS_QUERY, VIEWER_QUERY } as const;
