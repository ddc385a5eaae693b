// Leased allowances: a guard holds a slice of each hard budget instance it spends on and admits spends
// out of its slices in process, without a store round trip. It settles with the store (records what it
// spent, gives back idle slices, renews the others) at least every maxHoldMs, when a slice cannot cover
// a call, and on close. Every store step is one `lease` step; events come from its before/after totals.
import type { InstanceRef, InstanceTotals, LeaseItem, StorageAdapter } from './adapter/spi.js';
import { closedGuard, isStoreFailure } from './error-factories.js';
import type { EventDeriver } from './event-derivation.js';
import { NO_EVENTS } from './event-derivation.js';
import type { GuardEvent } from './events.js';
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

/** One instance-period as this guard holds it. */
export interface Slice {
  /** Its id in the store: a fresh one for each slice started afresh, so totals under an id only grow. */
  id: string;
  ref: InstanceRef;
  rule: Rule;
  /** What the store granted at the last step (micro-units; always 0 on an instance without a hard limit). */
  granted: number;
  /** Everything admitted under this id (it never decreases: steps send it whole, so a resent one counts once). */
  spent: number;
  /** `spent` as of the last step the store answered: recorded there, and the point `granted` counts from. */
  base: number;
  /** Spent on since the last periodic settlement: an idle slice is given back. */
  active: boolean;
  /** The totals after the last step that included this instance. */
  totals?: InstanceTotals | null;
  /** A step that gives back or replaces the slice is in flight: admissions on it wait for it. */
  busy?: Promise<void> | undefined;
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

export class LeasedAllowances {
  /** The current slice of each instance, by instance name. */
  private readonly slices = new Map<string, Slice>();
  /** Slices of periods that have ended: settled (and given back) by the next step. */
  private retired: Slice[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;
  private settling: Promise<void> | undefined;
  private slicesStarted = 0;
  /** Set by settleFinal: admissions stop, so that the last settlement records everything admitted. */
  private closing = false;

  constructor(
    private readonly host: LeaseHost,
    private readonly settings: LeaseSettings,
    /** This guard's name in the store: one slice per holder and instance-period. */
    private readonly holder: string,
  ) {}

  /**
   * Admits `amount` on every instance of the call out of this guard's slices, synchronously, or returns
   * false when some slice cannot cover it now (the caller then goes through `cover`).
   */
  tryAdmit(resolved: Resolved, amount: number): boolean {
    if (this.closing) return false;
    const { refs, rules } = resolved;
    const n = refs.length;
    for (let i = 0; i < n; i++) {
      const ref = refs[i] as InstanceRef;
      if (!ref.hard) continue;
      const slice = this.slices.get(ref.name);
      if (slice === undefined || slice.busy !== undefined || slice.ref.period !== ref.period || this.roomOf(slice) < amount) {
        return false;
      }
    }
    for (let i = 0; i < n; i++) this.debit(this.sliceOf(refs[i] as InstanceRef, rules[i] as Rule), amount);
    this.startTimer();
    return true;
  }

  /**
   * Admits `amount` after renewing the slices that cannot cover it, one step at a time per slice.
   * Refuses only when a step that gave back this guard's own slice and asked for exactly the amount
   * got nothing: what is free beside other guards' slices cannot cover the call.
   */
  async cover(resolved: Resolved, amount: number): Promise<Cover> {
    const { refs, rules } = resolved;
    for (;;) {
      const slices = refs.map((ref, i) => this.sliceOf(ref, rules[i] as Rule));
      const busy = slices.filter((s) => s.busy !== undefined).map((s) => s.busy);
      if (busy.length > 0) {
        await Promise.all(busy);
        continue;
      }
      if (this.closing) throw closedGuard();
      const short = slices.filter((s) => s.ref.hard && this.roomOf(s) < amount);
      if (short.length === 0) {
        for (const s of slices) this.debit(s, amount);
        this.startTimer();
        return { ok: true };
      }
      await this.step(
        short.map((s) => ({ slice: s, want: Math.max(this.sizeOf(s), amount), min: amount })),
        true,
      );
      const refused = short.find((s) => this.roomOf(s) < amount);
      if (refused) {
        const t = refused.totals;
        return {
          ok: false,
          at: slices.indexOf(refused),
          reason: t ? 'limit_exceeded' : 'no_budget',
          remaining: this.remainingOf(refused),
        };
      }
    }
  }

  /** What is left for this guard on an instance: free in the store (as last seen) plus its own slice. */
  remainingOf(slice: Slice): number {
    const t = slice.totals;
    const limit = t ? t.limit : (slice.ref.limit ?? 0);
    const free = t ? Math.max(0, t.limit - t.used - t.reserved) : limit;
    return slice.ref.hard ? free + Math.max(0, this.roomOf(slice)) : Math.max(0, free - (slice.spent - slice.base));
  }

  /** What a slice can still admit. */
  private roomOf(s: Slice): number {
    return s.granted - (s.spent - s.base);
  }

  /** Nothing held and nothing left to record: the slice can be forgotten here. */
  private settled(s: Slice): boolean {
    return s.granted === 0 && s.spent === s.base;
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
    for (const s of held) if (s.busy) await s.busy;
    const still = held.filter((s) => s.granted > 0);
    if (still.length === 0) return false;
    await this.step(
      still.map((s) => ({ slice: s, want: 0, min: 0 })),
      true,
    );
    return true;
  }

  /**
   * Records what was spent and renews or gives back every slice: runs every maxHoldMs. An active slice
   * keeps exactly what it has left (so admissions go on while the step is in flight); an idle one, or
   * one of an ended period, is given back.
   */
  settle(): Promise<void> {
    this.settling ??= this.settleAll(false).finally(() => {
      this.settling = undefined;
    });
    return this.settling;
  }

  /**
   * The last settlement (close): nothing is admitted any more; every slice is given back once the steps
   * in flight are done, and what they admitted is recorded.
   */
  async settleFinal(): Promise<void> {
    this.closing = true;
    this.stopTimer();
    await this.settling?.catch(() => {});
    for (const s of this.slices.values()) if (s.busy) await s.busy;
    await this.settleAll(true);
  }

  private async settleAll(final: boolean): Promise<void> {
    const items: Array<{ slice: Slice; want: number; min: number }> = [];
    const wasActive: Slice[] = [];
    let givesBack = false;
    for (const s of [...this.retired, ...this.slices.values()]) {
      if (s.busy) continue;
      if (this.settled(s)) continue;
      const keep = final || this.retired.includes(s) || !s.active ? 0 : Math.max(0, this.roomOf(s));
      if (keep === 0 && s.granted > 0) givesBack = true;
      items.push({ slice: s, want: keep, min: keep });
      if (s.active) wasActive.push(s);
      s.active = false;
    }
    if (items.length === 0) return;
    // A step that gives a slice back holds its admissions; one that only records lets them go on.
    try {
      await this.step(items, givesBack);
    } catch (err) {
      for (const s of wasActive) s.active = true; // not settled: still active at the next try
      throw err;
    }
    this.retired = this.retired.filter((s) => !this.settled(s));
    for (const [name, s] of this.slices) if (this.settled(s) && !s.busy && !s.active) this.slices.delete(name);
  }

  stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * One lease step for `items`. With `hold`, the slices are busy until it ends: nothing is admitted out
   * of a slice the step may give back. Without it, the step keeps each slice's unspent part (min = want =
   * what is left at send time), so whatever is admitted meanwhile stays covered.
   */
  private async step(items: Array<{ slice: Slice; want: number; min: number }>, hold: boolean): Promise<void> {
    const sent = items.map((x) => x.slice.spent);
    const now = this.host.clock();
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
    try {
      const outcome = await (this.host.store.lease as NonNullable<StorageAdapter['lease']>)(request);
      let events = NO_EVENTS;
      items.forEach((x, i) => {
        const s = x.slice;
        s.base = sent[i] as number;
        s.granted = outcome.slices[i] ?? 0;
        const t = outcome.totals[i] ?? null;
        s.totals = t;
        if (t) events = this.host.deriver.derive(s.rule, s.ref, t, now, events);
      });
      this.host.emitAll(events);
    } catch (err) {
      // The step may have run: a slice it could have given back or replaced is not counted on until a
      // step is answered (the store holds it or charges it; what was spent is sent again, counted once).
      for (const s of held) s.granted = s.spent - s.base;
      throw err;
    } finally {
      for (const s of held) s.busy = undefined;
      done();
    }
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

  /** The slice of an instance-period, made on first use; a slice of an ended period is retired. */
  private sliceOf(ref: InstanceRef, rule: Rule): Slice {
    let s = this.slices.get(ref.name);
    if (s !== undefined && s.ref.period === ref.period) {
      if (s.ref !== ref) s.ref = ref; // a new day: its spends count in the new day
      return s;
    }
    if (s !== undefined) this.retired.push(s);
    s = { id: `${this.holder}.${(this.slicesStarted++).toString(36)}`, ref, rule, granted: 0, spent: 0, base: 0, active: false };
    this.slices.set(ref.name, s);
    return s;
  }

  private startTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      // An unreachable store is retried at the next tick; the slices keep admitting meanwhile.
      this.settle().catch((err: unknown) => {
        if (!isStoreFailure(err)) this.host.reportError('lease', err);
      });
    }, this.settings.maxHoldMs);
    this.timer.unref?.();
  }
}
