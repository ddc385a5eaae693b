// createSpendGuard: the public engine, a thin facade. Each call is validated, resolved to budget
// instances, run as one atomic store step, and the events derived from that step's totals are emitted.
import type { ChargeOutcome, InstanceRef, SettleOutcome, StorageAdapter } from './adapter/spi.js';
import type { Allocation } from './allocation.js';
import { assertAllocations } from './allocation.js';
import { type CallOptions, DEFAULT_TTL_MS, idempotencyKeyOf, metaOf, reservationIdOf, ttlOf } from './call-validation.js';
import {
  closedGuard,
  committedReservation,
  isStoreFailure,
  releasedReservation,
  storeUnavailable,
  unknownReservation,
} from './error-factories.js';
import { EventDeriver } from './event-derivation.js';
import type { GuardEvent, SpendGuardEvents } from './events.js';
import { guardOptionsOf, type SpendGuardOptions } from './guard-options.js';
import { IdSource } from './ids.js';
import { LimitChanges } from './limit-changes.js';
import { fromMicros, toMicros } from './money.js';
import { type JournalEntry, OfflineJournal, type ReplayOutcome } from './offline-journal.js';
import { type CheckResult, type HistoryEntry, Reads } from './reads.js';
import { Resolver } from './resolver.js';
import { type Attributes, compileRules, type Rule } from './rules.js';
import { SafeEmitter } from './safe-emitter.js';
import type { BudgetStatus } from './status.js';
import { remainingOf } from './status.js';
import { fromStore } from './store-call.js';

export type { CallOptions } from './call-validation.js';
export { DEFAULT_TTL_MS } from './call-validation.js';
export type { SpendGuardOptions } from './guard-options.js';
export type { CheckResult, HistoryEntry } from './reads.js';

export type Refusal = {
  allowed: false;
  reason: 'limit_exceeded' | 'no_budget';
  budget: string;
  remaining: number;
  requested: number;
};

export type SpendResult = { allowed: true; spendId: string; remaining: Record<string, number> } | Refusal;
export type ReserveResult = { allowed: true; reservationId: string; expiresAt: number; remaining: Record<string, number> } | Refusal;
export interface CommitResult {
  spendId: string;
  actual: number;
  reserved: number;
  overage: number;
  expired: boolean;
}

const NO_EVENTS: GuardEvent[] = [];

export class SpendGuard extends SafeEmitter<SpendGuardEvents> {
  private readonly store: StorageAdapter;
  private readonly resolver: Resolver;
  private readonly deriver = new EventDeriver();
  private readonly reads: Reads;
  private readonly limits: LimitChanges;
  private readonly clock: () => number;
  private readonly ids = new IdSource();
  private readonly retentionMs: number;
  private readonly journal: OfflineJournal | undefined;
  private readonly replayIntervalMs: number;
  private replayTimer: ReturnType<typeof setInterval> | undefined;
  private replaying: Promise<void> | undefined;
  private closed = false;

  constructor(options: SpendGuardOptions) {
    super();
    const o = guardOptionsOf(options);
    this.store = o.store;
    const rules = compileRules(o.budgets);
    assertAllocations(rules, {});
    this.resolver = new Resolver(rules, o.attributes);
    this.clock = o.clock;
    this.retentionMs = o.retentionMs;
    this.journal = o.offlineAllowance === undefined ? undefined : new OfflineJournal(o.offlineAllowance, o.journalLimit);
    this.replayIntervalMs = o.replayIntervalMs;
    this.reads = new Reads(this.store, this.resolver);
    this.limits = new LimitChanges(this.store, this.resolver, this.reads, this.clock);
    this.store.configure({ retentionMs: this.retentionMs });
  }

  // ── spending ────────────────────────────────────────────────────────────

  spend(attrs: Attributes, amount: number, opts?: CallOptions): Promise<SpendResult> {
    return this.charge('spend', attrs, amount, opts) as Promise<SpendResult>;
  }

  reserve(attrs: Attributes, estimate: number, opts?: CallOptions): Promise<ReserveResult> {
    return this.charge('reserve', attrs, estimate, opts) as Promise<ReserveResult>;
  }

  private async charge(
    kind: 'spend' | 'reserve',
    attrs: Attributes,
    amount: number,
    opts: CallOptions | undefined,
  ): Promise<SpendResult | ReserveResult> {
    this.assertOpen();
    this.resolver.checkAttributes(attrs);
    const micros = toMicros(amount);
    const ttlMs = kind === 'reserve' ? ttlOf(opts?.ttlMs) : undefined;
    const idempotencyKey = idempotencyKeyOf(opts?.idempotencyKey);
    const meta = metaOf(opts?.meta);
    const now = this.clock();
    const resolved = this.resolver.resolve(attrs, now);
    const callId = this.ids.next(kind === 'spend' ? 'sp' : 'rs');
    const ledger = this.store.capabilities.ledger
      ? meta === undefined
        ? { attrs: { ...attrs } }
        : { attrs: { ...attrs }, meta }
      : undefined;
    let outcome: ChargeOutcome;
    try {
      outcome = await this.store.charge({
        kind,
        callId,
        instances: resolved.refs,
        amount: micros,
        now,
        ...(ttlMs === undefined ? {} : { ttlMs }),
        ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
        ...(ledger === undefined ? {} : { ledger }),
      });
    } catch (err) {
      if (!isStoreFailure(err) || !this.journal) throw storeUnavailable(err);
      this.journal.assertRoom(micros, now, err);
      if (kind === 'spend') {
        this.journalPush({
          kind: 'spend',
          callId,
          instances: resolved.refs,
          amount: micros,
          at: now,
          ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
          ...(ledger === undefined ? {} : { ledger }),
        });
        return { allowed: true, spendId: callId, remaining: {} };
      }
      const expiresAt = now + (ttlMs ?? DEFAULT_TTL_MS);
      this.journal.holdLocally(callId, { instances: resolved.refs, amount: micros, expiresAt, ...(ledger ? { ledger } : {}) });
      this.startReplayTimer();
      return { allowed: true, reservationId: callId, expiresAt, remaining: {} };
    }
    if (!outcome.ok) return this.refuse(resolved.refs[outcome.refusedAt] as InstanceRef, outcome, attrs, amount);
    const remaining: Record<string, number> = {};
    let events = NO_EVENTS;
    for (let i = 0; i < resolved.refs.length; i++) {
      const t = outcome.totals[i];
      if (!t) continue;
      const ref = resolved.refs[i] as InstanceRef;
      remaining[ref.name] = fromMicros(remainingOf(t));
      if (outcome.replayed) continue;
      if (events === NO_EVENTS) events = [];
      this.deriver.derive(resolved.rules[i] as Rule, ref, t, now, events);
    }
    this.emitAll(events);
    if (kind === 'spend') return { allowed: true, spendId: outcome.callId, remaining };
    return { allowed: true, reservationId: outcome.callId, expiresAt: outcome.expiresAt as number, remaining };
  }

  private refuse(ref: InstanceRef, outcome: ChargeOutcome & { ok: false }, attrs: Attributes, amount: number): Refusal {
    const t = outcome.totals[outcome.refusedAt];
    const refusal: Refusal = {
      allowed: false,
      reason: outcome.reason,
      budget: ref.name,
      remaining: t ? fromMicros(remainingOf(t)) : 0,
      requested: amount,
    };
    this.emit('denied', {
      budget: refusal.budget,
      reason: refusal.reason,
      requested: amount,
      remaining: refusal.remaining,
      attrs: { ...attrs },
    });
    return refusal;
  }

  async commit(reservationId: string, actual: number): Promise<CommitResult> {
    this.assertOpen();
    const id = reservationIdOf(reservationId);
    const micros = toMicros(actual, 'actual');
    const now = this.clock();
    const spendId = this.ids.next('sp');
    const local = this.journal?.takeLocal(id);
    if (local) {
      this.journalPush({
        kind: 'spend',
        callId: spendId,
        instances: local.instances,
        amount: micros,
        at: now,
        ...(local.ledger ? { ledger: local.ledger } : {}),
      });
      return commitResult(spendId, micros, local.amount, now >= local.expiresAt);
    }
    let outcome: SettleOutcome;
    try {
      outcome = await this.store.settle({ action: 'commit', reservationId: id, amount: micros, spendId, now });
    } catch (err) {
      // The reservation's amount is already held in the store: its commit is journalled whatever the allowance.
      if (!isStoreFailure(err) || !this.journal) throw storeUnavailable(err);
      this.journalPush({ kind: 'commit', reservationId: id, spendId, amount: micros, at: now });
      return commitResult(spendId, micros, 0, false);
    }
    if (outcome.status === 'unknown') throw unknownReservation(id);
    if (outcome.status === 'released_before') throw releasedReservation(id);
    if (outcome.status === 'committed_before') return commitResult(outcome.spendId, outcome.actual, outcome.reserved, outcome.expired);
    this.emitAll(this.settleEvents(id, micros, outcome, now));
    return commitResult(spendId, micros, outcome.reserved, outcome.expired);
  }

  async release(reservationId: string): Promise<void> {
    this.assertOpen();
    const id = reservationIdOf(reservationId);
    if (this.journal?.takeLocal(id)) return;
    const now = this.clock();
    let outcome: SettleOutcome;
    try {
      outcome = await this.store.settle({ action: 'release', reservationId: id, now });
    } catch (err) {
      if (!isStoreFailure(err) || !this.journal) throw storeUnavailable(err);
      this.journalPush({ kind: 'release', reservationId: id, at: now });
      return;
    }
    if (outcome.status === 'unknown') throw unknownReservation(id);
    if (outcome.status === 'committed_before') throw committedReservation(id);
    if (outcome.status === 'applied') this.emitAll(this.settleEvents(id, 0, outcome, now));
  }

  /** The events of an applied commit or release: level changes, and an overage per instance. */
  private settleEvents(reservationId: string, actual: number, outcome: SettleOutcome & { status: 'applied' }, now: number): GuardEvent[] {
    const events: GuardEvent[] = [];
    outcome.instances.forEach((ref, i) => {
      const t = outcome.totals[i];
      const rule = this.resolver.ruleOfRef(ref);
      if (!t || !rule) return;
      this.deriver.derive(rule, ref, t, now, events);
      if (actual > outcome.reserved) {
        events.push({
          type: 'overage',
          payload: { budget: ref.name, reservationId, reserved: fromMicros(outcome.reserved), actual: fromMicros(actual) },
        });
      }
    });
    return events;
  }

  // ── reading ─────────────────────────────────────────────────────────────

  check(attrs: Attributes, amount: number): Promise<CheckResult> {
    this.assertOpen();
    this.resolver.checkAttributes(attrs);
    return this.reads.check(attrs, amount, this.clock());
  }

  status(budget: string): Promise<BudgetStatus>;
  status(): Promise<BudgetStatus[]>;
  status(budget?: string): Promise<BudgetStatus | BudgetStatus[]> {
    this.assertOpen();
    return budget === undefined ? this.reads.statusAll(this.clock()) : this.reads.statusOf(budget, this.clock());
  }

  history(budget: string, options: { periods: number } = { periods: 12 }): Promise<HistoryEntry[]> {
    this.assertOpen();
    return this.reads.history(budget, options?.periods, this.clock());
  }

  allocation(ruleId: string): Promise<Allocation> {
    this.assertOpen();
    return this.limits.allocation(ruleId);
  }

  // ── limits ──────────────────────────────────────────────────────────────

  /**
   * Changes a limit at run time for every guard sharing the store. `key` names one instance of a
   * keyed rule (its attribute value); without it a keyed rule's default ('*') changes.
   */
  setLimit(ruleId: string, limit: number, key?: string): Promise<void> {
    this.assertOpen();
    return this.limits.setLimit(ruleId, limit, key, (rule, refs, totals, now) => {
      const events: GuardEvent[] = [];
      refs.forEach((ref, i) => {
        const t = totals[i];
        if (t) this.deriver.derive(rule, ref, t, now, events);
      });
      this.emitAll(events);
    });
  }

  // ── offline journal ─────────────────────────────────────────────────────

  /** Writes journalled calls to the store now (they are also retried on a timer). */
  flush(): Promise<void> {
    if (!this.journal) return Promise.resolve();
    if (!this.replaying) {
      const journal = this.journal;
      this.replaying = journal
        .replay(
          this.store,
          this.clock,
          (r) => this.replayed(r),
          (_entry, error) => this.reportError('journal', error),
        )
        .finally(() => {
          this.replaying = undefined;
          if (journal.entries.length === 0) this.stopReplayTimer();
        });
    }
    return this.replaying;
  }

  /** How many admitted calls wait in the local journal for the store. */
  get pendingJournal(): number {
    return this.journal?.size ?? 0;
  }

  private replayed({ entry, outcome }: ReplayOutcome): void {
    const now = this.clock();
    const events: GuardEvent[] = [];
    if (entry.kind === 'spend' && 'ok' in outcome) {
      if (!outcome.ok || outcome.replayed) return;
      entry.instances.forEach((ref, i) => {
        const t = outcome.totals[i];
        const rule = this.resolver.ruleOfRef(ref);
        if (t && rule) this.deriver.derive(rule, ref, t, now, events);
      });
    } else if (entry.kind !== 'spend' && 'status' in outcome) {
      if (outcome.status === 'applied')
        events.push(...this.settleEvents(entry.reservationId, entry.kind === 'commit' ? entry.amount : 0, outcome, now));
      else if (entry.kind === 'commit' && outcome.status !== 'committed_before') {
        this.reportError(
          'journal',
          outcome.status === 'unknown' ? unknownReservation(entry.reservationId) : releasedReservation(entry.reservationId),
        );
      }
    }
    this.emitAll(events);
  }

  private journalPush(entry: JournalEntry): void {
    this.journal?.push(entry);
    this.startReplayTimer();
  }

  private startReplayTimer(): void {
    if (this.replayTimer) return;
    this.replayTimer = setInterval(() => {
      this.journal?.forgetExpired(this.clock(), this.retentionMs);
      void this.flush().catch(() => {});
    }, this.replayIntervalMs);
    this.replayTimer.unref?.();
  }

  private stopReplayTimer(): void {
    if (this.replayTimer && this.journal && this.journal.size === 0) {
      clearInterval(this.replayTimer);
      this.replayTimer = undefined;
    }
  }

  // ── lifecycle ───────────────────────────────────────────────────────────

  /**
   * Flushes the offline journal and closes the store. If journalled calls cannot be written, it
   * rejects with STORE_UNAVAILABLE carrying them in `error.unflushed`, and the guard stays open so
   * that close() can be retried.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.journal && this.journal.entries.length > 0) {
      try {
        await this.flush();
      } catch (err) {
        throw this.journal.unflushedError(err);
      }
    }
    this.closed = true;
    if (this.replayTimer) clearInterval(this.replayTimer);
    this.removeAllListeners();
    await fromStore(() => this.store.close());
  }

  private assertOpen(): void {
    if (this.closed) throw closedGuard();
  }

  private emitAll(events: GuardEvent[]): void {
    for (const e of events) (this.emit as (type: string, payload: unknown) => boolean)(e.type, e.payload);
  }
}

function commitResult(spendId: string, actual: number, reserved: number, expired: boolean): CommitResult {
  return {
    spendId,
    actual: fromMicros(actual),
    reserved: fromMicros(reserved),
    overage: fromMicros(Math.max(0, actual - reserved)),
    expired,
  };
}

export function createSpendGuard(options: SpendGuardOptions): SpendGuard {
  return new SpendGuard(options);
}
