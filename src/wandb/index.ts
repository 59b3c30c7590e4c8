export { createWandbClient, DEFAULT_BASE_URL } from './client.js';
export { WandbError, isWandbError, type WandbErrorCode } from './errors.js';
export { decodeOffsetCursor, offsetCursor } from './paginate.js';
export type {
  ListRunsArgs,
  PoisonRun,
  ProjectArgs,
  RunFilters,
  RunsPage,
  WandbClient,
  WandbClientEvent,
  WandbClientOptions,
  WandbClientStats,
  WandbOperation,
  WandbViewer,
} from './types.js';
