// Leased allowances: a guard holds a slice of each hard budget instance it spends on and admits spends
// out of its slices in process, without a store round trip. It settles with the store (records what it
// spent, gives back idle slices, renews the others) at least every maxHoldMs, when a slice cannot cover
// a call, and on close. Every store step is one `lease` step; events come from its before/after totals.
import type { InstanceRef, InstanceTotals, LeaseItem, StorageAdapter } from './adapter/spi.js';
import { closedGuard, isStoreFailure } from './error-factories.js';
import type { EventDeriver } from './event-derivation.js';
import { NO_EVENTS } from './event-derivation.js';
import type { GuardEvent } from './events.js';
import { unwatchAtExit, watchAtExit } from './exit-warning.js';
import { fromMicros } from './money.js';
import type { Resolved } from './resolver.js';
import type { Rule } from './rules.js';

export interface LeaseSettings {
  /** The share of an instance's limit one slice holds, in (0, 1]. */
  fraction: number;
  /** Settle at least this often (ms); a slice not renewed within 10 × this is charged in full. */
  maxHoldMs: number;
}

/** How much longer than maxHoldMs the store waits before it presumes a holder dead. */
export const EXPIRY_FACTOR = 10;

/** One instance-period (and day) as this guard holds it. */
export interface Slice {
  /** Its id in the store: a fresh one for each slice started afresh, so totals under an id only grow. */
  id: string;
  ref: InstanceRef;
  rule: Rule;
  /** What the store granted at the last step applied (micro-units; always 0 on an instance without a hard limit). */
  granted: number;
  /** Everything admitted under this id (it never decreases: steps send it whole, so a resent one counts once). */
  spent: number;
  /** `spent` as of the last step applied: recorded there, and the point `granted` counts from. */
  base: number;
  /** Spent on since the last periodic settlement: an idle slice is given back. */
  active: boolean;
  /** The totals after the last step applied. */
  totals?: InstanceTotals | null;
  /** A step that gives back or replaces the slice is in flight: admissions on it wait for it. */
  busy?: Promise<void> | undefined;
  /**
   * Any step for the slice is in flight (a periodic settlement lets admissions go on meanwhile): the
   * next step waits for it. One at a time per slice, or a store that may apply calls out of order
   * (Postgres runs batches on several connections) could apply an older step after a newer one and
   * shrink the slice in the store under what the guard admits out of.
   */
  stepping?: Promise<void> | undefined;
  /** Steps sent for this slice, and the latest one applied: an older answer arriving later is ignored. */
  sent: number;
  applied: number;
  /**
   * A step for it threw: the store may hold a slice under its id that `granted` does not show. Kept
   * (never forgotten as settled) until a step is answered, so that the last settlement gives it back.
   */
  unsure?: boolean;
}

export interface LeaseHost {
  store: StorageAdapter;
  deriver: EventDeriver;
  clock: () => number;
  emitAll(events: GuardEvent[]): void;
  reportError(event: string, error: unknown): void;
}

/** The outcome of covering a call: admitted out of the slices, or refused at one instance. */
export type Cover = { ok: true } | { ok: false; at: number; reason: 'limit_exceeded' | 'no_budget'; remaining: number };

interface StepItem {
  slice: Slice;
  want: number;
  min: number;
}

export class LeasedAllowances {
  /** The current slice of each instance, by instance name. */
  private readonly slices = new Map<string, Slice>();
  /** Slices of ended periods or days: settled (and given back) by the next settlement. */
  private retired: Slice[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;
  private settling: Promise<void> | undefined;
  /** When the last periodic settlement began: a busy event loop whose timer is late settles from the hot path. */
  private lastSettle = Number.NEGATIVE_INFINITY;
  private slicesStarted = 0;
  /** Set by settleFinal: admissions stop, so that the last settlement records everything admitted. */
  private closing = false;

  constructor(
    private readonly host: LeaseHost,
    private readonly settings: LeaseSettings,
    /** This guard's name in the store: slice ids start with it. */
    private readonly holder: string,
  ) {}

  /**
   * Admits `amount` on every instance of the call out of this guard's slices, synchronously, or returns
   * false when some slice cannot cover it now (the caller then goes through `cover`).
   */
  tryAdmit(resolved: Resolved, amount: number, now: number): boolean {
    if (this.closing) return false;
    const { refs, rules } = resolved;
    const n = refs.length;
    for (let i = 0; i < n; i++) {
      const ref = refs[i] as InstanceRef;
      if (!ref.hard) continue;
      const slice = this.slices.get(ref.name);
      if (slice === undefined || slice.busy !== undefined || slice.ref !== ref || this.roomOf(slice) < amount) return false;
    }
    for (let i = 0; i < n; i++) this.debit(this.sliceOf(refs[i] as InstanceRef, rules[i] as Rule), amount);
    this.keepSettling(now);
    return true;
  }

  /**
   * Admits `amount` after renewing the slices that cannot cover it, one step at a time per slice.
   * Refuses only when a step that gave back this guard's own slice and asked for at least the amount
   * was granted less: what is free beside other guards' slices cannot cover the call.
   */
  async cover(resolved: Resolved, amount: number): Promise<Cover> {
    const { refs, rules } = resolved;
    for (;;) {
      const slices = refs.map((ref, i) => this.sliceOf(ref, rules[i] as Rule));
      const busy = slices.filter((s) => s.stepping !== undefined).map((s) => s.stepping);
      if (busy.length > 0) {
        await Promise.all(busy);
        continue;
      }
      if (this.closing) throw closedGuard();
      const short = slices.filter((s) => s.ref.hard && this.roomOf(s) < amount);
      if (short.length === 0) {
        for (const s of slices) this.debit(s, amount);
        this.keepSettling(this.host.clock());
        return { ok: true };
      }
      // A slice of the instance's ended period is settled first, in the same step: what it admitted is
      // recorded before the new period opens, so that what rollover carries into it counts it.
      const ended = this.retired.filter((r) => !r.stepping && !this.settled(r) && short.some((s) => s.ref.name === r.ref.name));
      const items = [
        ...ended.map((r) => ({ slice: r, want: 0, min: 0 })),
        ...short.map((s) => ({ slice: s, want: Math.max(this.sizeOf(s), amount), min: amount })),
      ];
      const granted = (await this.step(items, true)).slice(ended.length);
      if (ended.length > 0) this.retired = this.retired.filter((r) => !this.settled(r));
      // Decided by what the step granted: a spend admitted meanwhile may already have used some of it.
      const refused = short.findIndex((_, i) => (granted[i] ?? 0) < amount);
      if (refused >= 0) {
        const slice = short[refused] as Slice;
        return {
          ok: false,
          at: slices.indexOf(slice),
          reason: slice.totals ? 'limit_exceeded' : 'no_budget',
          remaining: this.remainingOf(slice),
        };
      }
    }
  }

  /** What is left for this guard on an instance: free in the store (as last seen) plus its own slice. */
  remainingOf(slice: Slice): number {
    const t = slice.totals;
    const free = t ? Math.max(0, t.limit - t.used - t.reserved) : (slice.ref.limit ?? 0);
    return slice.ref.hard ? free + Math.max(0, this.roomOf(slice)) : Math.max(0, free - (slice.spent - slice.base));
  }

  /** The slice of each instance of a call, for `remaining`. */
  slicesOf(refs: readonly InstanceRef[]): Array<Slice | undefined> {
    return refs.map((ref) => this.slices.get(ref.name));
  }

  /** What this guard could still admit on `ref` beside what the store shows free (its unspent slice). */
  heldFor(ref: InstanceRef): number {
    const s = this.slices.get(ref.name);
    return s && s.ref.period === ref.period ? Math.max(0, this.roomOf(s)) : 0;
  }

  /** Gives back this guard's slices on `refs` (before a store call that was refused retries). */
  async giveBack(refs: readonly InstanceRef[]): Promise<boolean> {
    const held = refs.map((r) => this.slices.get(r.name)).filter((s): s is Slice => s !== undefined && s.granted > 0);
    for (const s of held) while (s.stepping) await s.stepping;
    const still = held.filter((s) => s.granted > 0);
    if (still.length === 0) return false;
    await this.step(
      still.map((s) => ({ slice: s, want: 0, min: 0 })),
      true,
    );
    return true;
  }

  /**
   * Records what was spent and renews or gives back every slice: every maxHoldMs. An active slice keeps
   * exactly what it has left (so admissions go on while the step is in flight); an idle one, or one of
   * an ended period or day, is given back.
   */
  settle(): Promise<void> {
    this.settling ??= this.settleAll(false).finally(() => {
      this.settling = undefined;
    });
    return this.settling;
  }

  /**
   * The last settlement (close): nothing is admitted any more; every slice is given back once the steps
   * in flight are done, and what they admitted is recorded. May be retried after it failed.
   */
  async settleFinal(): Promise<void> {
    this.closing = true;
    this.stopTimer();
    await this.settling?.catch(() => {});
    for (const s of this.slices.values()) while (s.stepping) await s.stepping;
    await this.settleAll(true);
    unwatchAtExit(this);
  }

  /** Admitted spends not yet recorded in the store, or undefined when there are none. */
  unrecorded(): string | undefined {
    let hard = 0;
    let soft = 0;
    for (const s of this.all()) {
      if (s.ref.hard) hard += s.spent - s.base;
      else soft += s.spent - s.base;
    }
    if (hard === 0 && soft === 0) return undefined;
    return `${fromMicros(hard)} admitted on hard budgets (their slices are charged in full when they expire) and ${fromMicros(soft)} on soft budgets (recorded only by a settlement)`;
  }

  /** The exit warning: admitted spends this process did not record. */
  pendingAtExit(): string | undefined {
    const what = this.unrecorded();
    return what && `the process exits with leased spends not recorded in the budget store: ${what}. Call guard.close() before exiting.`;
  }

  stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async settleAll(final: boolean): Promise<void> {
    this.lastSettle = this.host.clock();
    const items: StepItem[] = [];
    const wasActive: Slice[] = [];
    let givesBack = false;
    for (const s of this.all()) {
      if (s.stepping || this.settled(s)) continue;
      const keep = final || this.retired.includes(s) || !s.active ? 0 : Math.max(0, this.roomOf(s));
      if (keep === 0 && s.granted > 0) givesBack = true;
      items.push({ slice: s, want: keep, min: keep });
      if (s.active) wasActive.push(s);
      s.active = false;
    }
    if (items.length > 0) {
      // A step that gives a slice back holds its admissions; one that only records lets them go on.
      try {
        await this.step(items, givesBack);
      } catch (err) {
        for (const s of wasActive) s.active = true; // not settled: still active at the next try
        throw err;
      }
    }
    this.retired = this.retired.filter((s) => !this.settled(s));
    for (const [name, s] of this.slices) if (this.settled(s) && !s.stepping && !s.active) this.slices.delete(name);
  }

  /**
   * One lease step for `items`; returns what it granted per item. With `hold`, the slices are busy until
   * it ends: nothing is admitted out of a slice the step may give back. Without it, the step keeps each
   * slice's unspent part (min = want = what is left at send time), so whatever is admitted meanwhile
   * stays covered.
   */
  private async step(items: StepItem[], hold: boolean): Promise<number[]> {
    const now = this.host.clock();
    const sent = items.map((x) => x.slice.spent);
    const seqs = items.map((x) => ++x.slice.sent);
    const request = {
      now,
      expireMs: this.settings.maxHoldMs * EXPIRY_FACTOR,
      items: items.map(
        (x, i): LeaseItem => ({
          id: x.slice.id,
          ref: x.slice.ref,
          spent: sent[i] as number,
          want: x.slice.ref.hard ? x.want : 0,
          min: x.slice.ref.hard ? x.min : 0,
        }),
      ),
    };
    let done: () => void = () => {};
    const busy = new Promise<void>((resolve) => {
      done = resolve;
    });
    const held = hold ? items.map((x) => x.slice).filter((s) => s.ref.hard) : [];
    for (const s of held) s.busy = busy;
    for (const x of items) x.slice.stepping = busy;
    try {
      const outcome = await (this.host.store.lease as NonNullable<StorageAdapter['lease']>)(request);
      let events = NO_EVENTS;
      items.forEach((x, i) => {
        const s = x.slice;
        const t = outcome.totals[i] ?? null;
        if (t) events = this.host.deriver.derive(s.rule, s.ref, t, now, events);
        if ((seqs[i] as number) < s.applied) return; // a later step was applied first
        s.applied = seqs[i] as number;
        s.unsure = false;
        s.base = sent[i] as number;
        s.granted = outcome.slices[i] ?? 0;
        s.totals = t;
      });
      this.host.emitAll(events);
      return outcome.slices;
    } catch (err) {
      // The step may have run: a slice it could have given back or replaced is not counted on until a
      // step is answered (the store holds it or charges it; what was spent is sent again, counted once).
      for (const s of held) s.granted = s.spent - s.base;
      for (const x of items) x.slice.unsure = true;
      throw err;
    } finally {
      for (const s of held) s.busy = undefined;
      for (const x of items) if (x.slice.stepping === busy) x.slice.stepping = undefined;
      done();
    }
  }

  /** What a slice can still admit. */
  private roomOf(s: Slice): number {
    return s.granted - (s.spent - s.base);
  }

  /** Nothing held and nothing left to record: the slice can be forgotten here. */
  private settled(s: Slice): boolean {
    return s.granted === 0 && s.spent === s.base && !s.unsure;
  }

  private all(): Slice[] {
    return [...this.retired, ...this.slices.values()];
  }

  /** The slice size this guard asks for: `fraction` of the instance's limit as last seen. */
  private sizeOf(s: Slice): number {
    const limit = s.totals ? s.totals.limit : (s.ref.limit ?? 0);
    return Math.max(1, Math.floor(limit * this.settings.fraction));
  }

  private debit(s: Slice, amount: number): void {
    s.spent += amount;
    s.active = true;
  }

  /**
   * The slice of an instance as `ref` names it, made on first use. A slice of an ended period, or of
   * an earlier day, is retired (settled in its own period and day) and a new one starts.
   */
  private sliceOf(ref: InstanceRef, rule: Rule): Slice {
    let s = this.slices.get(ref.name);
    if (s !== undefined && s.ref === ref) return s;
    if (s !== undefined && s.ref.period === ref.period && s.ref.day === ref.day) {
      s.ref = ref; // the same instance-period and day under a new ref object: the resolver rebuilt it
      return s;
    }
    if (s !== undefined) this.retired.push(s);
    s = {
      id: `${this.holder}.${(this.slicesStarted++).toString(36)}`,
      ref,
      rule,
      granted: 0,
      spent: 0,
      base: 0,
      active: false,
      sent: 0,
      applied: 0,
    };
    this.slices.set(ref.name, s);
    return s;
  }

  /**
   * Settlement runs on an unref'd timer every maxHoldMs; a process whose event loop stays busy (spends
   * awaited in a loop run no timers) settles from here once the timer is late, so that a live guard's
   * slices never expire.
   */
  private keepSettling(now: number): void {
    if (this.timer === undefined) {
      watchAtExit(this);
      this.lastSettle = now;
      this.timer = setInterval(() => this.settleInBackground(), this.settings.maxHoldMs);
      this.timer.unref?.();
    } else if (now - this.lastSettle >= this.settings.maxHoldMs && this.settling === undefined) {
      this.settleInBackground();
    }
  }

  private settleInBackground(): void {
    // An unreachable store is retried at the next tick; the slices keep admitting meanwhile.
    this.settle().catch((err: unknown) => {
      if (!isStoreFailure(err)) this.host.reportError('lease', err);
    });
  }
}
