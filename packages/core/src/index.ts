// @spendguard/core: the public API of the rules engine. Adapter authors find the storage-adapter
// interface in '@spendguard/core/adapter', and the conformance suite in '@spendguard/core/testing'.

export type { StorageAdapter } from './adapter/spi.js';
export type { Allocation } from './allocation.js';
export type { CallOptions } from './call-validation.js';
export { isSpendGuardError, SpendGuardError, type SpendGuardErrorCode } from './errors.js';
export type { EventsOptions } from './event-feed.js';
export type {
  AlertEvent,
  DeniedEvent,
  EventsPage,
  FeedEvent,
  FeedEventType,
  OverageEvent,
  ResetEvent,
  SpendGuardEventName,
  SpendGuardEvents,
  TransitionEvent,
} from './events.js';
export type { GrantInfo, GrantOptions } from './grants.js';
export {
  type CheckResult,
  type CommitResult,
  createSpendGuard,
  DEFAULT_TTL_MS,
  type HistoryEntry,
  type Refusal,
  type ReserveResult,
  SpendGuard,
  type SpendGuardOptions,
  type SpendResult,
} from './guard.js';
export { type BudgetMachineEvent, type BudgetSnapshot, budgetMachine } from './machine.js';
export { fromMicros, MAX_AMOUNT, MICROS_PER_UNIT, toMicros } from './money.js';
export type { JournalEntry, UnflushedError } from './offline-journal.js';
export type { PeriodUnit } from './period.js';
export type { Attributes, BudgetDefinition } from './rules.js';
export type { ListenerErrorEvent } from './safe-emitter.js';
export type { BudgetStatus, Pacing } from './status.js';
export { type AlertLevel, DEFAULT_THRESHOLDS, LEVELS, type Level, type Thresholds } from './thresholds.js';
