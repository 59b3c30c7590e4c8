/**
 * GraphQL resolvers over the store, as plain objects for graphql-js' default field resolver: a property
 * is a value, a method receives (args, context). Only what schema.graphql declares is reachable, since
 * every query is validated first.
 */
import type { WandbRunNode } from '../../core/wandb-run.js';
import { checkCounts, decodeCursor, sliceConnection } from './connection.js';
import type { ConnectionArgs } from './connection.js';
import { compileFilters } from './filters.js';
import { serverInfo } from './server-info.js';
import type { RunStore, StoredProject } from './store.js';
import { sweepKey } from './sweeps.js';
import type { SweepRecord } from './sweeps.js';
import type { PageInfoForHook } from './types.js';

/** Per-request state shared by the resolvers. */
export interface ResolverContext {
  store: RunStore;
  defaultEntity: string;
  maxPageSize: number;
  /** Names of runs included in this request's answer (for poison-run faults). */
  served: Set<string>;
  /** Names of runs whose heavy fields (config, summaryMetrics, systemMetrics, historyKeys) were resolved. */
  servedHeavy: Set<string>;
  beforePage: (info: Omit<PageInfoForHook, 'pageIndex'>) => Promise<void>;
  recordPage: (page: {
    entity: string;
    project: string;
    offset: number;
    requested: number | null;
    returned: number;
  }) => void;
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

function restrictKeys(
  json: string | Record<string, unknown> | null | undefined,
  keys: readonly string[] | null | undefined,
): string | null {
  if (json === null || json === undefined) return null;
  const text = typeof json === 'string' ? json : JSON.stringify(json);
  if (!keys) return text;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return text;
  const out: Record<string, unknown> = {};
  for (const k of keys) if (Object.hasOwn(parsed, k)) out[k] = (parsed as Record<string, unknown>)[k];
  return JSON.stringify(out);
}

function entityView(name: string): { id: string; name: string; isTeam: boolean } {
  return { id: b64(`Entity:${name}`), name, isTeam: true };
}

function userView(user: WandbRunNode['user']): { id: string; name: string; username: string | null } | null {
  if (!user || (!user.name && !user.username)) return null;
  const username = user.username ?? user.name ?? '';
  return { id: b64(`User:${username}`), name: user.name ?? username, username: user.username ?? null };
}

export class RunView {
  constructor(
    private readonly node: WandbRunNode,
    private readonly projectView: ProjectView,
  ) {}

  get id(): string {
    return this.node.id ?? b64(`Run:v1:${this.node.name}`);
  }
  get name(): string {
    return this.node.name;
  }
  get displayName(): string | null {
    return this.node.displayName ?? null;
  }
  get projectId(): number {
    return this.projectView.internalNumber;
  }
  get project(): ProjectView {
    return this.projectView;
  }
  get state(): string | null {
    return this.node.state ?? null;
  }
  get tags(): string[] | null {
    return this.node.tags ?? null;
  }
  get group(): string | null {
    return this.node.group ?? null;
  }
  get jobType(): string | null {
    return this.node.jobType ?? null;
  }
  get sweepName(): string | null {
    return this.node.sweepName ?? null;
  }
  get sweep(): SweepView | null {
    const s = this.node.sweepName;
    return s ? this.projectView.findSweep(s) : null;
  }
  get commit(): string | null {
    return this.node.commit ?? null;
  }
  get host(): string | null {
    return this.node.host ?? null;
  }
  get description(): string | null {
    return this.node.description ?? null;
  }
  get notes(): string | null {
    return this.node.notes ?? null;
  }
  get readOnly(): boolean {
    return false;
  }
  get createdAt(): string {
    return this.node.createdAt ?? '';
  }
  get updatedAt(): string | null {
    return this.node.updatedAt ?? null;
  }
  get heartbeatAt(): string | null {
    return this.node.heartbeatAt ?? null;
  }
  get computeSeconds(): number {
    return this.node.computeSeconds ?? 0;
  }
  get historyLineCount(): number | null {
    return this.node.historyLineCount ?? null;
  }
  get user(): ReturnType<typeof userView> {
    return userView(this.node.user);
  }

  systemMetrics(_args: unknown, ctx: ResolverContext): string | null {
    ctx.servedHeavy.add(this.node.name);
    return restrictKeys(this.node.systemMetrics, null);
  }

  config(args: { keys?: string[] | null }, ctx: ResolverContext): string | null {
    ctx.servedHeavy.add(this.node.name);
    return restrictKeys(this.node.config, args.keys);
  }

  summaryMetrics(args: { keys?: string[] | null }, ctx: ResolverContext): string | null {
    ctx.servedHeavy.add(this.node.name);
    return restrictKeys(this.node.summaryMetrics, args.keys);
  }

  /** W&B's shape: {"lastStep": n, "keys": {"<metric>": {"typeCounts": [{"type": ..., "count": ...}]}}}. */
  historyKeys(_args: unknown, ctx: ResolverContext): unknown {
    ctx.servedHeavy.add(this.node.name);
    const text = restrictKeys(this.node.summaryMetrics, null);
    let summary: Record<string, unknown> = {};
    try {
      const parsed: unknown = text ? JSON.parse(text) : {};
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) summary = parsed as Record<string, unknown>;
    } catch {
      // An unparseable summary has no known keys.
    }
    const count = this.node.historyLineCount ?? 1;
    const keys: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(summary)) {
      if (k.startsWith('_wandb')) continue;
      const type =
        v === null
          ? 'nil'
          : Array.isArray(v)
            ? 'list'
            : typeof v === 'object'
              ? String((v as { _type?: unknown })._type ?? 'map')
              : typeof v;
      keys[k] = { typeCounts: [{ type, count }] };
    }
    return { lastStep: typeof summary._step === 'number' ? summary._step : count - 1, keys };
  }
}

interface RunsArgs extends ConnectionArgs {
  filters?: unknown;
  order?: string | null;
}

/** A sweep of a project; the record is computed by the store (seeded or derived from runs). */
export class SweepView {
  constructor(
    private readonly s: SweepRecord,
    private readonly projectView: ProjectView,
  ) {}

  get id(): string {
    return b64(`Sweep:${this.projectView.internalId}:${this.s.name}`);
  }
  get name(): string {
    return this.s.name;
  }
  get displayName(): string | null {
    return this.s.displayName;
  }
  get method(): string {
    return this.s.method;
  }
  get state(): string {
    return this.s.state;
  }
  get description(): string | null {
    return this.s.description;
  }
  get bestLoss(): number | null {
    return this.s.bestLoss;
  }
  get config(): string {
    return this.s.config;
  }
  get createdAt(): string {
    return this.s.createdAt;
  }
  get updatedAt(): string | null {
    return this.s.updatedAt;
  }
  get runCount(): number {
    return this.s.runCount;
  }
  get runCountExpected(): number | null {
    return this.s.runCountExpected;
  }
}

export class ProjectView {
  constructor(
    private readonly p: StoredProject,
    private readonly store: RunStore,
  ) {}

  get internalNumber(): number {
    return this.p.internalId;
  }
  get id(): string {
    return b64(`Project:${this.p.internalId}`);
  }
  get internalId(): string {
    return String(this.p.internalId);
  }
  get name(): string {
    return this.p.name;
  }
  get entityName(): string {
    return this.p.entity;
  }
  get entity(): ReturnType<typeof entityView> {
    return entityView(this.p.entity);
  }
  get createdAt(): string {
    return this.p.createdAt;
  }
  get updatedAt(): string {
    return this.p.createdAt;
  }
  get readOnly(): boolean {
    return false;
  }
  get isBenchmark(): boolean {
    return false;
  }
  /** W&B's project owner; the emulator does not model users beyond runs' authors. */
  get user(): null {
    return null;
  }
  get totalSweeps(): number {
    return this.store.listSweeps(this.p).length;
  }

  findSweep(name: string): SweepView | null {
    const record = this.store.listSweeps(this.p).find((s) => s.name === name);
    return record ? new SweepView(record, this) : null;
  }

  sweep(args: { sweepName: string }): SweepView | null {
    return this.findSweep(args.sweepName);
  }

  sweeps(args: ConnectionArgs & { filters?: unknown }, ctx: ResolverContext): unknown {
    const predicate = compileFilters(args.filters, sweepKey);
    const all = this.store.listSweeps(this.p).filter((s) => predicate(s));
    const { edges, pageInfo } = sliceConnection(all, args, ctx.maxPageSize, (s) => new SweepView(s, this));
    return { edges, pageInfo };
  }

  runCount(args: { filters?: unknown }, ctx: ResolverContext): number {
    return ctx.store.query(this.p, args.filters, null).length;
  }

  async runs(args: RunsArgs, ctx: ResolverContext): Promise<unknown> {
    checkCounts(args);
    const after = args.after ? decodeCursor(args.after, 'after') + 1 : 0;
    await ctx.beforePage({
      entity: this.p.entity,
      project: this.p.name,
      offset: after,
      first: args.first ?? null,
      filters: typeof args.filters === 'string' ? args.filters : null,
      order: args.order ?? null,
    });
    // Evaluated after the hook, against the store as it is now: edits between pages shift offsets.
    const all = ctx.store.query(this.p, args.filters, args.order);
    const { edges, pageInfo, start } = sliceConnection(all, args, ctx.maxPageSize, (node) => new RunView(node, this));
    for (const node of all.slice(start, start + edges.length)) ctx.served.add(node.name);
    ctx.recordPage({
      entity: this.p.entity,
      project: this.p.name,
      offset: start,
      requested: args.first ?? null,
      returned: edges.length,
    });
    return { totalCount: all.length, edges, pageInfo };
  }

  run(args: { name: string }, ctx: ResolverContext): RunView | null {
    const node = this.p.runs.get(args.name);
    if (!node) return null;
    ctx.served.add(node.name);
    return new RunView(node, this);
  }
}

export function createRootValue(): Record<string, unknown> {
  return {
    project(args: { name?: string | null; entityName?: string | null }, ctx: ResolverContext): ProjectView | null {
      if (!args.name) return null;
      const p = ctx.store.getProject(args.entityName ?? ctx.defaultEntity, args.name);
      return p ? new ProjectView(p, ctx.store) : null;
    },
    /** api.projects(entity): the entity's projects in creation order. */
    models(args: ConnectionArgs & { entityName?: string | null }, ctx: ResolverContext): unknown {
      const entity = args.entityName ?? ctx.defaultEntity;
      const all = ctx.store.listProjects().filter((p) => p.entity === entity);
      const { edges, pageInfo } = sliceConnection(all, args, ctx.maxPageSize, (p) => new ProjectView(p, ctx.store));
      return { edges, pageInfo };
    },
    serverInfo: () => serverInfo(),
    viewer(_args: { entityName?: string | null }, ctx: ResolverContext): unknown {
      const entities = [...new Set(ctx.store.listProjects().map((p) => p.entity))];
      return {
        id: b64('User:emulator'),
        name: 'W&B Emulator',
        username: 'emulator',
        email: 'emulator@localhost',
        entity: ctx.defaultEntity,
        admin: false,
        deletedAt: null,
        flags: '{}',
        apiKeys: { edges: [] },
        teams: () => ({ edges: entities.map((e) => ({ node: entityView(e) })) }),
      };
    },
  };
}
