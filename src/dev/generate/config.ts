/**
 * Run configs: first the training YAML as the users write it (nested dicts, an `objectives` list), then
 * its W&B wire form (`{"key": {"value": v}}`, legacy `{"desc": null, "value": v}`, or a flattened
 * `training.*` section), because the mirror must accept every form W&B actually serves.
 */
import type { Random } from './prng.js';
import { round } from './prng.js';
import type { ObjectiveConfig } from './objectives.js';

export type GradientMethod = 'mgda' | 'pcgrad' | 'imtlg' | 'aligned_mtl' | 'standard';
export const GRADIENT_METHODS: readonly GradientMethod[] = ['mgda', 'pcgrad', 'imtlg', 'aligned_mtl', 'standard'];

/** Facts about a run that the config must agree with (and that the summary reuses). */
export interface ConfigContext {
  gradientMethod: GradientMethod;
  clusterHost: 'expanse' | 'ec2';
  launchId: string | undefined;
  objectives: ObjectiveConfig[];
  maxSteps: number;
  learningRate: number;
  numGpus: number;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
type Item = readonly [path: string, value: (rng: Random, ctx: ConfigContext) => Json];

/** Learning rates people actually type; a PyYAML file holding `1e-4` (no dot) loads it as a STRING. */
const TYPED_LEARNING_RATES = [1e-5, 2e-5, 3e-5, 5e-5, 1e-4, 2e-4, 3e-4, 5e-4, 1e-3] as const;

export function chooseLearningRate(rng: Random): number {
  return rng.chance(0.7) ? rng.pick(TYPED_LEARNING_RATES) : Number(rng.logUniform(1e-5, 1e-3).toPrecision(3));
}

/** "1e-4" as PyYAML would keep it: the exponent form without a decimal point. */
export function yamlStringLearningRate(lr: number): string {
  const [mantissa = '1', exponent = '-4'] = lr.toExponential().split('e');
  const m = Number(mantissa);
  return `${Number.isInteger(m) ? m : Number(m.toFixed(2))}e${Number(exponent)}`;
}

const CORE: readonly Item[] = [
  ['training.batch_size', (r) => r.pick([16, 32, 64, 128])],
  ['training.learning_rate', (_r, c) => c.learningRate],
  ['training.max_steps', (_r, c) => c.maxSteps],
  ['training.gradient_accumulation_steps', (r) => r.pick([1, 2, 4, 8, 16])],
  ['training.max_grad_norm', (r) => r.pick([0.5, 1.0, 1.0, 2.0, 5.0])],
  ['training.mixed_precision', (r) => r.chance(0.7)],
  ['training.gradient_checkpointing', (r) => r.chance(0.35)],
  ['training.warmup_steps', (r, c) => r.pick([0, 100, 200, 500, Math.round(c.maxSteps * 0.05)])],
  ['training.weight_decay', (r) => r.pick([0, 0.01, 0.01, 0.05, 0.1])],
  ['training.optimizer.name', (r) => r.pick(['adamw', 'adamw', 'adam', 'lion'])],
  [
    'training.optimizer.betas',
    (r) =>
      r.pick([
        [0.9, 0.999],
        [0.9, 0.95],
        [0.95, 0.999],
      ]),
  ],
  ['training.optimizer.eps', (r) => r.pick([1e-8, 1e-8, 1e-6])],
  ['reward.beta', (r) => r.pick([0.01, 0.02, 0.05, 0.1, 0.2, 0.5])],
  ['reward.enable_moving_targets', (r) => r.chance(0.4)],
  ['gradient_method', (_r, c) => c.gradientMethod],
  ['num_gpus', (_r, c) => c.numGpus],
  ['num_scaffolds', (r) => (r.chance(0.5) ? r.int(10, 200) : r.int(10, 1000))],
  ['clustering.n_clusters', (r) => r.pick([5, 10, 20, 50, 100])],
  ['clustering.return_groups', (r) => r.chance(0.6)],
  ['host', (_r, c) => c.clusterHost],
  ['model.name', (r) => r.pick(['chemgpt-19M', 'molgpt-6M', 'reinvent-prior', 'smiles-lstm-3x512', 'safe-gpt-87M'])],
  ['data.dataset', (r) => r.pick(['chembl_33', 'chembl_34', 'zinc250k', 'moses', 'guacamol'])],
];

const OPTIONAL: readonly Item[] = [
  ['training.lr_scheduler', (r) => r.pick(['cosine', 'linear', 'constant', 'cosine_with_restarts'])],
  ['training.seed', (r) => r.pick([0, 1, 42, 1234, r.int(0, 99999)])],
  ['training.num_epochs', (r) => r.int(1, 20)],
  ['training.eval_every', (r) => r.pick([100, 250, 500, 1000])],
  ['training.save_every', (r) => r.pick([500, 1000, 2000, 5000])],
  ['training.log_every', (r) => r.pick([1, 10, 25, 50])],
  ['training.kl_coef', (r) => r.pick([0.0, 0.01, 0.05, 0.1])],
  ['training.clip_range', (r) => r.pick([0.1, 0.2, 0.3])],
  ['training.ppo_epochs', (r) => r.int(1, 8)],
  ['training.num_generations', (r) => r.pick([4, 8, 16, 32])],
  ['training.temperature', (r) => r.pick([0.7, 0.8, 1.0, 1.2])],
  ['training.top_k', (r) => r.pick([0, 20, 50])],
  ['training.top_p', (r) => r.pick([0.9, 0.95, 1.0])],
  ['training.value_loss_coef', (r) => r.pick([0.1, 0.5, 1.0])],
  ['training.entropy_coef', (r) => r.pick([0.0, 0.001, 0.01])],
  ['training.gamma', (r) => r.pick([0.99, 1.0])],
  ['training.gae_lambda', (r) => r.pick([0.9, 0.95, 1.0])],
  ['training.optimizer.amsgrad', (r) => r.chance(0.1)],
  ['training.optimizer.fused', (r) => r.chance(0.5)],
  ['training.lr_scheduler_kwargs.num_cycles', (r) => r.int(1, 4)],
  ['training.min_learning_rate', (r) => r.pick([0, 1e-6, 1e-7])],
  ['training.replay_buffer_size', (r) => r.pick([0, 1000, 5000, 20000])],
  ['training.sample_batch_size', (r) => r.pick([64, 128, 256, 512])],
  ['training.ref_model_update_every', (r) => r.pick([0, 500, 1000])],
  ['training.torch_compile', (r) => r.chance(0.3)],
  ['training.dataloader_pin_memory', (r) => r.chance(0.8)],
  ['reward.moving_target_momentum', (r) => r.pick([0.9, 0.95, 0.99])],
  ['reward.aggregation', (r) => r.pick(['weighted_sum', 'weighted_sum', 'chebyshev', 'geometric_mean', 'hypervolume'])],
  ['reward.normalize', (r) => r.chance(0.8)],
  ['reward.clip_min', (r) => r.pick([-1, 0, -5])],
  ['reward.clip_max', (r) => r.pick([1, 5, 10])],
  ['reward.baseline', (r) => r.pick(['mean', 'ema', 'none', 'leave_one_out'])],
  ['reward.scale', (r) => r.pick([0.5, 1.0, 2.0, 10.0])],
  ['reward.diversity_bonus', (r) => r.pick([0, 0.05, 0.1])],
  ['reward.invalid_penalty', (r) => r.pick([-1.0, -0.5, 0])],
  ['reward.duplicate_penalty', (r) => r.pick([-0.5, -0.1, 0])],
  ['clustering.method', (r) => r.pick(['butina', 'kmeans', 'agglomerative'])],
  ['clustering.similarity_threshold', (r) => r.pick([0.4, 0.6, 0.7])],
  ['clustering.fingerprint', (r) => r.pick(['morgan', 'ecfp4', 'maccs'])],
  ['clustering.radius', (r) => r.pick([2, 3])],
  ['clustering.n_bits', (r) => r.pick([1024, 2048, 4096])],
  ['clustering.recluster_every', (r) => r.pick([0, 500, 1000])],
  ['model.vocab_size', (r) => r.pick([64, 128, 591, 1024])],
  ['model.max_length', (r) => r.pick([100, 128, 256])],
  ['model.hidden_size', (r) => r.pick([256, 512, 768, 1024])],
  ['model.num_layers', (r) => r.pick([3, 4, 6, 8, 12])],
  ['model.num_heads', (r) => r.pick([4, 8, 12, 16])],
  ['model.dropout', (r) => r.pick([0.0, 0.1, 0.2])],
  [
    'model.pretrained_path',
    (r) => `s3://molgen-checkpoints/priors/${r.pick(['chembl', 'zinc', 'moses'])}/step_${r.int(10, 200) * 1000}.pt`,
  ],
  ['model.tokenizer', (r) => r.pick(['smiles', 'selfies', 'safe', 'deepsmiles'])],
  ['model.use_flash_attention', (r) => r.chance(0.5)],
  [
    'data.scaffold_file',
    (r) => `data/scaffolds/${r.pick(['dopamine', 'serotonin', 'catechol', 'mixed'])}_${r.int(1, 9)}.smi`,
  ],
  ['data.train_split', (r) => r.pick([0.8, 0.9, 0.95])],
  ['data.val_split', (r) => r.pick([0.05, 0.1])],
  ['data.num_workers', (r) => r.pick([2, 4, 8, 16])],
  ['data.max_molecules', (r) => r.pick([null, 100000, 500000, 1000000])],
  ['data.canonicalize', (r) => r.chance(0.9)],
  ['data.augment_smiles', (r) => r.chance(0.3)],
  [
    'data.cache_dir',
    (_r, c) => (c.clusterHost === 'expanse' ? '/expanse/lustre/scratch/molgen/cache' : '/mnt/nvme/cache'),
  ],
  ['logging.project', () => 'multiobjective-rl'],
  ['logging.log_every', (r) => r.pick([10, 50, 100])],
  [
    'logging.save_dir',
    (_r, c) => (c.clusterHost === 'expanse' ? '/expanse/projects/molgen/outputs' : '/home/ubuntu/outputs'),
  ],
  ['logging.checkpoint_every', (r) => r.pick([500, 1000, 2500])],
  ['logging.log_molecules', (r) => r.chance(0.5)],
  ['logging.num_molecules_to_log', (r) => r.pick([16, 32, 64, 128])],
  [
    'gradient_method_kwargs.normalization',
    (r, c) => (c.gradientMethod === 'mgda' ? r.pick(['l2', 'loss', 'loss+', 'none']) : null),
  ],
  ['gradient_method_kwargs.update_weights_every', (r) => r.pick([1, 5, 10])],
  ['distributed.backend', () => 'nccl'],
  ['distributed.find_unused_parameters', (r) => r.chance(0.2)],
  ['distributed.world_size', (_r, c) => c.numGpus],
  ['early_stopping.patience', (r) => r.pick([5, 10, 20])],
  ['early_stopping.min_delta', (r) => r.pick([0.0, 0.001, 0.01])],
  ['early_stopping.metric', (r) => r.pick(['eval/reward_mean', 'eval/hypervolume', 'train/loss'])],
  ['eval.num_samples', (r) => r.pick([256, 512, 1024, 4096])],
  ['eval.batch_size', (r) => r.pick([64, 128, 256])],
  ['eval.temperature', (r) => r.pick([0.7, 1.0])],
  ['eval.compute_diversity', (r) => r.chance(0.7)],
  [
    'experiment_name',
    (r, c) =>
      `${c.gradientMethod}-${c.objectives.length}obj-${r.pick(['baseline', 'ablation', 'sweep', 'final', 'debug'])}`,
  ],
  ['notes', (r) => r.pick([null, '', 'rerun after OOM', 'new scaffold set', 'fixed reward normalisation'])],
  ['output_dir', (r, c) => `outputs/${c.launchId ?? `manual-${r.hex(6)}`}`],
  ['num_objectives', (_r, c) => c.objectives.length],
  ['scaffold_sampling.strategy', (r) => r.pick(['uniform', 'cluster_balanced', 'reward_weighted'])],
  ['scaffold_sampling.temperature', (r) => r.pick([0.5, 1.0, 2.0])],
  ['scaffold_sampling.min_per_batch', (r) => r.pick([1, 2, 4])],
];

/** Paths split once at load: splitting ~75 paths per run dominated generation time. */
const splitCache = new Map<string, readonly string[]>();
function splitPath(path: string): readonly string[] {
  let parts = splitCache.get(path);
  if (!parts) splitCache.set(path, (parts = path.split('.')));
  return parts;
}

function setPath(target: JsonObject, path: string, value: Json): void {
  const parts = splitPath(path);
  let node = target;
  for (let i = 0; i < parts.length - 1; i++) {
    const key = parts[i] as string;
    const next = node[key];
    if (next && typeof next === 'object' && !Array.isArray(next)) node = next;
    else node = node[key] = {};
  }
  node[parts[parts.length - 1] as string] = value;
}

/** `count` distinct indexes below `n`, ascending. */
export function chooseSubset(rng: Random, n: number, count: number): Int32Array {
  const all = new Int32Array(n);
  for (let i = 0; i < n; i++) all[i] = i;
  const k = Math.max(0, Math.min(n, count));
  // Partial Fisher-Yates: only the first k slots need to be random.
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rng.next() * (n - i));
    const tmp = all[i] as number;
    all[i] = all[j] as number;
    all[j] = tmp;
  }
  return all.subarray(0, k).sort();
}

/** Leaves of a config: nested dict values recurse, a list counts as one parameter. */
export function countConfigParams(value: unknown): number {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    let n = 0;
    for (const v of Object.values(value)) n += countConfigParams(v);
    return n;
  }
  return 1;
}

/** The run's training YAML as a plain object (50–100 parameters). */
export function buildTrainingConfig(rng: Random, ctx: ConfigContext, stringLearningRate: boolean): JsonObject {
  const cfg: JsonObject = {};
  for (const [path, value] of CORE) setPath(cfg, path, value(rng, ctx));
  if (stringLearningRate) setPath(cfg, 'training.learning_rate', yamlStringLearningRate(ctx.learningRate));
  if (ctx.launchId !== undefined) cfg.run_id = ctx.launchId;
  cfg.objectives = ctx.objectives as unknown as Json;
  const target = rng.int(50, 100);
  const wanted = Math.max(0, target - countConfigParams(cfg));
  // Choose a random subset but insert it in a fixed order: random insertion orders give every run its
  // own V8 hidden classes, which made generation several times slower.
  for (const i of chooseSubset(rng, OPTIONAL.length, wanted)) {
    const [path, value] = OPTIONAL[i] as Item;
    setPath(cfg, path, value(rng, ctx));
  }
  return cfg;
}

export type ConfigWireForm = 'value' | 'desc-value';

export interface WireOptions {
  form: ConfigWireForm;
  /** Log the `training` section as top-level dotted keys (`training.batch_size`), as some users do. */
  flattenTraining: boolean;
  /** The SDK's own `_wandb` entry (its internals; absent from runs created through the API). */
  wandbInternals: JsonObject | undefined;
  /** Old config files start with a bare `wandb_version: 1`. */
  wandbVersionKey: boolean;
}

function flatten(prefix: string, value: Json, out: [string, Json][]): void {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(`${prefix}.${k}`, v, out);
  } else {
    out.push([prefix, value]);
  }
}

/** Wraps every top-level key W&B-style and serialises to the JSON string the GraphQL API returns. */
export function encodeConfig(cfg: JsonObject, opts: WireOptions): string {
  const wire: Record<string, unknown> = {};
  if (opts.wandbVersionKey) wire.wandb_version = 1;
  const wrap = (v: Json): unknown => (opts.form === 'desc-value' ? { desc: null, value: v } : { value: v });
  for (const [key, value] of Object.entries(cfg)) {
    if (key === 'training' && opts.flattenTraining) {
      const flat: [string, Json][] = [];
      flatten('training', value, flat);
      for (const [k, v] of flat) wire[k] = wrap(v);
    } else {
      wire[key] = wrap(value);
    }
  }
  if (opts.wandbInternals) wire._wandb = wrap(opts.wandbInternals);
  return JSON.stringify(wire);
}

/** The `_wandb` value the SDK writes into config (shape copied from real config.yaml files). */
export function wandbInternals(rng: Random, legacy: boolean, startSeconds: number): JsonObject {
  const cli = legacy ? rng.pick(['0.15.12', '0.16.2', '0.16.6']) : rng.pick(['0.17.0', '0.17.0', '0.18.5', '0.19.8']);
  const python = rng.pick(['3.11.4', '3.11.4', '3.10.13', '3.12.2']);
  return {
    cli_version: cli,
    python_version: python,
    framework: 'torch',
    is_jupyter_run: false,
    is_kaggle_kernel: false,
    start_time: round(startSeconds + rng.next(), 6),
    t: {
      '1': [1, 5, 11, 49, 53, 55],
      '2': [1, 5, 11, 49, 53, 55],
      '3': [2, 13, 16, 23, 61],
      '4': python,
      '5': cli,
      '8': [5],
      '13': 'linux-x86_64',
    },
  };
}
