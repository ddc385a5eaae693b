// memoryAdapter(): the StorageAdapter for one process. Every operation is one synchronous function
// with no await inside, so JavaScript's single thread makes it atomic.
import type {
  ChargeOutcome,
  ChargeRequest,
  HistoryRequest,
  InstanceRef,
  InstanceTotals,
  LimitsSnapshot,
  SetLimitOutcome,
  SetLimitRequest,
  SettleOutcome,
  SettleRequest,
  StorageAdapter,
} from '@spendguard/core';
import { addToDay, effectiveLimit } from '@spendguard/core';
import { ExpiryQueue } from './expiry-queue.js';

interface PeriodRecord {
  used: number;
  reserved: number;
  day: string;
  dayUsed: number;
}

interface InstanceRecord {
  /** The latest period with activity; null before the first. */
  last: string | null;
  periods: Map<string, PeriodRecord>;
}

interface Reservation {
  amount: number;
  refs: readonly InstanceRef[];
  expiresAt: number;
  state: 'held' | 'expired' | 'committed' | 'released';
  commit?: { spendId: string; actual: number; expired: boolean };
}

interface Remembered {
  id: string;
  expiresAt?: number;
}

export interface MemoryAdapterOptions {
  /** Shown in errors and benchmark tables. */
  name?: string;
}

export function memoryAdapter(options: MemoryAdapterOptions = {}): StorageAdapter {
  const instances = new Map<string, InstanceRecord>();
  const overrides = new Map<string, number>();
  let limitsVersion = 0;
  const reservations = new Map<string, Reservation>();
  const expiries = new ExpiryQueue();
  const idempotency = new Map<string, Remembered>();
  // Forgetting is in insertion order: retention is one constant per guard, so order ≈ deadline order.
  const forgetQueue: Array<{ at: number; kind: 'key' | 'reservation'; id: string }> = [];
  let forgetHead = 0;

  function forgetDue(now: number): void {
    while (forgetHead < forgetQueue.length && (forgetQueue[forgetHead] as { at: number }).at <= now) {
      const item = forgetQueue[forgetHead++] as { kind: 'key' | 'reservation'; id: string };
      if (item.kind === 'key') idempotency.delete(item.id);
      else reservations.delete(item.id);
    }
    if (forgetHead > 1024 && forgetHead * 2 > forgetQueue.length) {
      forgetQueue.splice(0, forgetHead);
      forgetHead = 0;
    }
  }

  function record(ref: { id: string; period: string }): PeriodRecord | undefined {
    return instances.get(ref.id)?.periods.get(ref.period);
  }

  function purgeExpired(now: number): void {
    for (let id = expiries.popDue(now); id !== undefined; id = expiries.popDue(now)) {
      const r = reservations.get(id);
      if (r?.state !== 'held') continue;
      r.state = 'expired';
      for (const ref of r.refs) {
        const rec = record(ref);
        if (rec) rec.reserved -= r.amount;
      }
    }
  }

  const override = (name: string) => overrides.get(name);
  const limitOf = (ref: InstanceRef): number | null => (overrides.size === 0 ? ref.limit : effectiveLimit(ref, override));

  function totalsOf(ref: InstanceRef, limit: number, rec: PeriodRecord | undefined, usedBefore?: number): InstanceTotals {
    const used = rec ? rec.used : 0;
    return {
      limit,
      used,
      usedBefore: usedBefore ?? used,
      reserved: rec ? rec.reserved : 0,
      dayUsed: rec && rec.day === ref.day ? rec.dayUsed : 0,
    };
  }

  function currentTotals(refs: readonly InstanceRef[]): Array<InstanceTotals | null> {
    return refs.map((ref) => {
      const limit = limitOf(ref);
      return limit === null ? null : totalsOf(ref, limit, record(ref));
    });
  }

  /** Adds `used` (and `reserved`) to one instance-period and notes a period change. */
  function add(ref: InstanceRef, limit: number, used: number, reserved: number): InstanceTotals {
    let inst = instances.get(ref.id);
    if (!inst) {
      inst = { last: null, periods: new Map() };
      instances.set(ref.id, inst);
    }
    let rec = inst.periods.get(ref.period);
    if (!rec) {
      rec = { used: 0, reserved: 0, day: '', dayUsed: 0 };
      inst.periods.set(ref.period, rec);
    }
    let previous: InstanceTotals['previous'];
    if (inst.last === null) inst.last = ref.period;
    else if (ref.period > inst.last) {
      previous = { period: inst.last, used: (inst.periods.get(inst.last) as PeriodRecord).used };
      inst.last = ref.period;
    }
    const usedBefore = rec.used;
    rec.used += used;
    rec.reserved += reserved;
    addToDay(rec, ref.day, used);
    const totals = totalsOf(ref, limit, rec, usedBefore);
    if (previous) totals.previous = previous;
    return totals;
  }

  return {
    name: options.name ?? 'memory',

    charge(req: ChargeRequest): ChargeOutcome {
      const { now } = req;
      purgeExpired(now);
      forgetDue(now);
      if (req.idempotencyKey !== undefined) {
        const seen = idempotency.get(req.idempotencyKey);
        if (seen) {
          const out: ChargeOutcome = { ok: true, id: seen.id, replayed: true, totals: currentTotals(req.instances) };
          if (seen.expiresAt !== undefined) out.expiresAt = seen.expiresAt;
          return out;
        }
      }
      const refs = req.instances;
      const n = refs.length;
      const totals: Array<InstanceTotals | null> = new Array(n);
      for (let i = 0; i < n; i++) {
        const ref = refs[i] as InstanceRef;
        const limit = limitOf(ref);
        if (!ref.hard || req.force) continue;
        const rec = record(ref);
        if (limit === null || (rec ? rec.used + rec.reserved : 0) + req.amount > limit) {
          return { ok: false, refusedAt: i, missing: limit === null, totals: currentTotals(refs) };
        }
      }
      const isReserve = req.kind === 'reserve';
      const used = isReserve ? 0 : req.amount;
      const reserved = isReserve ? req.amount : 0;
      for (let i = 0; i < n; i++) {
        const ref = refs[i] as InstanceRef;
        const limit = limitOf(ref);
        totals[i] = limit === null ? null : add(ref, limit, used, reserved);
      }
      const out: ChargeOutcome = { ok: true, id: req.id, replayed: false, totals };
      if (isReserve) {
        const expiresAt = now + (req.ttlMs ?? 0);
        const held = refs.filter((_, i) => totals[i] !== null);
        reservations.set(req.id, { amount: req.amount, refs: held, expiresAt, state: 'held' });
        expiries.push(expiresAt, req.id);
        out.expiresAt = expiresAt;
      }
      if (req.idempotencyKey !== undefined) {
        idempotency.set(req.idempotencyKey, isReserve ? { id: req.id, expiresAt: out.expiresAt as number } : { id: req.id });
        forgetQueue.push({ at: now + req.retentionMs, kind: 'key', id: req.idempotencyKey });
      }
      return out;
    },

    settle(req: SettleRequest): SettleOutcome {
      purgeExpired(req.now);
      forgetDue(req.now);
      const r = reservations.get(req.reservationId);
      if (!r) return { status: 'unknown' };
      if (r.state === 'released') return { status: 'released_before' };
      if (r.state === 'committed') {
        const c = r.commit as NonNullable<Reservation['commit']>;
        return { status: 'committed_before', spendId: c.spendId, actual: c.actual, reserved: r.amount, expired: c.expired };
      }
      const expired = r.state === 'expired';
      const commit = req.action === 'commit';
      const totals = r.refs.map((ref) => {
        const limit = limitOf(ref);
        return add(ref, limit ?? 0, commit ? req.amount : 0, expired ? 0 : -r.amount);
      });
      r.state = commit ? 'committed' : 'released';
      if (commit) r.commit = { spendId: req.spendId, actual: req.amount, expired };
      forgetQueue.push({ at: req.now + req.retentionMs, kind: 'reservation', id: req.reservationId });
      return { status: 'applied', reserved: r.amount, expired, instances: r.refs, totals };
    },

    read(refs: readonly InstanceRef[], now: number): Array<InstanceTotals | null> {
      purgeExpired(now);
      return currentTotals(refs);
    },

    history(req: HistoryRequest): number[] {
      const inst = instances.get(req.id);
      return req.periods.map((p) => inst?.periods.get(p)?.used ?? 0);
    },

    instances(): string[] {
      return [...instances.keys()];
    },

    limits(): LimitsSnapshot {
      return { version: limitsVersion, overrides: Object.fromEntries(overrides) };
    },

    setLimit(req: SetLimitRequest): SetLimitOutcome {
      purgeExpired(req.now);
      const limitsBefore = req.read.map(limitOf);
      if (req.expectedVersion !== limitsVersion) {
        return { ok: false, version: limitsVersion, limitsBefore, totals: currentTotals(req.read) };
      }
      overrides.set(req.name, req.limit);
      limitsVersion++;
      return { ok: true, version: limitsVersion, limitsBefore, totals: currentTotals(req.read) };
    },

    close(): void {},
  };
}
