// Runs the offline journal for a guard: admits while the store is down, retries on a timer, replays in
// order, and turns each replayed step into the events it would have emitted had the store answered.
import type { ChargeRequest, StorageAdapter } from './adapter/spi.js';
import { DEFAULT_TTL_MS } from './call-validation.js';
import { releasedReservation, unknownReservation } from './error-factories.js';
import type { EventDeriver } from './event-derivation.js';
import type { GuardEvent } from './events.js';
import { unwatchAtExit, watchAtExit } from './exit-warning.js';
import { fromMicros } from './money.js';
import { type JournalEntry, type LocalReservation, OfflineJournal, type ReplayOutcome } from './offline-journal.js';
import { type CommitResult, commitResult, type ReserveResult, type SpendResult } from './results.js';

/** A spend or reserve the store could not take: the request it was sent as. */
export type OfflineCall = Omit<ChargeRequest, 'force'>;

export interface JournalHost {
  store: StorageAdapter;
  clock: () => number;
  deriver: EventDeriver;
  emitAll(events: GuardEvent[]): void;
  reportError(event: string, error: unknown): void;
}

export class JournalRunner {
  readonly journal: OfflineJournal;
  private timer: ReturnType<typeof setInterval> | undefined;
  private replaying: Promise<void> | undefined;
  /** Results of keyed calls admitted offline: the same key again returns the first result. */
  private readonly offlineKeys = new Map<string, SpendResult | ReserveResult>();

  constructor(
    private readonly host: JournalHost,
    allowance: number,
    maxEntries: number,
    private readonly intervalMs: number,
    private readonly retentionMs: number,
  ) {
    this.journal = new OfflineJournal(allowance, maxEntries);
  }

  /**
   * Admits a call the store could not take, within the offline allowance (else STORE_UNAVAILABLE):
   * a spend is journalled, a reservation held in this process until commit, release or expiry.
   */
  admit(call: OfflineCall, cause: unknown): SpendResult | ReserveResult {
    const key = call.idempotencyKey;
    const first = key === undefined ? undefined : this.offlineKeys.get(key);
    if (first) return first;
    this.journal.assertRoom(call.amount, call.now, cause);
    const result = this.admitNew(call);
    if (key !== undefined) this.offlineKeys.set(key, result);
    return result;
  }

  private admitNew(call: OfflineCall): SpendResult | ReserveResult {
    const { callId, instances, amount, now } = call;
    if (call.kind === 'spend') {
      this.push({
        kind: 'spend',
        callId,
        instances,
        amount,
        at: now,
        ...(call.idempotencyKey === undefined ? {} : { idempotencyKey: call.idempotencyKey }),
        ...(call.ledger ? { ledger: call.ledger } : {}),
      });
      return { allowed: true, spendId: callId, remaining: {} };
    }
    const expiresAt = now + (call.ttlMs ?? DEFAULT_TTL_MS);
    this.journal.holdLocally(callId, { instances, amount, expiresAt, ...(call.ledger ? { ledger: call.ledger } : {}) });
    this.startTimer();
    return { allowed: true, reservationId: callId, expiresAt, remaining: {} };
  }

  /**
   * Journals the commit or release of a reservation held in the store. Refused (nothing journalled)
   * when the id is not one this library issues, or when the journal holds journalLimit entries.
   */
  admitSettle(entry: JournalEntry & { kind: 'commit' | 'release' }, cause: unknown): void {
    if (!entry.reservationId.startsWith('rs_')) throw unknownReservation(entry.reservationId);
    this.journal.assertCount(cause);
    this.push(entry);
  }

  /** Commits a reservation held in this process: journalled as a spend. Undefined when it is not one. */
  commitLocal(id: string, spendId: string, actual: number, now: number): CommitResult | undefined {
    const local = this.journal.takeLocal(id);
    if (!local) return undefined;
    if (actual > local.amount) {
      const overage = { reservationId: id, reserved: fromMicros(local.amount), actual: fromMicros(actual) };
      this.host.emitAll(local.instances.map((ref) => ({ type: 'overage' as const, payload: { budget: ref.name, ...overage } })));
    }
    this.push({
      kind: 'spend',
      callId: spendId,
      instances: local.instances,
      amount: actual,
      at: now,
      ...(local.ledger ? { ledger: local.ledger } : {}),
      ...(actual > local.amount ? { overage: { reservationId: id, reserved: local.amount, actual } } : {}),
    });
    return commitResult(spendId, actual, local.amount, now >= local.expiresAt);
  }

  push(entry: JournalEntry): void {
    this.journal.push(entry);
    this.startTimer();
  }

  takeLocal(id: string): LocalReservation | undefined {
    return this.journal.takeLocal(id);
  }

  /** Writes journalled calls to the store now; concurrent callers share one replay. */
  flush(): Promise<void> {
    if (!this.replaying) {
      const { host } = this;
      this.replaying = this.journal
        .replay(
          host.store,
          host.clock,
          (r) => this.replayed(r),
          (_entry, error) => host.reportError('journal', error),
        )
        .finally(() => {
          this.replaying = undefined;
          if (this.journal.size === 0) {
            this.offlineKeys.clear(); // written: the store now answers for these keys
            this.stop();
          }
        });
    }
    return this.replaying;
  }

  /** Hands the unwritten entries over (close() could not write them): they are no longer replayed. */
  handOver(cause: unknown): never {
    const error = this.journal.unflushedError(cause);
    this.journal.entries.length = 0;
    this.offlineKeys.clear();
    this.stop();
    throw error;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    unwatchAtExit(this);
  }

  pendingAtExit(): string | undefined {
    const entries = this.journal.entries;
    if (entries.length === 0) return undefined;
    let amount = 0;
    for (const e of entries) if (e.kind !== 'release') amount += e.amount;
    return `the process exits with ${entries.length} journalled call(s) (${fromMicros(amount)} in all) not written to the budget store. Call guard.close() before exiting; it rejects with error.unflushed when the store cannot take them.`;
  }

  private replayed({ entry, outcome }: ReplayOutcome): void {
    const { host } = this;
    const now = host.clock();
    if (entry.kind === 'spend' && 'ok' in outcome) {
      if (outcome.ok && !outcome.replayed) host.emitAll(host.deriver.deriveAll(entry.instances, outcome.totals, now));
      return;
    }
    if (entry.kind === 'spend' || !('status' in outcome)) return;
    if (outcome.status === 'applied') {
      host.emitAll(host.deriver.deriveSettle(entry.reservationId, entry.kind === 'commit' ? entry.amount : 0, outcome, now));
    } else if (entry.kind === 'commit' && outcome.status !== 'committed_before') {
      const error = outcome.status === 'unknown' ? unknownReservation(entry.reservationId) : releasedReservation(entry.reservationId);
      host.reportError('journal', error);
    }
  }

  private startTimer(): void {
    if (this.timer) return;
    watchAtExit(this);
    this.timer = setInterval(() => {
      this.journal.forgetExpired(this.host.clock(), this.retentionMs);
      void this.flush().catch(() => {});
    }, this.intervalMs);
    this.timer.unref?.();
  }
}
