/**
 * The emulator's in-memory W&B: projects keyed by entity/project, each holding run nodes in insertion
 * order. Nodes are normalised on the way in to what the API serves (JSON strings, zone-less UTC
 * timestamps, project reference, storage id), so resolvers can hand them out unchanged.
 */
import type { WandbRunNode } from '../../core/wandb-run.js';
import { wandbRunStorageId } from '../generate/runs.js';
import { formatWandbTime, parseWandbTime, toWandbTime } from '../wandb-time.js';
import { compileFilters } from './filters.js';
import { RunDoc } from './fields.js';
import { parseOrder, sortDocs } from './order.js';
import { collectSweeps, normalizeSweepSeed } from './sweeps.js';
import type { SweepRecord, SweepSeed } from './sweeps.js';

export interface StoredProject {
  entity: string;
  name: string;
  internalId: number;
  createdAt: string;
  /** Bumped on every change; the query cache is keyed on it. */
  version: number;
  runs: Map<string, WandbRunNode>;
  /** Sweeps seeded explicitly; runs' sweepNames add the others (see sweeps.ts). */
  sweeps: Map<string, SweepSeed>;
}

export type RunPatch = Partial<Omit<WandbRunNode, 'name'>>;

export interface UpdateOptions {
  /**
   * Advance heartbeatAt too. Default: when the run is alive after the edit (running/pending/preempting)
   * or the patch changes state or summaryMetrics; a tag or notes edit on a finished run moves only updatedAt.
   */
  touchHeartbeat?: boolean;
}

const ALIVE = new Set(['running', 'pending', 'preempting']);
const QUERY_CACHE_SIZE = 16;

function jsonString(value: unknown): string | null | undefined {
  if (value === undefined || value === null) return value;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function wandbTime(value: string | null | undefined): string | null | undefined {
  return typeof value === 'string' ? toWandbTime(value) : value;
}

export class RunStore {
  private readonly projects = new Map<string, StoredProject>();
  private readonly queryCache = new Map<string, WandbRunNode[]>();
  private readonly sweepCache = new WeakMap<StoredProject, { version: number; sweeps: SweepRecord[] }>();
  private nextInternalId = 1;

  constructor(private readonly now: () => number = Date.now) {}

  private static key(entity: string, project: string): string {
    return `${entity}\u0000${project}`;
  }

  getProject(entity: string, project: string): StoredProject | undefined {
    return this.projects.get(RunStore.key(entity, project));
  }

  listProjects(): StoredProject[] {
    return [...this.projects.values()];
  }

  private ensureProject(entity: string, project: string): StoredProject {
    const key = RunStore.key(entity, project);
    let p = this.projects.get(key);
    if (!p) {
      p = {
        entity,
        name: project,
        internalId: this.nextInternalId++,
        createdAt: formatWandbTime(this.now()),
        version: 0,
        runs: new Map(),
        sweeps: new Map(),
      };
      this.projects.set(key, p);
    }
    return p;
  }

  private normalize(node: WandbRunNode, p: StoredProject): WandbRunNode {
    if (!node || typeof node.name !== 'string' || node.name === '')
      throw new TypeError('a run node needs a non-empty string name');
    const createdAt = wandbTime(node.createdAt) ?? formatWandbTime(this.now());
    return {
      ...node,
      id: node.id ?? wandbRunStorageId(node.name, p.name, p.entity),
      createdAt,
      updatedAt: wandbTime(node.updatedAt) ?? createdAt,
      heartbeatAt: wandbTime(node.heartbeatAt) ?? createdAt,
      config: jsonString(node.config),
      summaryMetrics: jsonString(node.summaryMetrics),
      systemMetrics: jsonString(node.systemMetrics),
      project: { name: p.name, entityName: p.entity },
    };
  }

  private touch(p: StoredProject): void {
    p.version++;
    this.queryCache.clear();
  }

  /** Creates the project if needed; a run whose name already exists is replaced. */
  addRuns(entity: string, project: string, nodes: Iterable<WandbRunNode>): void {
    const p = this.ensureProject(entity, project);
    for (const node of nodes) {
      const n = this.normalize(node, p);
      p.runs.set(n.name, n);
    }
    this.touch(p);
  }

  /** Replaces the project's runs (creating the project; an empty list leaves an empty project). */
  setProject(entity: string, project: string, nodes: Iterable<WandbRunNode>): void {
    const p = this.ensureProject(entity, project);
    p.runs.clear();
    for (const node of nodes) {
      const n = this.normalize(node, p);
      p.runs.set(n.name, n);
    }
    this.touch(p);
  }

  /** Adds or replaces sweeps (creating the project). */
  setSweeps(entity: string, project: string, sweeps: Iterable<SweepSeed>): void {
    const p = this.ensureProject(entity, project);
    for (const seed of sweeps) {
      const s = normalizeSweepSeed(seed);
      p.sweeps.set(s.name, s);
    }
    this.touch(p);
  }

  /** The project's sweeps, seeded and run-derived (recomputed after any change to the project). */
  listSweeps(p: StoredProject): SweepRecord[] {
    const hit = this.sweepCache.get(p);
    if (hit && hit.version === p.version) return hit.sweeps;
    const sweeps = collectSweeps(p.sweeps, p.runs.values(), p.createdAt);
    this.sweepCache.set(p, { version: p.version, sweeps });
    return sweeps;
  }

  removeProject(entity: string, project: string): boolean {
    const deleted = this.projects.delete(RunStore.key(entity, project));
    this.queryCache.clear();
    return deleted;
  }

  /**
   * Edits a run as W&B would record it: fields in `patch` replace the stored ones, and updatedAt (and
   * heartbeatAt, see UpdateOptions) advance to now, or one second past their previous value when the
   * clock is behind the data, so an edit always moves them forward.
   */
  updateRun(
    entity: string,
    project: string,
    name: string,
    patch: RunPatch | ((node: WandbRunNode) => RunPatch),
    opts: UpdateOptions = {},
  ): WandbRunNode {
    const p = this.getProject(entity, project);
    const current = p?.runs.get(name);
    if (!p || !current) throw new Error(`no run ${entity}/${project}/${name}`);
    const changes = typeof patch === 'function' ? patch(current) : patch;
    const merged = this.normalize({ ...current, ...changes, name }, p);
    const bump = (prev: string | null | undefined): string => {
      const prevMs = prev ? parseWandbTime(prev) : Number.NaN;
      return formatWandbTime(Number.isNaN(prevMs) ? this.now() : Math.max(this.now(), prevMs + 1000));
    };
    if (changes.updatedAt === undefined) merged.updatedAt = bump(current.updatedAt);
    const touchHeartbeat =
      opts.touchHeartbeat ?? (ALIVE.has(merged.state ?? '') || 'state' in changes || 'summaryMetrics' in changes);
    if (changes.heartbeatAt === undefined && touchHeartbeat) merged.heartbeatAt = bump(current.heartbeatAt);
    p.runs.set(name, merged);
    this.touch(p);
    return merged;
  }

  deleteRun(entity: string, project: string, name: string): boolean {
    const p = this.getProject(entity, project);
    if (!p || !p.runs.delete(name)) return false;
    this.touch(p);
    return true;
  }

  getRun(entity: string, project: string, name: string): WandbRunNode | undefined {
    return this.getProject(entity, project)?.runs.get(name);
  }

  /**
   * The runs matching `filters`, sorted by `order`. Cached per project version, so paging through a
   * large project filters and sorts once, yet any change is seen by the very next page (which is what
   * shifts offset cursors on the real server).
   */
  query(p: StoredProject, filters: unknown, order: string | null | undefined): WandbRunNode[] {
    const cacheKey = `${RunStore.key(p.entity, p.name)}\u0000${p.version}\u0000${typeof filters === 'string' ? filters : JSON.stringify(filters ?? null)}\u0000${order ?? ''}`;
    const hit = this.queryCache.get(cacheKey);
    if (hit) return hit;
    const predicate = compileFilters(filters);
    const spec = parseOrder(order);
    const docs: RunDoc[] = [];
    for (const node of p.runs.values()) {
      const doc = new RunDoc(node);
      if (predicate(doc)) docs.push(doc);
    }
    const result = sortDocs(docs, spec).map((d) => d.node);
    if (this.queryCache.size >= QUERY_CACHE_SIZE) {
      const oldest = this.queryCache.keys().next();
      if (!oldest.done) this.queryCache.delete(oldest.value);
    }
    this.queryCache.set(cacheKey, result);
    return result;
  }
}
