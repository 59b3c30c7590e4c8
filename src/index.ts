/**
 * traindb as a library: open a database, ingest W&B runs, query them.
 *
 *   import { openStore, queryRuns, queryRunsByObjectives, findRuns, compareGroups } from 'traindb';
 */
export { openStore, type OpenedStore } from './db/open-store.js';
export type { RunStore, UpsertOutcome, UpsertResult, Row } from './db/store.js';
export { normalizeRun, type NormalizedRun, type NormalizeOptions } from './core/normalize/run.js';
export { DEFAULT_EXTRACTION, resolveExtraction, type ExtractionMap } from './core/normalize/extraction.js';
export type { WandbRunNode } from './core/wandb-run.js';
export { TraindbError, FilterError, isBadInput, type TraindbErrorCode } from './core/errors.js';
export { parseFilter } from './query/filter/parser.js';
export { mongoToFilter } from './query/filter/mongo.js';
export {
  findRuns,
  findRunsPage,
  findAllRuns,
  iterateRuns,
  countRuns,
  explainRuns,
  compileRunQuery,
  type FindRunsOptions,
  type FindRunsPageOptions,
  type RunPage,
} from './query/find-runs.js';
export { queryRuns, queryRunsByObjectives, type RunFilters, type ObjectiveBounds } from './query/seed-api.js';
export { compareGroups, type CompareOptions, type GroupStats } from './query/compare.js';
export { ingestNodes, readRunNodes, type IngestSummary } from './jobs/ingest.js';
