/**
 * One W&B run as the GraphQL API returns it (see shared W&B notes and src/wandb/schema.graphql).
 * `config`, `summaryMetrics` and `systemMetrics` are JSON *strings*; timestamps are UTC without a zone
 * designator. Everything except `name` may be absent: files exported by hand carry what they carry.
 */
export interface WandbRunNode {
  id?: string;
  /** The run id (what the W&B UI calls "Run ID"), e.g. "a1b2c3d4". */
  name: string;
  displayName?: string | null;
  state?: string | null;
  tags?: string[] | null;
  group?: string | null;
  jobType?: string | null;
  host?: string | null;
  notes?: string | null;
  description?: string | null;
  sweepName?: string | null;
  commit?: string | null;
  createdAt?: string | null;
  updatedAt?: string | null;
  heartbeatAt?: string | null;
  computeSeconds?: number | null;
  historyLineCount?: number | null;
  config?: string | Record<string, unknown> | null;
  summaryMetrics?: string | Record<string, unknown> | null;
  systemMetrics?: string | Record<string, unknown> | null;
  project?: { name?: string | null; entityName?: string | null } | null;
  user?: { name?: string | null; username?: string | null } | null;
}

/** Where a run lives in W&B; one traindb database can hold several projects. */
export interface WandbProjectRef {
  entity: string;
  project: string;
}
