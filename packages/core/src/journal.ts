// The bounded local journal of onStoreError: 'allow': admitted spends that the store could not take,
// kept in order and replayed, each exactly once (by idempotency key), when the store answers again.
import type { InstanceRef, LedgerEntry } from './store.js';

export type JournalEntry =
  | {
      kind: 'spend';
      id: string;
      instances: readonly InstanceRef[];
      amount: number;
      idempotencyKey: string;
      ledger?: LedgerEntry;
    }
  | { kind: 'settle'; action: 'commit' | 'release'; reservationId: string; spendId: string; amount: number };

/** A reservation admitted while the store was down: it lives only in this process. */
export interface LocalReservation {
  instances: readonly InstanceRef[];
  amount: number;
  expiresAt: number;
}

export class Journal {
  readonly entries: JournalEntry[] = [];
  readonly localReservations = new Map<string, LocalReservation>();

  constructor(readonly maxEntries: number) {}

  get size(): number {
    return this.entries.length + this.localReservations.size;
  }

  get full(): boolean {
    return this.size >= this.maxEntries;
  }

  push(entry: JournalEntry): void {
    this.entries.push(entry);
  }
}
