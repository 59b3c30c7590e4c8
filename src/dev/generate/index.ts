export {
  generateRuns,
  iterateRuns,
  wandbRunStorageId,
  DEFAULT_ENTITY,
  DEFAULT_PROJECT,
  DEFAULT_START_TIME,
  STATE_WEIGHTS,
} from './runs.js';
export type { GenerateOptions } from './runs.js';
export { OBJECTIVE_POOL, objectiveAlias } from './objectives.js';
export type { ObjectiveDef, ObjectiveConfig, Direction } from './objectives.js';
export { OBJECTIVE_STATS } from './summary.js';
export { mulberry32, Random } from './prng.js';
