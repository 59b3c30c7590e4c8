import type { ExtractionMap } from '../core/normalize/extraction.js';

/** Everything traindb is configured with, read once by `loadConfig` and frozen. */
export interface TraindbConfig {
  /** SQLite path or database URL. */
  database: string;
  /** Config key whose value is the launch id (becomes run_id). */
  launchIdKey: string;
  extraction: ExtractionMap;
  wandb: WandbSettings;
  /** `entity/project` pairs the daemon and `backfill` default to. */
  projects: ReadonlyArray<{ entity: string; project: string }>;
}

export interface WandbSettings {
  baseUrl: string;
  /** Never logged, never printed: see `describeConfig`. */
  apiKey: string | undefined;
  pageSize: number;
  requestsPerSecond: number;
  timeoutMs: number;
}

export const DEFAULT_DATABASE = 'traindb.sqlite';
export const DEFAULT_WANDB_BASE_URL = 'https://api.wandb.ai';
