// createSpendGuard: the public engine, a thin facade. Each call is validated, resolved to budget
// instances, run as one atomic store step, and the events derived from that step's totals are emitted.
import type { ChargeOutcome, ChargeRequest, InstanceRef, SettleOutcome, StorageAdapter } from './adapter/spi.js';
import type { Allocation } from './allocation.js';
import { assertAllocations } from './allocation.js';
import { type CallOptions, idempotencyKeyOf, metaOf, reservationIdOf, ttlOf } from './call-validation.js';
import {
  closedGuard,
  committedReservation,
  isStoreFailure,
  releasedReservation,
  storeUnavailable,
  unknownReservation,
} from './error-factories.js';
import { SpendGuardError } from './errors.js';
import { EventDeriver, NO_EVENTS } from './event-derivation.js';
import { EventFeed, type EventsOptions } from './event-feed.js';
import type { EventsPage, GuardEvent, SpendGuardEvents } from './events.js';
import { ForecastAlerts } from './forecast-alerts.js';
import type { GrantInfo, GrantOptions } from './grants.js';
import { guardOptionsOf, type SpendGuardOptions } from './guard-options.js';
import { IdSource } from './ids.js';
import { JournalRunner } from './journal-runner.js';
import { type Cover, LeasedAllowances } from './leased-allowances.js';
import { LimitChanges, type ObservedStep } from './limit-changes.js';
import { fromMicros, toMicros } from './money.js';
import { setOwn } from './own-record.js';
import { type CheckResult, type HistoryEntry, Reads } from './reads.js';
import { RefusedLevels } from './refused-levels.js';
import { type Resolved, Resolver } from './resolver.js';
import { type CommitResult, commitResult, type Refusal, type ReserveResult, type SpendResult } from './results.js';
import { type Attributes, compileRules, type Rule } from './rules.js';
import { SafeEmitter } from './safe-emitter.js';
import { shadowDenials } from './shadow-budgets.js';
import type { BudgetStatus } from './status.js';
import { remainingOf } from './status.js';
import { fromStore } from './store-call.js';

export type { CallOptions } from './call-validation.js';
export { DEFAULT_TTL_MS } from './call-validation.js';
export type { SpendGuardOptions } from './guard-options.js';
export type { CheckResult, HistoryEntry } from './reads.js';
export type { CommitResult, Refusal, ReserveResult, SpendResult } from './results.js';

export class SpendGuard extends SafeEmitter<SpendGuardEvents> {
  private readonly store: StorageAdapter;
  private readonly resolver: Resolver;
  private readonly deriver: EventDeriver;
  private readonly refusedLevels: RefusedLevels;
  private readonly reads: Reads;
  private readonly limits: LimitChanges;
  private readonly clock: () => number;
  private readonly ids = new IdSource();
  private readonly journal: JournalRunner | undefined;
  private readonly leases: LeasedAllowances | undefined;
  private readonly feed: EventFeed;
  /** Only when a budget asks for forecasts: a spend then awaits nothing more. */
  private readonly forecasts: ForecastAlerts | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(options: SpendGuardOptions) {
    super();
    const o = guardOptionsOf(options);
    this.store = o.store;
    const rules = compileRules(o.budgets);
    assertAllocations(rules, { overrides: {}, grants: new Map() });
    this.resolver = new Resolver(rules, o.attributes);
    this.clock = o.clock;
    this.deriver = new EventDeriver((ref) => this.resolver.ruleOfRef(ref));
    this.journal =
      o.offlineAllowance === undefined
        ? undefined
        : new JournalRunner(
            {
              store: this.store,
              clock: this.clock,
              deriver: this.deriver,
              emitAll: (events) => this.emitAll(events),
              reportError: (event, error) => this.reportError(event, error),
            },
            o.offlineAllowance,
            o.journalLimit,
            o.replayIntervalMs,
            o.retentionMs,
          );
    this.leases =
      o.lease === undefined
        ? undefined
        : new LeasedAllowances(
            {
              store: this.store,
              deriver: this.deriver,
              clock: () => this.now(),
              emitAll: (events) => this.emitAll(events),
              reportError: (event, error) => this.reportError(event, error),
            },
            o.lease,
            this.ids.holder(),
          );
    this.reads = new Reads(this.store, this.resolver);
    this.feed = new EventFeed(this.store, this.deriver);
    this.refusedLevels = new RefusedLevels(this.store, (refs, totals, now) => this.emitAll(this.deriver.deriveAll(refs, totals, now)));
    this.forecasts = rules.some((r) => r.definition.forecast === true) ? new ForecastAlerts(this.store, this.ids, this.deriver) : undefined;
    this.limits = new LimitChanges(this.store, this.resolver, this.reads, this.clock, this.ids);
    this.store.configure({ retentionMs: o.retentionMs, eventRetentionMs: o.eventRetentionMs });
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
    const now = this.now();
    const resolved = this.resolver.resolve(attrs, now);
    const callId = this.ids.next(kind === 'spend' ? 'sp' : 'rs');
    const ledger = this.store.capabilities.ledger
      ? meta === undefined
        ? { attrs: { ...attrs } }
        : { attrs: { ...attrs }, meta }
      : undefined;
    const request: ChargeRequest = { kind, callId, instances: resolved.refs, amount: micros, now };
    if (ttlMs !== undefined) request.ttlMs = ttlMs;
    if (idempotencyKey !== undefined) request.idempotencyKey = idempotencyKey;
    if (ledger !== undefined) request.ledger = ledger;
    // A leased guard admits a spend out of its slices; a keyed spend goes to the store, where every guard sees its key.
    if (this.leases && kind === 'spend' && idempotencyKey === undefined)
      return this.spendLeased(this.leases, resolved, request, attrs, amount);
    let outcome: ChargeOutcome;
    try {
      outcome = await this.store.charge(request);
      // This guard's own slices may hold the room the call needs: give them back and ask once more.
      if (!outcome.ok && this.leases && (await this.leases.giveBack(resolved.refs))) outcome = await this.store.charge(request);
    } catch (err) {
      if (!isStoreFailure(err) || !this.journal || this.closing) throw storeUnavailable(err);
      return this.journal.admit(request, err);
    }
    if (!outcome.ok) {
      await this.refusedLevels.after(resolved.refs, outcome.totals, now);
      return this.refuse(resolved.refs[outcome.refusedAt] as InstanceRef, outcome, attrs, amount);
    }
    const remaining: Record<string, number> = {};
    let events = NO_EVENTS;
    for (let i = 0; i < resolved.refs.length; i++) {
      const t = outcome.totals[i];
      if (!t) continue;
      const ref = resolved.refs[i] as InstanceRef;
      setOwn(remaining, ref.name, fromMicros(remainingOf(t)));
      if (!outcome.replayed) events = this.deriver.derive(resolved.rules[i] as Rule, ref, t, now, events);
    }
    this.emitAll(events);
    if (!outcome.replayed) {
      for (const d of shadowDenials(resolved.rules, resolved.refs, outcome, micros, amount, attrs)) this.emit('denied', d);
      if (this.forecasts) this.emitAll(await this.forecasts.after(resolved.rules, resolved.refs, outcome.totals, now));
    }
    if (kind === 'spend') return { allowed: true, spendId: outcome.callId, remaining };
    return { allowed: true, reservationId: outcome.callId, expiresAt: outcome.expiresAt as number, remaining };
  }

  private async spendLeased(
    leases: LeasedAllowances,
    resolved: Resolved,
    request: ChargeRequest,
    attrs: Attributes,
    amount: number,
  ): Promise<SpendResult> {
    const micros = request.amount;
    if (!leases.tryAdmit(resolved, micros, request.now)) {
      let cover: Cover;
      try {
        cover = await leases.cover(resolved, micros);
      } catch (err) {
        if (!isStoreFailure(err) || !this.journal || this.closing) throw storeUnavailable(err);
        return this.journal.admit(request, err) as SpendResult;
      }
      if (!cover.ok) {
        return this.denied(
          {
            allowed: false,
            reason: cover.reason,
            budget: (resolved.refs[cover.at] as InstanceRef).name,
            remaining: fromMicros(cover.remaining),
            requested: amount,
          },
          attrs,
        );
      }
    }
    const remaining: Record<string, number> = {};
    const slices = leases.slicesOf(resolved.refs);
    for (let i = 0; i < slices.length; i++) {
      const slice = slices[i];
      if (slice) setOwn(remaining, slice.ref.name, fromMicros(leases.remainingOf(slice)));
    }
    return { allowed: true, spendId: request.callId, remaining };
  }

  private refuse(ref: InstanceRef, outcome: ChargeOutcome & { ok: false }, attrs: Attributes, amount: number): Refusal {
    const t = outcome.totals[outcome.refusedAt];
    return this.denied(
      {
        allowed: false,
        reason: outcome.reason,
        budget: ref.name,
        remaining: t ? fromMicros(remainingOf(t)) : 0,
        requested: amount,
      },
      attrs,
    );
  }

  private denied(refusal: Refusal, attrs: Attributes): Refusal {
    const amount = refusal.requested;
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
    const now = this.now();
    const spendId = this.ids.next('sp');
    const offline = this.journal?.commitLocal(id, spendId, micros, now);
    if (offline) return offline;
    let outcome: SettleOutcome;
    try {
      outcome = await this.store.settle({ action: 'commit', reservationId: id, amount: micros, spendId, now });
    } catch (err) {
      // The reservation's amount is already held in the store: its commit is journalled whatever the allowance.
      if (!isStoreFailure(err) || !this.journal || this.closing) throw storeUnavailable(err);
      this.journal.admitSettle({ kind: 'commit', reservationId: id, spendId, amount: micros, at: now }, err);
      // What the reservation held is in the store: unknown until the replay, which emits any overage.
      return { ...commitResult(spendId, micros, 0, false), overage: 0 };
    }
    if (outcome.status === 'unknown') throw unknownReservation(id);
    if (outcome.status === 'released_before') throw releasedReservation(id);
    if (outcome.status === 'committed_before') return commitResult(outcome.spendId, outcome.actual, outcome.reserved, outcome.expired);
    this.emitAll(this.deriver.deriveSettle(id, micros, outcome, now));
    if (this.forecasts) {
      const rules = outcome.instances.map((ref) => this.resolver.ruleOfRef(ref));
      this.emitAll(await this.forecasts.after(rules, outcome.instances, outcome.totals, now));
    }
    return commitResult(spendId, micros, outcome.reserved, outcome.expired);
  }

  async release(reservationId: string): Promise<void> {
    this.assertOpen();
    const id = reservationIdOf(reservationId);
    if (this.journal?.takeLocal(id)) return;
    const now = this.now();
    let outcome: SettleOutcome;
    try {
      outcome = await this.store.settle({ action: 'release', reservationId: id, now });
    } catch (err) {
      if (!isStoreFailure(err) || !this.journal || this.closing) throw storeUnavailable(err);
      this.journal.admitSettle({ kind: 'release', reservationId: id, at: now }, err);
      return;
    }
    if (outcome.status === 'unknown') throw unknownReservation(id);
    if (outcome.status === 'committed_before') throw committedReservation(id);
    if (outcome.status === 'applied') this.emitAll(this.deriver.deriveSettle(id, 0, outcome, now));
  }

  // ── reading ─────────────────────────────────────────────────────────────

  async check(attrs: Attributes, amount: number): Promise<CheckResult> {
    this.assertOpen();
    this.resolver.checkAttributes(attrs);
    const leases = this.leases;
    return this.reads.check(attrs, amount, this.now(), leases && ((ref) => leases.heldFor(ref)));
  }

  status(budget: string): Promise<BudgetStatus>;
  status(): Promise<BudgetStatus[]>;
  async status(budget?: string): Promise<BudgetStatus | BudgetStatus[]> {
    this.assertOpen();
    return budget === undefined ? this.reads.statusAll(this.now()) : this.reads.statusOf(budget, this.now());
  }

  async history(budget: string, options: { periods: number } = { periods: 12 }): Promise<HistoryEntry[]> {
    this.assertOpen();
    return this.reads.history(budget, options?.periods, this.now());
  }

  /**
   * The durable event feed: every transition, alert, reset and overage, written by the store step that
   * caused it, in the store's order, from any guard on the store. Pass the last event's id (or `next`)
   * as `since` to read on.
   */
  async events(options?: EventsOptions): Promise<EventsPage> {
    this.assertOpen();
    return this.feed.read(options);
  }

  async allocation(ruleId: string): Promise<Allocation> {
    this.assertOpen();
    return this.limits.allocation(ruleId);
  }

  // ── limits ──────────────────────────────────────────────────────────────

  /**
   * Changes a limit at run time for every guard sharing the store. `key` names one instance of a
   * keyed rule (its attribute value); without it a keyed rule's default ('*') changes.
   */
  async setLimit(ruleId: string, limit: number, key?: string): Promise<void> {
    this.assertOpen();
    return this.limits.setLimit(ruleId, limit, key, this.observed);
  }

  /**
   * Raises one instance's limit by `amount` until `expiresAt` (default: the end of its current period),
   * for every guard sharing the store. A grant to an allocated budget must fit in its parent's
   * unallocated part (OVER_ALLOCATED). status() lists the grants still running.
   */
  async grant(budget: string, amount: number, options?: GrantOptions): Promise<GrantInfo> {
    this.assertOpen();
    return this.limits.grant(budget, amount, options, this.observed);
  }

  /** The events of the steps that follow a limit change on the instances it affects. */
  private readonly observed: ObservedStep = (rule, refs, totals, now) => {
    const events: GuardEvent[] = [];
    refs.forEach((ref, i) => {
      const t = totals[i];
      if (t) this.deriver.derive(rule, ref, t, now, events);
    });
    this.emitAll(events);
  };

  // ── offline journal ─────────────────────────────────────────────────────

  /** Writes journalled calls to the store now (they are also retried on a timer). */
  flush(): Promise<void> {
    return this.journal ? this.journal.flush() : Promise.resolve();
  }

  /** How many admitted calls wait in the local journal for the store. */
  get pendingJournal(): number {
    return this.journal?.journal.size ?? 0;
  }

  // ── lifecycle ───────────────────────────────────────────────────────────

  /**
   * Flushes the offline journal and closes the store. If journalled calls cannot be written, it
   * rejects with STORE_UNAVAILABLE carrying them in `error.unflushed`: they are handed over (this
   * guard no longer replays them) and the guard is closed. Concurrent calls share one close.
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown().catch((err: unknown) => {
      if (!this.closed) this.closing = undefined; // the store refused to close: close() may be retried
      throw err;
    });
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    if (this.closed) return;
    if (this.leases) await this.settleLeases(this.leases);
    let handedOver: unknown;
    if (this.journal && this.journal.journal.entries.length > 0) {
      try {
        await this.flush();
      } catch (err) {
        try {
          this.journal.handOver(err);
        } catch (unflushed) {
          handedOver = unflushed;
        }
      }
    }
    this.journal?.stop();
    await fromStore(() => this.store.close());
    this.closed = true;
    this.removeAllListeners();
    if (handedOver) throw handedOver;
  }

  /**
   * Records what the slices admitted and gives them back. If the store cannot be reached, close()
   * rejects with STORE_UNAVAILABLE saying what is not recorded, and may be retried; the guard admits
   * nothing more out of its slices meanwhile.
   */
  private async settleLeases(leases: LeasedAllowances): Promise<void> {
    try {
      await leases.settleFinal();
    } catch (err) {
      const what = leases.unrecorded() ?? 'the slices it holds (charged in full when they expire)';
      throw new SpendGuardError(
        'STORE_UNAVAILABLE',
        `close() could not settle this guard's leased slices (${err instanceof Error ? err.message : String(err)}): not recorded yet: ${what}. Retry close() when the store is back.`,
        { cause: err },
      );
    }
  }

  /** The injected clock's time, checked: a broken clock must not reach periods or the store. */
  private now(): number {
    const now = this.clock();
    if (typeof now !== 'number' || !Number.isFinite(now)) {
      throw new SpendGuardError(
        'INVALID_CONFIG',
        `the guard's clock must return milliseconds since the epoch; it returned ${String(now)}.`,
      );
    }
    return now;
  }

  private assertOpen(): void {
    if (this.closed || this.closing) throw closedGuard();
  }

  private emitAll(events: GuardEvent[]): void {
    for (const e of events) (this.emit as (type: string, payload: unknown) => boolean)(e.type, e.payload);
  }
}

export function createSpendGuard(options: SpendGuardOptions): SpendGuard {
  return new SpendGuard(options);
}
