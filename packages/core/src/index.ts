// @spendguard/core: the public API of the rules engine.
export type { Allocation } from './allocation.js';
export { isSpendGuardError, SpendGuardError, type SpendGuardErrorCode } from './errors.js';
export type {
  AlertEvent,
  DeniedEvent,
  OverageEvent,
  ResetEvent,
  SpendGuardEventName,
  SpendGuardEvents,
  TransitionEvent,
} from './events.js';
export {
  type CallOptions,
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
export { escapeValue, instanceKey, instanceName, parseInstanceName, unescapeValue } from './instance-name.js';
export { type BudgetMachineEvent, type BudgetSnapshot, budgetMachine, LevelStepper } from './machine.js';
export { fromMicros, MAX_AMOUNT, MICROS_PER_UNIT, toMicros } from './money.js';
export { type Period, PeriodClock, type PeriodSpec, type PeriodUnit, periodAt, previousPeriod } from './period.js';
export type { Attributes, BudgetDefinition } from './rules.js';
export type { BudgetStatus, Pacing } from './status.js';
export type {
  ChargeOutcome,
  ChargeRequest,
  HistoryRequest,
  InstanceRef,
  InstanceTotals,
  LedgerEntry,
  LimitsSnapshot,
  SetLimitOutcome,
  SetLimitRequest,
  SettleOutcome,
  SettleRequest,
  StorageAdapter,
} from './store.js';
export { addToDay, effectiveLimit } from './store-helpers.js';
export { type AlertLevel, DEFAULT_THRESHOLDS, LEVELS, type Level, levelFor, type Thresholds } from './thresholds.js';
