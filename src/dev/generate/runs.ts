/**
 * Synthetic W&B runs shaped like the users' (multi-objective RL for molecular design), in the wire
 * shape of W&B's GraphQL `Run`. Each run is drawn from its own seeded stream, so run i is the same
 * whatever `runs` is, and 100K runs stream out of `iterateRuns` without being held in memory.
 */
import type { WandbRunNode } from '../../core/wandb-run.js';
import { formatWandbTime, parseWandbTime } from '../wandb-time.js';
import { buildTrainingConfig, chooseLearningRate, encodeConfig, GRADIENT_METHODS, wandbInternals } from './config.js';
import type { ConfigContext, GradientMethod } from './config.js';
import { ADJECTIVES, NOUNS, runIdFactory } from './ids.js';
import { chooseObjectives, OBJECTIVE_POOL, objectiveConfig } from './objectives.js';
import type { ObjectiveDef } from './objectives.js';
import { deriveSeed, Random } from './prng.js';
import { buildSummary, buildSystemMetrics } from './summary.js';

export interface GenerateOptions {
  /** How many runs. */
  runs: number;
  /** Same seed, same runs (byte for byte). */
  seed: number;
  entity?: string;
  project?: string;
  /** createdAt of run 0: a Date, epoch ms, or an ISO / W&B timestamp. Default 2025-01-01T00:00:00. */
  startTime?: Date | number | string;
  /** Mean spacing of createdAt between consecutive runs, seconds (default 300). */
  intervalSeconds?: number;
  /** Index of the first run (to extend an existing data set: ids and names continue). Default 0. */
  offset?: number;
}

export const DEFAULT_ENTITY = 'molgen-lab';
export const DEFAULT_PROJECT = 'multiobjective-rl';
export const DEFAULT_START_TIME = '2025-01-01T00:00:00';

/** State mix of the users' runs (weights in percent). */
export const STATE_WEIGHTS: readonly (readonly [string, number])[] = [
  ['finished', 70],
  ['running', 8],
  ['crashed', 8],
  ['failed', 6],
  ['killed', 5],
  ['preempted', 3],
];

const TAGS = [
  'baseline',
  'ablation',
  'sweep',
  'debug',
  'production',
  'v2',
  'dopamine',
  'serotonin',
  'scaffold-hopping',
  'multi-target',
  'moving-targets',
  'long-run',
  'rerun',
  'paper',
  'h100',
  'a100',
] as const;

function toMs(start: GenerateOptions['startTime']): number {
  if (start === undefined) return parseWandbTime(DEFAULT_START_TIME);
  if (start instanceof Date) return start.getTime();
  if (typeof start === 'number') return start;
  const ms = parseWandbTime(start);
  if (Number.isNaN(ms)) throw new RangeError(`startTime is not a timestamp: ${start}`);
  return ms;
}

/** Seconds a run ran (or has run so far) by state: failures tend to die early, finished runs take hours. */
function runtimeFor(state: string, rng: Random): number {
  switch (state) {
    case 'finished':
      return rng.int(3600, 48 * 3600);
    case 'running':
      return rng.int(600, 24 * 3600);
    case 'crashed':
      return rng.int(60, 20 * 3600);
    case 'failed':
      return rng.int(10, 1800);
    case 'killed':
      return rng.int(600, 10 * 3600);
    default:
      return rng.int(1800, 20 * 3600);
  }
}

function hostName(cluster: 'expanse' | 'ec2', rng: Random): string {
  return cluster === 'expanse'
    ? `expanse-gpu-${String(rng.int(1, 52)).padStart(2, '0')}`
    : `ip-10-0-${rng.int(0, 15)}-${rng.int(2, 254)}`;
}

/** W&B's opaque storage id for a run: base64 of "Run:v1:<name>:<project>:<entity>". */
export function wandbRunStorageId(name: string, project: string, entity: string): string {
  return Buffer.from(`Run:v1:${name}:${project}:${entity}`).toString('base64');
}

function generateOne(
  seed: number,
  index: number,
  base: { entity: string; project: string; startMs: number; intervalMs: number; runId: (i: number) => string },
): WandbRunNode {
  const rng = new Random(deriveSeed(seed, index));
  const name = base.runId(index);
  // Strictly increasing createdAt: slot i plus jitter smaller than one slot.
  const createdMs =
    base.startMs + index * base.intervalMs + Math.floor((rng.next() * (base.intervalMs - 1000)) / 1000) * 1000;
  const state = rng.weighted(STATE_WEIGHTS);
  const runtime = runtimeFor(state, rng);
  const heartbeatMs = createdMs + runtime * 1000;
  // Finished runs are sometimes edited later (tags, notes, summary.update()): updatedAt moves, heartbeat does not.
  const updatedMs = heartbeatMs + (rng.chance(0.05) ? rng.int(3600, 30 * 86400) : rng.int(0, 120)) * 1000;

  const gradientMethod: GradientMethod = rng.weighted(
    GRADIENT_METHODS.map((m) => [m, m === 'standard' ? 1 : 2] as const),
  );
  const clusterHost = rng.chance(0.6) ? 'expanse' : 'ec2';
  const createdText = formatWandbTime(createdMs);
  const launchId = rng.chance(0.8) ? `run-${createdText.slice(0, 10).replaceAll('-', '')}-${rng.hex(6)}` : undefined;
  const objectiveDefs = chooseObjectives(rng);
  const equalWeights = rng.chance(0.3);
  const objectives = objectiveDefs.map((d) => objectiveConfig(d, rng, equalWeights));
  const stringLearningRate = rng.chance(0.1);
  const numGpus = rng.weighted([
    [1, 4],
    [2, 3],
    [4, 3],
    [8, 2],
  ] as const);
  const ctx: ConfigContext = {
    gradientMethod,
    clusterHost,
    launchId,
    objectives,
    maxSteps: rng.pick([1000, 2000, 5000, 10000, 20000]),
    // "1e-4"-style strings only exist for round values: PyYAML reads "2.5e-4" as a float.
    learningRate: stringLearningRate
      ? rng.pick([1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 3e-4, 5e-4, 1e-3])
      : chooseLearningRate(rng),
    numGpus,
  };
  const training = buildTrainingConfig(rng, ctx, stringLearningRate);
  const legacy = rng.chance(0.15);
  const config = encodeConfig(training, {
    form: legacy ? 'desc-value' : 'value',
    flattenTraining: rng.chance(0.1),
    wandbInternals: rng.chance(0.7) ? wandbInternals(rng, legacy, createdMs / 1000) : undefined,
    wandbVersionKey: legacy && rng.chance(0.5),
  });

  // What the summary covers: crashed-early runs log no objective metrics; some runs skip one configured
  // objective; ~5% log an objective that is not in their config (added in code, not in the YAML).
  const earlyDeath = (state === 'crashed' || state === 'failed') && rng.chance(0.5);
  let summaryObjectives: ObjectiveDef[] = objectiveDefs.slice();
  if (!earlyDeath && summaryObjectives.length > 3 && rng.chance(0.05))
    summaryObjectives.splice(rng.int(0, summaryObjectives.length - 1), 1);
  if (rng.chance(0.05)) {
    const extra = OBJECTIVE_POOL.filter((d) => !objectiveDefs.includes(d));
    if (extra.length > 0) summaryObjectives = [...summaryObjectives, rng.pick(extra)];
  }
  const progress = state === 'finished' ? 1 : earlyDeath ? rng.float(0, 0.02) : rng.float(0.05, 0.95);
  const scaffoldIds = rng.chance(0.15)
    ? Array.from({ length: rng.int(2, 6) }, () => `scaffold_${String(rng.int(0, 999)).padStart(4, '0')}`)
    : [];
  const emptySummary = state === 'failed' && rng.chance(0.1);
  const summary = emptySummary
    ? {}
    : buildSummary(rng, {
        state,
        objectives: summaryObjectives,
        maxSteps: ctx.maxSteps,
        progress,
        runtimeSeconds: runtime,
        timestamp: heartbeatMs / 1000,
        learningRate: ctx.learningRate,
        gradientMethod,
        earlyDeath,
        nonFinite: rng.chance(0.03),
        scaffoldIds: [...new Set(scaffoldIds)],
      });

  const tagCount = rng.weighted([
    [0, 3],
    [1, 3],
    [2, 3],
    [3, 2],
    [4, 1],
  ] as const);
  const tags = rng.shuffled(TAGS).slice(0, tagCount);
  const inSweep = rng.chance(0.25);
  const sweepName = inSweep ? rng.base36(8) : null;
  const username = rng.pick(['akim', 'jsmith', 'mchen', 'lgarcia', 'priya']);
  const step = typeof summary._step === 'number' ? summary._step : 0;
  return {
    id: wandbRunStorageId(name, base.project, base.entity),
    name,
    displayName: `${rng.pick(ADJECTIVES)}-${rng.pick(NOUNS)}-${index + 1}`,
    state,
    tags,
    group: inSweep
      ? `sweep-${gradientMethod}-${sweepName}`
      : rng.chance(0.5)
        ? `${gradientMethod}-${objectives.length}obj`
        : null,
    jobType: inSweep
      ? 'sweep'
      : rng.weighted([
          ['train', 8],
          ['eval', 1],
          [null, 1],
        ] as const),
    host: hostName(clusterHost, rng),
    notes: rng.chance(0.1)
      ? rng.pick(['OOM at step 3k, retried with grad ckpt', 'looks promising', 'baseline for paper'])
      : null,
    sweepName,
    commit: rng.hex(40),
    createdAt: createdText,
    heartbeatAt: formatWandbTime(heartbeatMs),
    updatedAt: formatWandbTime(updatedMs),
    computeSeconds: runtime * numGpus,
    historyLineCount: step + 1,
    config,
    summaryMetrics: JSON.stringify(summary),
    systemMetrics: JSON.stringify(buildSystemMetrics(rng, numGpus)),
    project: { name: base.project, entityName: base.entity },
    user: { name: username, username },
  };
}

/** Yields runs one at a time (constant memory); createdAt increases with the index. */
export function* iterateRuns(opts: GenerateOptions): Generator<WandbRunNode, void, undefined> {
  if (!Number.isInteger(opts.runs) || opts.runs < 0)
    throw new RangeError(`runs must be a non-negative integer, got ${opts.runs}`);
  const intervalSeconds = opts.intervalSeconds ?? 300;
  if (!(intervalSeconds >= 2))
    throw new RangeError('intervalSeconds must be at least 2 (createdAt has second precision)');
  const base = {
    entity: opts.entity ?? DEFAULT_ENTITY,
    project: opts.project ?? DEFAULT_PROJECT,
    startMs: toMs(opts.startTime),
    intervalMs: Math.round(intervalSeconds) * 1000,
    runId: runIdFactory(opts.seed),
  };
  const first = opts.offset ?? 0;
  for (let i = first; i < first + opts.runs; i++) yield generateOne(opts.seed, i, base);
}

/** All runs in an array: convenient for tests; prefer `iterateRuns` for large counts. */
export function generateRuns(opts: GenerateOptions): WandbRunNode[] {
  return Array.from(iterateRuns(opts));
}
