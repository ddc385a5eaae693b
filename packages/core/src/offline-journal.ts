// The offline journal of onStoreError: 'allow'. While the store cannot be reached, a guard admits calls
// up to `offlineAllowance` (micro-units, per guard), keeps them here in order, and replays each into the
// store (with its original call id, so once) when it answers again. Nothing admitted is dropped silently.
import type { ChargeOutcome, InstanceRef, LedgerEntry, SettleOutcome, StorageAdapter } from './adapter/spi.js';
import { isStoreFailure, storeUnavailable } from './error-factories.js';
import { SpendGuardError } from './errors.js';
import { fromMicros } from './money.js';

export type JournalEntry =
  | {
      kind: 'spend';
      callId: string;
      instances: readonly InstanceRef[];
      amount: number;
      idempotencyKey?: string;
      ledger?: LedgerEntry;
      /** When it was admitted (the guard's clock). */
      at: number;
      /** The commit of an offline reservation above its amount: the replay puts the overage in the feed. */
      overage?: { reservationId: string; reserved: number; actual: number };
    }
  | { kind: 'commit'; reservationId: string; spendId: string; amount: number; at: number }
  | { kind: 'release'; reservationId: string; at: number };

/** A reservation admitted while the store was down: it lives only in this process. */
export interface LocalReservation {
  instances: readonly InstanceRef[];
  amount: number;
  expiresAt: number;
  ledger?: LedgerEntry;
}

export type ReplayOutcome =
  | { entry: JournalEntry & { kind: 'spend' }; outcome: ChargeOutcome }
  | { entry: JournalEntry; outcome: SettleOutcome };

export type UnflushedError = SpendGuardError & { unflushed: JournalEntry[] };

export class OfflineJournal {
  readonly entries: JournalEntry[] = [];
  private readonly local = new Map<string, LocalReservation>();
  /** Micro-units of journalled spends and commits not yet written to the store. */
  private pendingSpend = 0;

  constructor(
    /** Micro-units admitted at most while offline. */
    private readonly allowance: number,
    private readonly maxEntries: number,
  ) {}

  get size(): number {
    return this.entries.length + this.local.size;
  }

  /** Admitted money not yet in the store: journalled spends plus unexpired offline holds. */
  outstanding(now: number): number {
    let held = 0;
    for (const r of this.local.values()) if (r.expiresAt > now) held += r.amount;
    return this.pendingSpend + held;
  }

  /** Throws STORE_UNAVAILABLE unless `amount` more fits in the offline allowance. */
  assertRoom(amount: number, now: number, cause: unknown): void {
    const outstanding = this.outstanding(now);
    if (this.size < this.maxEntries && outstanding + amount <= this.allowance) return;
    throw new SpendGuardError(
      'STORE_UNAVAILABLE',
      `the budget store did not answer and this guard's offline allowance is used up (${fromMicros(outstanding)} of ${fromMicros(this.allowance)} admitted while offline); nothing was recorded. Retry when the store is back.`,
      { cause },
    );
  }

  /** Throws STORE_UNAVAILABLE when the journal holds as many entries as it may. */
  assertCount(cause: unknown): void {
    if (this.size < this.maxEntries) return;
    throw new SpendGuardError(
      'STORE_UNAVAILABLE',
      `the budget store did not answer and this guard's offline journal is full (${this.maxEntries} entries); nothing was recorded. Retry when the store is back.`,
      { cause },
    );
  }

  push(entry: JournalEntry): void {
    this.entries.push(entry);
    if (entry.kind !== 'release') this.pendingSpend += entry.amount;
  }

  holdLocally(id: string, reservation: LocalReservation): void {
    this.local.set(id, reservation);
  }

  takeLocal(id: string): LocalReservation | undefined {
    const r = this.local.get(id);
    if (r) this.local.delete(id);
    return r;
  }

  /** Forgets offline holds that expired longer than `retentionMs` ago (a late commit is no longer expected). */
  forgetExpired(now: number, retentionMs: number): void {
    for (const [id, r] of this.local) if (r.expiresAt + retentionMs <= now) this.local.delete(id);
  }

  /**
   * Writes the entries to the store in order. A store failure stops it (the rest waits for the next
   * try); an entry the store refuses as bad input is passed to `rejected` and dropped, so that it
   * cannot block the entries behind it.
   */
  async replay(
    store: StorageAdapter,
    now: () => number,
    applied: (replayed: ReplayOutcome) => void,
    rejected: (entry: JournalEntry, error: unknown) => void,
  ): Promise<void> {
    while (this.entries.length > 0) {
      const entry = this.entries[0] as JournalEntry;
      let outcome: ChargeOutcome | SettleOutcome;
      try {
        outcome = await writeEntry(store, entry, now());
      } catch (err) {
        if (isStoreFailure(err)) throw storeUnavailable(err);
        this.drop();
        rejected(entry, err);
        continue;
      }
      this.drop();
      applied({ entry, outcome } as ReplayOutcome);
    }
  }

  private drop(): void {
    const entry = this.entries.shift();
    if (entry && entry.kind !== 'release') this.pendingSpend -= entry.amount;
  }

  unflushedError(cause: unknown): UnflushedError {
    const error = new SpendGuardError(
      'STORE_UNAVAILABLE',
      `close() could not write ${this.entries.length} journalled call(s) (${fromMicros(this.pendingSpend)} in all) to the budget store. They are in error.unflushed and are now yours: this guard will not write them. Record them elsewhere: each entry names its instances and amount (micro-units).`,
      { cause },
    ) as UnflushedError;
    error.unflushed = [...this.entries];
    // pendingSpend follows the entries, which the caller now owns.
    this.pendingSpend = 0;
    return error;
  }
}

function writeEntry(store: StorageAdapter, entry: JournalEntry, now: number): Promise<ChargeOutcome | SettleOutcome> {
  if (entry.kind === 'spend') {
    return Promise.resolve(
      store.charge({
        kind: 'spend',
        callId: entry.callId,
        instances: entry.instances,
        amount: entry.amount,
        now,
        force: true,
        ...(entry.idempotencyKey === undefined ? {} : { idempotencyKey: entry.idempotencyKey }),
        ...(entry.ledger === undefined || !store.capabilities.ledger ? {} : { ledger: entry.ledger }),
        ...(entry.overage === undefined ? {} : { overage: entry.overage }),
      }),
    );
  }
  if (entry.kind === 'commit') {
    return Promise.resolve(
      store.settle({ action: 'commit', reservationId: entry.reservationId, amount: entry.amount, spendId: entry.spendId, now }),
    );
  }
  return Promise.resolve(store.settle({ action: 'release', reservationId: entry.reservationId, now }));
}
