/**
 * Run summaries as W&B serves them: a flat-ish object keyed by logged metric names (`train/loss`,
 * `objectives/<alias>/raw_mean`), W&B's own `_step/_runtime/_timestamp/_wandb`, rich `_type` values,
 * `define_metric` min/max dicts, and non-finite numbers as the strings the server sends.
 */
import type { Random } from './prng.js';
import { round } from './prng.js';
import type { ObjectiveDef } from './objectives.js';
import { objectiveAlias, rawMean, rawStd } from './objectives.js';
import { chooseSubset } from './config.js';

export const OBJECTIVE_STATS = ['raw_mean', 'normalized_mean', 'raw_std', 'normalized_std', 'pass_rate'] as const;

export interface SummaryContext {
  state: string;
  /** Objectives whose metrics appear in the summary (may differ from the config's list). */
  objectives: readonly ObjectiveDef[];
  maxSteps: number;
  /** 0..1: how far training got (finished ≈ 1, crashed early ≈ 0). */
  progress: number;
  runtimeSeconds: number;
  /** Unix seconds of the last logged step. */
  timestamp: number;
  learningRate: number;
  gradientMethod: string;
  /** The run died before logging anything but a few training steps. */
  earlyDeath: boolean;
  /** Inject "NaN"/"Infinity"/"-Infinity" strings (diverged training). */
  nonFinite: boolean;
  /** Scaffolds that get per-scaffold `scaffolds/<id>/<objective>` keys (usually none). */
  scaffoldIds: readonly string[];
}

type Summary = Record<string, unknown>;

/** Extra metrics a training script may log; a run logs a random subset of them to reach 100–150 keys. */
const OPTIONAL_METRICS: readonly (readonly [string, (r: Random, p: number) => number])[] = [
  ['train/entropy', (r) => round(r.float(0.5, 3), 6)],
  ['train/value_loss', (r) => round(r.float(0.01, 1), 6)],
  ['train/policy_loss', (r) => round(r.normal() * 0.1, 6)],
  ['train/clip_fraction', (r) => round(r.float(0, 0.3), 6)],
  ['train/approx_kl', (r) => round(r.float(0, 0.05), 6)],
  ['train/explained_variance', (r) => round(r.float(-0.2, 0.95), 6)],
  ['train/epoch', (r, p) => round(p * r.int(1, 20), 4)],
  ['train/samples_per_second', (r) => round(r.float(50, 2000), 3)],
  ['train/tokens_per_second', (r) => round(r.float(5000, 200000), 1)],
  ['train/gpu_memory_gb', (r) => round(r.float(4, 78), 3)],
  ['train/step_time', (r) => round(r.float(0.1, 4), 4)],
  ['train/reward_std', (r) => round(r.float(0.05, 0.6), 6)],
  ['train/reward_max', (r) => round(r.float(0.6, 1), 6)],
  ['train/reward_min', (r) => round(r.float(-1, 0.2), 6)],
  ['train/advantage_mean', (r) => round(r.normal() * 0.01, 6)],
  ['train/advantage_std', (r) => round(r.float(0.5, 1.5), 6)],
  ['train/ratio_mean', (r) => round(1 + r.normal() * 0.01, 6)],
  ['train/weight_norm', (r) => round(r.float(100, 900), 4)],
  ['eval/reward_std', (r) => round(r.float(0.05, 0.5), 6)],
  ['eval/validity', (r, p) => round(0.7 + 0.29 * p * r.next(), 6)],
  ['eval/uniqueness', (r) => round(r.float(0.6, 1), 6)],
  ['eval/novelty', (r) => round(r.float(0.5, 1), 6)],
  ['eval/internal_diversity', (r) => round(r.float(0.6, 0.92), 6)],
  ['eval/scaffold_diversity', (r) => round(r.float(0.2, 0.8), 6)],
  ['eval/fcd', (r) => round(r.float(0.5, 15), 5)],
  ['eval/snn', (r) => round(r.float(0.3, 0.7), 6)],
  ['eval/num_valid', (r) => r.int(200, 4096)],
  ['eval/num_unique', (r) => r.int(100, 4096)],
  ['eval/time_seconds', (r) => round(r.float(5, 600), 3)],
  ['pareto/hypervolume', (r, p) => round(r.float(0.05, 0.4) + 0.4 * p * r.next(), 6)],
  ['pareto/front_size', (r) => r.int(1, 200)],
  ['pareto/spread', (r) => round(r.float(0, 1), 6)],
  ['pareto/igd', (r) => round(r.float(0.01, 0.5), 6)],
  ['rollout/num_molecules', (r) => r.int(64, 4096)],
  ['rollout/valid_fraction', (r) => round(r.float(0.6, 1), 6)],
  ['rollout/duplicate_fraction', (r) => round(r.float(0, 0.4), 6)],
  ['rollout/mean_length', (r) => round(r.float(25, 70), 4)],
  ['rollout/time_seconds', (r) => round(r.float(1, 60), 4)],
  ['scaffold/coverage', (r) => round(r.float(0.1, 1), 6)],
  ['scaffold/num_active', (r) => r.int(5, 1000)],
  ['scaffold/reward_mean', (r) => round(r.float(0, 1), 6)],
  ['clustering/num_clusters', (r) => r.int(5, 100)],
  ['clustering/silhouette', (r) => round(r.float(-0.1, 0.6), 6)],
  ['clustering/largest_cluster_fraction', (r) => round(r.float(0.05, 0.6), 6)],
  ['moving_targets/shift', (r) => round(r.float(0, 0.3), 6)],
  ['moving_targets/updates', (r) => r.int(0, 50)],
  ['perf/data_time', (r) => round(r.float(0.001, 0.3), 5)],
  ['perf/forward_time', (r) => round(r.float(0.01, 1), 5)],
  ['perf/backward_time', (r) => round(r.float(0.01, 2), 5)],
  ['perf/oracle_time', (r) => round(r.float(0.05, 5), 5)],
  ['perf/gpu_utilization', (r) => round(r.float(20, 100), 2)],
  ['lr_scheduler/last_lr', (r) => Number(r.logUniform(1e-7, 1e-3).toPrecision(4))],
  ['train/lr_group_0', (r) => Number(r.logUniform(1e-6, 1e-3).toPrecision(4))],
  ['train/lr_group_1', (r) => Number(r.logUniform(1e-6, 1e-3).toPrecision(4))],
  ['eval/pass_all_fraction', (r) => round(r.next() ** 2, 6)],
  ['eval/pareto_fraction', (r) => round(r.float(0, 0.3), 6)],
  ...[1, 10, 50, 100].flatMap((k) => [
    [`eval/top${k}_reward`, (r: Random) => round(r.float(0.3, 1), 6)] as const,
    [`eval/top${k}_diversity`, (r: Random) => round(r.float(0.2, 0.9), 6)] as const,
  ]),
  ...['rollout', 'reward', 'backward', 'optimizer', 'eval', 'checkpoint', 'clustering', 'logging'].map(
    (phase) => [`timing/${phase}_seconds`, (r: Random) => round(r.float(0.001, 30), 5)] as const,
  ),
  ...['allocated_gb', 'reserved_gb', 'max_allocated_gb', 'cpu_rss_gb'].map(
    (m) => [`memory/${m}`, (r: Random) => round(r.float(1, 70), 3)] as const,
  ),
  ...[10, 50, 90].map((p) => [`rollout/length_p${p}`, (r: Random) => r.int(15, 90)] as const),
  ['rollout/num_scaffolds_sampled', (r) => r.int(1, 256)],
  ['rollout/unique_scaffolds', (r) => r.int(1, 256)],
  ['train/tokens_seen', (r) => r.int(1e5, 1e9)],
  ['train/samples_seen', (r) => r.int(1e3, 1e7)],
];

function histogram(rng: Random, bins: number, lo: number, hi: number): Record<string, unknown> {
  const values: number[] = [];
  const edges: number[] = [];
  const width = (hi - lo) / bins;
  for (let i = 0; i < bins; i++)
    values.push(Math.max(0, Math.round(40 * Math.exp(-(((i - bins / 2) / (bins / 4)) ** 2)) + rng.int(0, 6))));
  for (let i = 0; i <= bins; i++) edges.push(round(lo + i * width, 6));
  return { _type: 'histogram', values, bins: edges };
}

function objectiveMetrics(out: Summary, def: ObjectiveDef, rng: Random, progress: number): void {
  const prefix = `objectives/${objectiveAlias(def)}`;
  out[`${prefix}/raw_mean`] = rawMean(def.scale, rng, progress);
  out[`${prefix}/normalized_mean`] = round(Math.min(1, Math.max(0, rng.next() ** 1.3 * (0.6 + 0.4 * progress))), 6);
  out[`${prefix}/raw_std`] = rawStd(def.scale, rng);
  out[`${prefix}/normalized_std`] = round(rng.float(0.01, 0.3), 6);
  out[`${prefix}/pass_rate`] = round(rng.next() ** 1.5, 6);
}

const NON_FINITE_TARGETS = ['train/loss', 'train/kl', 'train/grad_norm', 'eval/loss', 'train/reward_mean'] as const;

export function buildSummary(rng: Random, ctx: SummaryContext): Summary {
  const out: Summary = {};
  const step = Math.max(0, Math.round(ctx.maxSteps * ctx.progress));
  out._step = step;
  out._runtime = round(ctx.runtimeSeconds + rng.next(), 6);
  out._timestamp = round(ctx.timestamp + rng.next(), 6);
  out._wandb = { runtime: Math.floor(ctx.runtimeSeconds) };
  out['train/loss'] = round(rng.float(0.05, 2.5) * (1.2 - 0.8 * ctx.progress), 6);
  out['train/learning_rate'] = Number(
    (ctx.learningRate * (ctx.progress > 0.9 ? 0.1 : 1 - 0.5 * ctx.progress)).toPrecision(6),
  );
  out['train/grad_norm'] = round(rng.float(0.1, 5), 6);
  out['train/global_step'] = step;
  if (ctx.earlyDeath) return out;

  out['train/kl'] = round(rng.float(0, 0.2), 6);
  out['train/reward_mean'] = round(rng.float(-0.2, 0.4) + 0.5 * ctx.progress, 6);
  out['train/num_invalid'] = rng.int(0, 50);
  out['gradients/method'] = ctx.gradientMethod;
  for (const def of ctx.objectives) objectiveMetrics(out, def, rng, ctx.progress);
  for (const def of ctx.objectives) {
    if (ctx.gradientMethod !== 'standard') out[`gradients/${objectiveAlias(def)}/weight`] = round(rng.next(), 6);
  }
  // Per-scaffold keys, while the summary stays within the users' 100–150 keys.
  for (const id of ctx.scaffoldIds) {
    for (const def of ctx.objectives.slice(0, 3)) {
      if (Object.keys(out).length < 140) out[`scaffolds/${id}/${def.name}`] = rawMean(def.scale, rng, ctx.progress);
    }
  }

  const running = ctx.state === 'running';
  // A live run has logged only part of what it will; the full set shows up at the end (eval, histograms).
  const target = running ? rng.int(40, 90) : rng.int(100, 150);
  if (!running) {
    out['eval/loss'] = round(rng.float(0.1, 2), 6);
    out['eval/reward_mean'] = {
      min: round(rng.float(-0.5, 0), 6),
      max: round(rng.float(0.5, 1), 6),
      last: round(rng.float(0, 0.9), 6),
    };
    if (rng.chance(0.5)) (out['eval/reward_mean'] as Record<string, number>).mean = round(rng.float(0, 0.6), 6);
    out['rollout/reward_hist'] = histogram(rng, 16, -1, 1);
    out['train/advantage_hist'] = histogram(rng, 16, -3, 3);
  }
  // A random subset, inserted in a fixed order (see chooseSubset).
  for (const i of chooseSubset(rng, OPTIONAL_METRICS.length, target - Object.keys(out).length)) {
    const [key, value] = OPTIONAL_METRICS[i] as (typeof OPTIONAL_METRICS)[number];
    out[key] = value(rng, ctx.progress);
  }
  if (ctx.nonFinite) {
    const forms = ['NaN', 'Infinity', '-Infinity'] as const;
    const n = rng.int(1, 3);
    for (let i = 0; i < n; i++) out[rng.pick(NON_FINITE_TARGETS)] = rng.pick(forms);
  }
  return out;
}

/** The latest `system.*` stats, a small JSON object as W&B keeps for a run. */
export function buildSystemMetrics(rng: Random, numGpus: number): Record<string, number> {
  const out: Record<string, number> = {
    'system.cpu': round(rng.float(2, 95), 2),
    'system.memory': round(rng.float(10, 90), 2),
    'system.disk': round(rng.float(20, 95), 2),
    'system.proc.memory.rssMB': round(rng.float(2000, 60000), 2),
    'system.network.sent': rng.int(1e6, 1e10),
    'system.network.recv': rng.int(1e6, 1e10),
  };
  for (let g = 0; g < Math.min(numGpus, 4); g++) {
    out[`system.gpu.${g}.gpu`] = round(rng.float(0, 100), 2);
    out[`system.gpu.${g}.memory`] = round(rng.float(5, 99), 2);
    out[`system.gpu.${g}.temp`] = round(rng.float(35, 85), 1);
  }
  return out;
}
