/**
 * The columns of `training_runs` that normalization fills, with their SQL storage class. This is the
 * single list the normalizer, the store's upsert and the filter compiler agree on; the DDL itself lives
 * in the (frozen) migrations.
 */
export type ColumnType = 'text' | 'integer' | 'real' | 'boolean' | 'timestamp' | 'json';

export const RUN_COLUMNS = {
  // Identity
  run_id: 'text',
  wandb_run_id: 'text',
  run_name: 'text',
  wandb_entity: 'text',
  wandb_project: 'text',
  // Timestamps (ISO 8601 UTC with `Z`)
  created_at: 'timestamp',
  started_at: 'timestamp',
  ended_at: 'timestamp',
  duration_seconds: 'integer',
  heartbeat_at: 'timestamp',
  wandb_updated_at: 'timestamp',
  // Status: traindb's lifecycle status, and W&B's raw state beside it
  status: 'text',
  state: 'text',
  // Host / environment / chain of custody
  host: 'text',
  instance_id: 'text',
  config_file_path: 'text',
  chain_of_custody_id: 'text',
  // Extracted hyperparameters (the seed's top 20)
  batch_size: 'integer',
  learning_rate: 'real',
  beta: 'real',
  gradient_method: 'text',
  num_gpus: 'integer',
  num_objectives: 'integer',
  num_scaffolds: 'integer',
  max_steps: 'integer',
  gradient_accumulation_steps: 'integer',
  max_grad_norm: 'real',
  mixed_precision: 'boolean',
  gradient_checkpointing: 'boolean',
  enable_moving_targets: 'boolean',
  n_clusters: 'integer',
  return_groups: 'boolean',
  // Extracted training metrics
  final_loss: 'real',
  final_grad_norm: 'real',
  final_learning_rate: 'real',
  total_training_steps: 'integer',
  // W&B metadata
  tags_json: 'json',
  notes: 'text',
  wandb_group: 'text',
  job_type: 'text',
  sweep_name: 'text',
  wandb_user: 'text',
  // Flexible storage
  config_json: 'json',
  final_metrics_json: 'json',
  system_metrics_json: 'json',
  wandb_internal_json: 'json',
} as const satisfies Record<string, ColumnType>;

export type RunColumn = keyof typeof RUN_COLUMNS;

/** Columns set by people or tools after the fact (attachments, deletion marks); sync never overwrites them. */
export const ANNOTATION_COLUMNS = {
  conversation_s3_key: 'text',
  error_log_s3_key: 'text',
  crash_report_s3_key: 'text',
  crash_analysis_s3_key: 'text',
  blog_post_url: 'text',
} as const satisfies Record<string, ColumnType>;

/** Bookkeeping columns maintained by the store. */
export const AUDIT_COLUMNS = {
  created_at_db: 'timestamp',
  updated_at_db: 'timestamp',
  deleted_at: 'timestamp',
  source_hash: 'text',
} as const satisfies Record<string, ColumnType>;

export const ALL_RUN_COLUMNS: Readonly<Record<string, ColumnType>> = {
  ...RUN_COLUMNS,
  ...ANNOTATION_COLUMNS,
  ...AUDIT_COLUMNS,
};

export type SqlValue = string | number | null;
export type RunRow = { [K in RunColumn]: SqlValue };
