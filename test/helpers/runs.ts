import type { WandbRunNode } from '../../src/core/wandb-run.js';

/** A compact description of a test run; `makeRun` turns it into W&B's wire shape. */
export interface RunSpec {
  name: string;
  state?: string;
  gradient_method?: string;
  batch_size?: number | string;
  learning_rate?: number | string;
  gas?: number;
  launchId?: string;
  host?: string;
  /** objective name → [direction, raw_mean | null (config only), uniprot?] */
  objectives?: Record<string, [string, number | null, string?]>;
  /** summary-only objectives: name → [direction, raw_mean] */
  summaryOnly?: Record<string, [string, number]>;
  loss?: number | string;
  kl?: number;
  tags?: string[];
  createdAt?: string;
  updatedAt?: string;
  legacyWrapper?: boolean;
  flattened?: boolean;
  entity?: string;
  project?: string;
}

export function makeRun(spec: RunSpec): WandbRunNode {
  const training: Record<string, unknown> = {
    batch_size: spec.batch_size ?? 32,
    learning_rate: spec.learning_rate ?? 0.0003,
    gradient_accumulation_steps: spec.gas ?? 1,
    max_steps: 1000,
    optimizer: { name: 'adamw', eps: 1e-8 },
  };
  const objectives = Object.entries(spec.objectives ?? {}).map(([name, [direction, , uniprot]]) => ({
    name,
    alias: `${name}_${direction}`,
    weight: 1,
    direction,
    params: uniprot ? { uniprot } : {},
  }));
  const plain: Record<string, unknown> = {
    gradient_method: spec.gradient_method ?? 'mgda',
    host: spec.host ?? 'expanse',
    reward: { beta: 0.05, enable_moving_targets: true },
    objectives,
    ...(spec.launchId ? { run_id: spec.launchId } : {}),
  };
  const wrap = (v: unknown): unknown => (spec.legacyWrapper ? { desc: null, value: v } : { value: v });
  const config: Record<string, unknown> = { _wandb: wrap({ cli_version: '0.17.0' }), wandb_version: 1 };
  for (const [k, v] of Object.entries(plain)) config[k] = wrap(v);
  if (spec.flattened) for (const [k, v] of Object.entries(training)) config[`training.${k}`] = wrap(v);
  else config['training'] = wrap(training);

  const summary: Record<string, unknown> = {
    _step: 1000,
    _runtime: 3600,
    'train/loss': spec.loss ?? 0.5,
    'train/kl': spec.kl ?? 0.05,
    'train/grad_norm': 1.25,
  };
  for (const [name, [direction, raw]] of Object.entries(spec.objectives ?? {})) {
    if (raw === null) continue;
    summary[`objectives/${name}_${direction}/raw_mean`] = raw;
    summary[`objectives/${name}_${direction}/normalized_mean`] = raw / 2;
    summary[`objectives/${name}_${direction}/pass_rate`] = 0.25;
  }
  for (const [name, [direction, raw]] of Object.entries(spec.summaryOnly ?? {})) {
    summary[`objectives/${name}_${direction}/raw_mean`] = raw;
  }
  return {
    id: `storage-${spec.name}`,
    name: spec.name,
    displayName: `run-${spec.name}`,
    state: spec.state ?? 'finished',
    tags: spec.tags ?? [],
    createdAt: spec.createdAt ?? '2026-03-01T12:00:00',
    heartbeatAt: spec.updatedAt ?? '2026-03-01T13:00:00',
    updatedAt: spec.updatedAt ?? '2026-03-01T13:00:00',
    project: { name: spec.project ?? 'molecule-rl', entityName: spec.entity ?? 'lab' },
    config: JSON.stringify(config),
    summaryMetrics: JSON.stringify(summary),
    systemMetrics: JSON.stringify({ 'system.gpu.0.gpu': 97 }),
  };
}
