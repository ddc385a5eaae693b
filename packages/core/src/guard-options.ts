// The options of createSpendGuard, checked once: every mistake is an INVALID_CONFIG that says what to do.

import { DEFAULT_EVENT_RETENTION_MS } from './adapter/feed.js';
import { DEFAULT_RETENTION_MS } from './adapter/record-adapter.js';
import type { StorageAdapter } from './adapter/spi.js';
import { positiveInt } from './call-validation.js';
import { configError } from './error-factories.js';
import type { LeaseSettings } from './leased-allowances.js';
import { toMicros } from './money.js';
import type { AttributePolicy } from './resolver.js';
import type { BudgetDefinition } from './rules.js';
import { isWellFormed } from './unicode.js';

export interface SpendGuardOptions {
  store: StorageAdapter;
  budgets: BudgetDefinition[];
  /** The clock (ms since epoch). Injected in tests; defaults to Date.now. */
  clock?: () => number;
  /** 'deny' (default): an unreachable store refuses. 'allow': admit up to offlineAllowance, journal, replay later. */
  onStoreError?: 'deny' | 'allow';
  /** With onStoreError 'allow' (required there): how much this guard may admit while the store is down (currency units). */
  offlineAllowance?: number;
  /** How many calls the offline journal holds at most, whatever their amounts. Default 10 000. */
  journalLimit?: number;
  /** How often the journal retries the store (ms). Default 1000. */
  replayIntervalMs?: number;
  /** How long idempotency keys and settled reservations are remembered (ms). Default 24 h. */
  retentionMs?: number;
  /** Refuse (INVALID_ATTRIBUTES) attribute names that no budget uses in `per` or `where`. Default false. */
  strictAttributes?: boolean;
  /** Attribute names every call must carry (INVALID_ATTRIBUTES when one is missing). Default []. */
  requiredAttributes?: string[];
  /**
   * Leased allowances: the guard holds a slice (`fraction` of the limit, default 0.01; less near the
   * limit) of each hard budget instance it spends on and admits spends out of it in process, settling
   * with the store at least every `maxHoldMs` (default 1000). See LeasedAllowances.
   */
  lease?: { fraction?: number; maxHoldMs?: number };
  /** How long the durable event feed keeps events (ms). Default 30 days. */
  eventRetentionMs?: number;
}

export interface GuardConfig {
  store: StorageAdapter;
  budgets: BudgetDefinition[];
  clock: () => number;
  /** Micro-units; undefined when an unreachable store refuses. */
  offlineAllowance: number | undefined;
  journalLimit: number;
  replayIntervalMs: number;
  retentionMs: number;
  eventRetentionMs: number;
  attributes: AttributePolicy;
  /** Leased allowances, when asked for. */
  lease: LeaseSettings | undefined;
}

export function guardOptionsOf(options: SpendGuardOptions): GuardConfig {
  if (!options || typeof options !== 'object') throw configError('createSpendGuard needs { store, budgets }.');
  const { store } = options;
  if (!store || typeof store.charge !== 'function' || typeof store.configure !== 'function') {
    throw configError('store must be a storage adapter, e.g. memoryAdapter() from @spendguard/adapter-memory.');
  }
  if (options.clock !== undefined && typeof options.clock !== 'function')
    throw configError('clock must be a function returning ms since the epoch.');
  if (options.onStoreError !== undefined && options.onStoreError !== 'deny' && options.onStoreError !== 'allow') {
    throw configError(`onStoreError must be 'deny' or 'allow'; got ${JSON.stringify(options.onStoreError)}.`);
  }
  let offlineAllowance: number | undefined;
  if (options.onStoreError === 'allow') {
    if (options.offlineAllowance === undefined) {
      throw configError(
        "onStoreError: 'allow' needs offlineAllowance: how much this guard may admit while the store is unreachable, in currency units (e.g. offlineAllowance: 5).",
      );
    }
    try {
      offlineAllowance = toMicros(options.offlineAllowance, 'offlineAllowance');
    } catch (err) {
      throw configError((err as Error).message);
    }
  } else if (options.offlineAllowance !== undefined) {
    throw configError("offlineAllowance applies only with onStoreError: 'allow'.");
  }
  if (options.strictAttributes !== undefined && typeof options.strictAttributes !== 'boolean') {
    throw configError(`strictAttributes must be true or false; got ${String(options.strictAttributes)}.`);
  }
  const required = options.requiredAttributes ?? [];
  if (!Array.isArray(required) || required.some((a) => typeof a !== 'string' || a.length === 0 || !isWellFormed(a))) {
    throw configError('requiredAttributes must be an array of attribute names (non-empty strings), e.g. ["project", "user"].');
  }
  const lease = options.lease === undefined ? undefined : leaseOf(options.lease);
  if (lease && typeof store.lease !== 'function') {
    throw configError(
      `the ${String(store.name)} adapter does not support leases (it has no lease step); remove the lease option or use an adapter that has one.`,
    );
  }

  return {
    store,
    budgets: options.budgets,
    clock: options.clock ?? Date.now,
    offlineAllowance,
    journalLimit: positiveInt(options.journalLimit, 10_000, 'journalLimit'),
    replayIntervalMs: timerMs(options.replayIntervalMs, 1000, 'replayIntervalMs'),
    retentionMs: positiveInt(options.retentionMs, DEFAULT_RETENTION_MS, 'retentionMs'),
    eventRetentionMs: positiveInt(options.eventRetentionMs, DEFAULT_EVENT_RETENTION_MS, 'eventRetentionMs'),
    attributes: { strict: options.strictAttributes === true, required: [...new Set(required)] },
    lease,
  };
}

/** setInterval clamps anything above 2^31 - 1 ms to 1 ms: a long interval would become a busy loop. */
function timerMs(value: unknown, fallback: number, name: string): number {
  const ms = positiveInt(value, fallback, name);
  if (ms > 2 ** 31 - 1) throw configError(`${name} must be at most ${2 ** 31 - 1} ms; got ${ms}.`);
  return ms;
}

function leaseOf(lease: unknown): LeaseSettings {
  const l = lease as { fraction?: unknown; maxHoldMs?: unknown };
  if (lease === null || typeof lease !== 'object') throw configError('lease must be an object: { fraction?, maxHoldMs? }.');
  if (l.fraction !== undefined && (typeof l.fraction !== 'number' || !(l.fraction > 0 && l.fraction <= 1))) {
    throw configError(`lease.fraction must be a number in (0, 1]; got ${String(l.fraction)}.`);
  }
  const maxHoldMs = timerMs(l.maxHoldMs, 1000, 'lease.maxHoldMs');
  // The store presumes a holder dead after 10 × maxHoldMs: that must still be a valid timer.
  if (maxHoldMs * 10 > 2 ** 31 - 1)
    throw configError(`lease.maxHoldMs must be at most ${Math.floor((2 ** 31 - 1) / 10)} ms; got ${maxHoldMs}.`);
  return { fraction: (l.fraction as number | undefined) ?? 0.01, maxHoldMs };
}
