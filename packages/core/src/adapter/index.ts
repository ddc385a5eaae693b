// @spendguard/core/adapter: what an adapter author needs: the storage-adapter interface (SPI), and the
// shared algorithm that a JavaScript adapter runs over its own synchronous records, and the group commit of an asynchronous store.
export { BatchQueue, MAX_BATCH } from './batch-queue.js';
export { addToDay } from './day-total.js';
export { activeGrants, carriedIn } from './effective-limit.js';
export { crossesMark, DEFAULT_EVENT_RETENTION_MS, type FactNote, factNumber, factOf, isForecastClaim, mayCauseEvents } from './feed.js';
export {
  createRecordAdapter,
  DEFAULT_HISTORY_RETENTION_MS,
  DEFAULT_RETENTION_MS,
  type RecordAdapterOptions,
} from './record-adapter.js';
export type { LeaseRecord, PeriodRecord, Records, RememberedKey, ReservationRecord, ReservationState } from './records.js';
export type * from './spi.js';
