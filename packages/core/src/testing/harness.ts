// What the conformance suite needs from an adapter package, and the guards it builds over one store.
import { onTestFinished } from 'vitest';
import type { StorageAdapter } from '../adapter/spi.js';
import { createSpendGuard, type SpendGuard, type SpendGuardOptions } from '../guard.js';
import type { BudgetDefinition } from '../rules.js';
import { ManualClock } from './manual-clock.js';

/** What a test may ask of the store it creates. */
export interface CreateOptions {
  /** How long a period's totals stay after the period ends: the adapter's own `historyRetentionMs` option. */
  historyRetentionMs?: number;
}

export interface ConformanceOptions {
  /** A fresh, empty store (its own file, key prefix or database), honouring `options` when given. */
  create: (options?: CreateOptions) => StorageAdapter | Promise<StorageAdapter>;
  /**
   * Another connection to the store behind `adapter`, as a second process would open it.
   * Without it, guards share the one adapter object.
   */
  connect?: (adapter: StorageAdapter) => StorageAdapter | Promise<StorageAdapter>;
  /** fast-check runs per property (default 60); lower it for slow stores. */
  numRuns?: number;
  /** Per-test timeout in ms (default 60 000). */
  timeout?: number;
  /**
   * How many records the store behind `adapter` holds now (rows, keys, entries of its queues): enables
   * the growth tests, which need a store that forgets by the caller's clock (not `serverClock`).
   */
  footprint?: (adapter: StorageAdapter) => number | Promise<number>;
  /** false: the adapter keeps no event feed (StorageAdapter.feed), so the feed tests do not apply. */
  feed?: boolean;
  /** false: the adapter has no lease step (StorageAdapter.lease), so the leased-allowance tests do not apply. */
  leases?: boolean;
  /** How far the growth tests go (defaults: 20 000 keys, 5 000 instances). */
  scale?: {
    /** Distinct budget keys driven over simulated days. */
    keys?: number;
    /** Instances that status() and setLimit(rule) page over. */
    instances?: number;
  };
}

export interface Fixture {
  clock: ManualClock;
  store: StorageAdapter;
  /** The connections the guards use, one per guard (or the one store, shared). */
  stores: StorageAdapter[];
  guards: SpendGuard[];
  guard: SpendGuard;
  close(): Promise<void>;
}

export const NOV_2026 = Date.parse('2026-11-10T12:00:00Z');

/**
 * `count` guards with the same budgets over one store (separate connections where the adapter has them).
 * The stores are closed when the test finishes, whatever happens in it; close() may also be called early.
 */
export async function fixture(
  options: ConformanceOptions,
  budgets: BudgetDefinition[],
  count = 1,
  extra: Partial<SpendGuardOptions> = {},
  clock = new ManualClock(NOV_2026),
  createOptions?: CreateOptions,
): Promise<Fixture> {
  const store = await options.create(createOptions);
  const stores: StorageAdapter[] = [store];
  for (let i = 1; i < count; i++) stores.push(options.connect ? await options.connect(store) : store);
  const guards = stores.map((s) => createSpendGuard({ store: s, budgets, clock: clock.now, ...extra }));
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      for (const s of new Set(stores)) await s.close();
    })();
    return closing;
  };
  onTestFinished(close);
  return { clock, store, stores, guards, guard: guards[0] as SpendGuard, close };
}

/** Status numbers back to exact micro-units for comparisons. */
export const micros = (amount: number): number => Math.round(amount * 1e6);
