export { startWandbEmulator } from './server.js';
export type {
  WandbEmulator,
  WandbEmulatorOptions,
  FaultSpec,
  FaultKind,
  FaultOptions,
  RateLimitOptions,
  EmulatorHooks,
  EmulatorLogLevel,
  EmulatorStats,
  PageInfoForHook,
  PageRecord,
  ProjectSeed,
  RequestInfo,
} from './types.js';
export type { RunPatch, UpdateOptions } from './store.js';
export type { SweepSeed } from './sweeps.js';
export { TESTED_SDK_VERSION } from './server-info.js';
export { offsetToCursor, cursorToOffset } from './cursors.js';
export { DEFAULT_RANDOM_FAULTS } from './faults.js';
export { loadWandbSchema, findSchemaFile } from './schema.js';
