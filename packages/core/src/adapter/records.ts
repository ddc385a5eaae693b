// The small synchronous record interface that the shared adapter algorithm runs on: memory implements
// it with Maps, SQLite with prepared statements. Every call happens inside one atomic step.
import type { FeedFact, Grant, InstancePage, InstanceRef, LedgerEntry } from './spi.js';

/** One instance's totals in one period. */
export interface PeriodRecord {
  used: number;
  /** Held: reservations and leased slices. */
  reserved: number;
  /** The part of `reserved` held as leased slices (absent: 0). */
  leased?: number;
  /**
   * Set when an expired slice was charged outside a step that reports this instance: the `used` the
   * level was last derived from. The next step reports it as `usedBefore` and clears it. Absent: none.
   */
  seenUsed?: number | null;
  /** The day `dayUsed` counts. */
  day: string;
  dayUsed: number;
  /** The limit the level was last derived from (see InstanceTotals.limitBefore); null: not known. */
  seenLimit: number | null;
  /** Rollover: the amount carried in, fixed by the step that wrote the period's first totals (absent: 0). */
  carried?: number;
}

export type ReservationState = 'held' | 'expired' | 'committed' | 'released';

export interface ReservationRecord {
  amount: number;
  /** The instances that held the amount (those with a limit when it was taken). */
  refs: readonly InstanceRef[];
  expiresAt: number;
  state: ReservationState;
  ledger?: LedgerEntry;
  /** Set once committed. */
  commit?: { spendId: string; actual: number; expired: boolean };
}

/** A holder's leased slice of one instance-period, by the slice's id. */
export interface LeaseRecord {
  /** Held now (counted in reserved and leased); 0 when given back or charged. */
  amount: number;
  /** Recorded as used for this slice so far: its holder's cumulative spend, or more once charged in full. */
  recorded: number;
  ref: InstanceRef;
  /** When a held amount is charged in full unless renewed. */
  expiresAt: number;
}

export interface RememberedKey {
  callId: string;
  /** Reserve only: when the first call's reservation expires. */
  expiresAt?: number;
}

/**
 * What the algorithm needs from a store. `forgetAt` is when a record may be deleted (0: never);
 * a store deletes due records in `forgetDue`, a bounded batch at a time.
 */
export interface Records {
  totals(instance: string, period: string): PeriodRecord | undefined;
  writeTotals(instance: string, period: string, record: PeriodRecord, forgetAt: number): void;
  /** The latest period with activity of an instance, or undefined before its first. */
  lastPeriod(instance: string): string | undefined;
  /** Moves an instance's latest period forward (and lists it under its rule until `forgetAt`). */
  setLastPeriod(instance: string, rule: string, period: string, forgetAt: number): void;

  /** A run-time limit override by name. */
  override(name: string): number | undefined;
  /** true when no override and no grant was ever written: the hot path then skips the lookups. */
  noRuntimeLimits(): boolean;
  overrides(): Map<string, number>;
  limitsVersion(): number;
  /** Writes an override and returns the new limits version. */
  setOverride(name: string, amount: number): number;

  /** An instance's grants (expired ones may still be among them), or undefined when it has none. */
  grantsOf(name: string): readonly Grant[] | undefined;
  /** Every grant kept. */
  grants(): Grant[];
  hasGrant(id: string): boolean;
  /** Stores a grant, forgotten at its expiry, and returns the new limits version. */
  addGrant(grant: Grant): number;

  reservation(id: string): ReservationRecord | undefined;
  /** Inserts or replaces a reservation. */
  saveReservation(id: string, record: ReservationRecord, forgetAt: number): void;
  /**
   * The id of a held reservation whose time is up (earliest first), or undefined when none is due.
   * A store with a due index removes the id from it; the algorithm then marks the reservation expired.
   */
  nextDueReservation(now: number): string | undefined;

  lease(id: string): LeaseRecord | undefined;
  /** Inserts or replaces a lease; one that holds an amount is due at its `expiresAt`. */
  saveLease(id: string, record: LeaseRecord, forgetAt: number): void;
  /** The id of a lease holding an amount whose time is up (earliest first), or undefined; like nextDueReservation. */
  nextDueLease(now: number): string | undefined;

  /** Appends a fact to the feed with the next id (ids order the facts as appended). */
  appendFact(fact: Omit<FeedFact, 'id'>, forgetAt: number): void;
  /** Up to `limit` facts from the one with id `from` on (from the oldest kept when undefined), oldest first. */
  factsFrom(from: string | undefined, limit: number): FeedFact[];

  rememberedKey(key: string, now: number): RememberedKey | undefined;
  rememberKey(key: string, value: RememberedKey, forgetAt: number): void;

  /** Deletes up to `max` records whose forget time has passed; returns how many it deleted. */
  forgetDue(now: number, max: number): number;
  instancesPage(rule: string, cursor: string | undefined, limit: number): InstancePage;

  /** Present in stores that keep a ledger. */
  appendLedger?(entry: {
    at: number;
    day: string;
    kind: 'spend' | 'commit';
    spendId: string;
    reservationId: string | null;
    amount: number;
    ledger: LedgerEntry;
  }): void;
}
