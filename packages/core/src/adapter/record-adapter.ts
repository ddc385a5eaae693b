// The charge / settle / set-limit algorithm, written once for every JavaScript adapter over the
// synchronous Records interface. The Redis scripts mirror it in Lua; the conformance suite holds both.
import { addToDay } from './day-total.js';
import { activeGrants, carriedIn } from './effective-limit.js';
import { crossesMark, DEFAULT_EVENT_RETENTION_MS, type FactNote, factOf, isForecastClaim } from './feed.js';
import { groupCommit } from './group-commit.js';
import { grantFor } from './lease-grant.js';
import type { PeriodRecord, Records, ReservationRecord } from './records.js';
import type {
  AdapterCapabilities,
  ChargeOutcome,
  ChargeRequest,
  FeedRequest,
  GrantRequest,
  HistoryRequest,
  InstancePage,
  InstancePageRequest,
  InstanceRef,
  InstanceTotals,
  LeaseOutcome,
  LeaseRequest,
  LimitsSnapshot,
  SetLimitOutcome,
  SetLimitRequest,
  SettleOutcome,
  SettleRequest,
  StorageAdapter,
  StoreSettings,
} from './spi.js';

export const DEFAULT_RETENTION_MS = 86_400_000;
export const DEFAULT_HISTORY_RETENTION_MS = 2 * 365 * 86_400_000;
/** How many forgotten records one step deletes at most, so that no step grows with the backlog. */
const FORGET_BATCH = 256;
const SWEEP_EVERY_MS = 1000;

export interface RecordAdapterOptions {
  name: string;
  records: Records;
  /** Runs `body` as one atomic step (memory: directly; SQLite: one IMMEDIATE transaction). */
  atomic: <T>(body: () => T) => T;
  /**
   * Steps called in the same tick share one `atomic` call, at most `maxSteps` of them, each applied in
   * order with its own result; the methods that run steps then return promises. For stores that pay
   * per transaction (SQLite); pointless where a step is a plain function (memory).
   */
  groupCommit?: { maxSteps: number };
  /** Runs a read that changes nothing (SQLite: a deferred transaction). Default: `atomic`. */
  snapshot?: <T>(body: () => T) => T;
  /** How long a period's totals stay readable after the period ends. Default two years. */
  historyRetentionMs?: number;
  ledger?: boolean;
  close?: () => void;
}

/** A StorageAdapter whose every operation runs the shared algorithm over `records`. */
export function createRecordAdapter(options: RecordAdapterOptions): StorageAdapter {
  const { records } = options;
  const group = options.groupCommit ? groupCommit(options.atomic, options.groupCommit.maxSteps) : undefined;
  /** Every writing step goes through here, so each one joins a group when grouping is on. */
  const atomic: <T>(body: () => T) => T | Promise<T> = group ? group.run : options.atomic;
  const snapshot = options.snapshot ?? options.atomic;
  const historyRetentionMs = options.historyRetentionMs ?? DEFAULT_HISTORY_RETENTION_MS;
  const keepLedger = options.ledger === true && records.appendLedger !== undefined;
  /** Set by the guards on this adapter (configure); the longest one asked for wins. */
  let retentionMs = DEFAULT_RETENTION_MS;
  /** Guards that configured this adapter and have not closed it: the last close closes the store. */
  let users = 0;
  let nextSweep = Number.NEGATIVE_INFINITY;
  let eventRetentionMs = DEFAULT_EVENT_RETENTION_MS;

  /**
   * Appends a feed fact when the step may have caused events on `ref` (written by this same step). It
   * starts from `used` before the step (`usedBefore` may be older: a charged slice's crossing, which
   * went into the feed when it was charged).
   */
  function noteFact(ref: InstanceRef, t: InstanceTotals, now: number, usedDelta: number, note?: FactNote): void {
    const marks = ref.marks;
    if (!marks) return;
    const usedBefore = t.used - usedDelta;
    if (!note && !crossesMark(marks, usedBefore, t.used, t.limitBefore, t.limit, t.previous !== undefined)) return;
    const moved: Pick<InstanceTotals, 'used' | 'usedBefore' | 'limit' | 'limitBefore' | 'previous'> = {
      used: t.used,
      usedBefore,
      limit: t.limit,
      limitBefore: t.limitBefore,
    };
    if (t.previous) moved.previous = t.previous;
    records.appendFact(factOf(ref, moved, now, note), now + eventRetentionMs);
  }

  /** The first override found, else the configured limit: the limit before carry and grants. */
  const baseOf = (ref: InstanceRef): number | null => {
    if (records.noRuntimeLimits()) return ref.limit;
    for (const name of ref.limitKeys) {
      const value = records.override(name);
      if (value !== undefined) return value;
    }
    return ref.limit;
  };

  /** What rollover carries into the ref's period: kept with its totals, or what the opening step will keep. */
  function carriedOf(ref: InstanceRef, rec: PeriodRecord | undefined, base: number): number {
    const rollover = ref.rollover;
    if (!rollover) return 0;
    if (rec) return rec.carried ?? 0;
    const previous = records.totals(ref.name, rollover.previous);
    let previousUsed: number | null = previous ? previous.used : null;
    if (previousUsed === null) {
      const last = records.lastPeriod(ref.name);
      // Active before, idle all through the previous period: its whole limit went unused.
      if (last !== undefined && last < rollover.previous) previousUsed = 0;
    }
    return carriedIn(rollover.max, base, previousUsed);
  }

  /** The effective limit of the ref's period (`rec`: its totals): base + carried + active grants. */
  function limitOf(ref: InstanceRef, rec: PeriodRecord | undefined, now: number): number | null {
    const base = baseOf(ref);
    if (base === null) return null;
    let limit = base;
    if (ref.rollover) limit += carriedOf(ref, rec, base);
    if (!records.noRuntimeLimits()) limit += activeGrants(records.grantsOf(ref.name), now);
    return limit;
  }

  const forgetAtOf = (ref: InstanceRef): number => (ref.periodEnd > 0 ? ref.periodEnd + historyRetentionMs : 0);

  /** What every writing step does first: expired holds freed, and a bounded batch of old records forgotten. */
  function housekeeping(now: number): void {
    for (let id = records.nextDueReservation(now); id !== undefined; id = records.nextDueReservation(now)) {
      const r = records.reservation(id);
      if (r?.state !== 'held') continue;
      for (const ref of r.refs) {
        const rec = records.totals(ref.name, ref.period);
        if (!rec) continue;
        rec.reserved -= r.amount;
        records.writeTotals(ref.name, ref.period, rec, forgetAtOf(ref));
      }
      // Remembered for the retention from when it expired, not from when a later step noticed.
      records.saveReservation(id, { ...r, state: 'expired' }, r.expiresAt + retentionMs);
    }
    for (let id = records.nextDueLease(now); id !== undefined; id = records.nextDueLease(now)) {
      const l = records.lease(id);
      // A renewed lease leaves its older deadline behind: only one still holding past its time is charged.
      if (!l || l.amount === 0 || l.expiresAt > now) continue;
      const rec = records.totals(l.ref.name, l.ref.period);
      if (rec) {
        // Its holder is presumed dead: the slice is charged in full. The level seen so far stays in
        // seenUsed, so that the next step on this instance reports the crossing this charge caused.
        if (rec.seenUsed == null) rec.seenUsed = rec.used;
        // The feed has the crossing now, even if no step ever comes to this instance-period again.
        const limit = limitOf(l.ref, rec, now) ?? 0;
        noteFact(
          l.ref,
          { limit, limitBefore: limit, used: rec.used + l.amount, usedBefore: rec.used, reserved: 0, dayUsed: 0 },
          now,
          l.amount,
        );
        rec.used += l.amount;
        rec.reserved -= l.amount;
        rec.leased = (rec.leased ?? 0) - l.amount;
        addToDay(rec, l.ref.day, l.amount);
        records.writeTotals(l.ref.name, l.ref.period, rec, forgetAtOf(l.ref));
      }
      records.saveLease(id, { ...l, amount: 0, recorded: l.recorded + l.amount }, l.expiresAt + retentionMs);
    }
    if (now >= nextSweep) {
      const deleted = records.forgetDue(now, FORGET_BATCH);
      nextSweep = deleted === FORGET_BATCH ? now : now + SWEEP_EVERY_MS;
    }
  }

  function totalsOf(ref: InstanceRef, limit: number, rec: PeriodRecord | undefined): InstanceTotals {
    const used = rec ? rec.used : 0;
    const totals: InstanceTotals = {
      limit,
      limitBefore: limit,
      used,
      usedBefore: used,
      reserved: rec ? rec.reserved : 0,
      dayUsed: rec && rec.day === ref.day ? rec.dayUsed : 0,
    };
    if (rec?.leased) totals.leased = rec.leased;
    if (ref.rollover) totals.carried = carriedOf(ref, rec, baseOf(ref) ?? 0);
    return totals;
  }

  function currentTotals(refs: readonly InstanceRef[], now: number): Array<InstanceTotals | null> {
    const out: Array<InstanceTotals | null> = new Array(refs.length);
    for (let i = 0; i < refs.length; i++) {
      const ref = refs[i] as InstanceRef;
      const rec = records.totals(ref.name, ref.period);
      const limit = limitOf(ref, rec, now);
      out[i] = limit === null ? null : totalsOf(ref, limit, rec);
    }
    return out;
  }

  /**
   * Adds to one instance-period (`leased` is the part of `reserved` that is a leased slice); the first
   * write of a period moves the instance's latest period.
   */
  function add(
    ref: InstanceRef,
    limit: number,
    found: PeriodRecord | undefined,
    used: number,
    reserved: number,
    leased = 0,
  ): InstanceTotals {
    const rec = found ?? { used: 0, reserved: 0, day: '', dayUsed: 0, seenLimit: limit };
    // The step that opens a period fixes what rollover carries into it, before the period is the latest.
    if (!found && ref.rollover) rec.carried = carriedOf(ref, undefined, baseOf(ref) ?? 0);
    const totals: InstanceTotals = {
      limit,
      limitBefore: rec.seenLimit ?? limit,
      used: rec.used + used,
      usedBefore: rec.seenUsed ?? rec.used,
      reserved: rec.reserved + reserved,
      dayUsed: 0,
    };
    rec.used += used;
    rec.reserved += reserved;
    rec.seenLimit = limit;
    if (rec.seenUsed != null) rec.seenUsed = null;
    if (leased !== 0 || rec.leased) {
      rec.leased = (rec.leased ?? 0) + leased;
      totals.leased = rec.leased;
    }
    addToDay(rec, ref.day, used);
    if (rec.day === ref.day) totals.dayUsed = rec.dayUsed;
    if (ref.rollover) totals.carried = rec.carried ?? 0;
    const forgetAt = forgetAtOf(ref);
    records.writeTotals(ref.name, ref.period, rec, forgetAt);
    if (!found) {
      const last = records.lastPeriod(ref.name);
      if (last === undefined || ref.period > last) {
        if (last !== undefined) {
          const before = records.totals(ref.name, last);
          totals.previous = { period: last, used: before?.used ?? 0 };
          if (before?.seenLimit != null) totals.previous.limit = before.seenLimit;
        }
        records.setLastPeriod(ref.name, ref.rule, ref.period, forgetAt);
      }
    }
    return totals;
  }

  function charge(req: ChargeRequest): ChargeOutcome {
    const forecast = isForecastClaim(req);
    housekeeping(req.now);
    if (req.idempotencyKey !== undefined) {
      const seen = records.rememberedKey(req.idempotencyKey, req.now);
      if (seen) {
        const out: ChargeOutcome = { ok: true, callId: seen.callId, replayed: true, totals: currentTotals(req.instances, req.now) };
        if (seen.expiresAt !== undefined) out.expiresAt = seen.expiresAt;
        return out;
      }
    }
    const refs = req.instances;
    const n = refs.length;
    const limits: Array<number | null> = new Array(n);
    const found: Array<PeriodRecord | undefined> = new Array(n);
    for (let i = 0; i < n; i++) {
      const ref = refs[i] as InstanceRef;
      const rec = records.totals(ref.name, ref.period);
      const limit = limitOf(ref, rec, req.now);
      limits[i] = limit;
      found[i] = rec;
      if (!ref.hard || req.force || forecast) continue;
      if (limit === null || (rec ? rec.used + rec.reserved : 0) + req.amount > limit) {
        return { ok: false, refusedAt: i, reason: limit === null ? 'no_budget' : 'limit_exceeded', totals: currentTotals(refs, req.now) };
      }
    }
    const isReserve = req.kind === 'reserve';
    const used = isReserve ? 0 : req.amount;
    const reserved = isReserve ? req.amount : 0;
    const totals: Array<InstanceTotals | null> = new Array(n);
    const note: FactNote | undefined = forecast
      ? { forecast: { at: req.now } }
      : req.force && req.overage
        ? { overage: req.overage }
        : undefined;
    for (let i = 0; i < n; i++) {
      const limit = limits[i] as number | null;
      if (limit === null) {
        totals[i] = null;
        continue;
      }
      const t = add(refs[i] as InstanceRef, limit, found[i], used, reserved);
      totals[i] = t;
      noteFact(refs[i] as InstanceRef, t, req.now, used, note);
    }
    const out: ChargeOutcome = { ok: true, callId: req.callId, replayed: false, totals };
    if (isReserve) {
      const expiresAt = req.now + (req.ttlMs ?? 0);
      const held = refs.filter((_, i) => limits[i] !== null);
      const record: ReservationRecord = { amount: req.amount, refs: held, expiresAt, state: 'held' };
      if (req.ledger) record.ledger = req.ledger;
      records.saveReservation(req.callId, record, 0);
      out.expiresAt = expiresAt;
    } else if (keepLedger && req.ledger) {
      appendLedger(req.now, refs, 'spend', req.callId, null, req.amount, req.ledger);
    }
    if (req.idempotencyKey !== undefined) {
      const remembered = isReserve ? { callId: req.callId, expiresAt: out.expiresAt as number } : { callId: req.callId };
      // A reservation's key lives as long as the reservation can still be settled, and then retentionMs.
      const forgetKeyAt = (isReserve ? (out.expiresAt as number) : req.now) + retentionMs;
      records.rememberKey(req.idempotencyKey, remembered, forgetKeyAt);
    }
    return out;
  }

  function appendLedger(
    at: number,
    refs: readonly InstanceRef[],
    kind: 'spend' | 'commit',
    spendId: string,
    reservationId: string | null,
    amount: number,
    ledger: NonNullable<ChargeRequest['ledger']>,
  ): void {
    const day = refs[0]?.day ?? new Date(at).toISOString().slice(0, 10);
    records.appendLedger?.({ at, day, kind, spendId, reservationId, amount, ledger });
  }

  function settle(req: SettleRequest): SettleOutcome {
    housekeeping(req.now);
    const r = records.reservation(req.reservationId);
    if (!r) return { status: 'unknown' };
    if (r.state === 'released') return { status: 'released_before' };
    if (r.state === 'committed') {
      const c = r.commit as NonNullable<ReservationRecord['commit']>;
      return { status: 'committed_before', spendId: c.spendId, actual: c.actual, reserved: r.amount, expired: c.expired };
    }
    const expired = r.state === 'expired';
    const commit = req.action === 'commit';
    const used = commit ? req.amount : 0;
    const overage: FactNote | undefined =
      commit && req.amount > r.amount
        ? { overage: { reservationId: req.reservationId, reserved: r.amount, actual: req.amount } }
        : undefined;
    const totals = r.refs.map((ref) => {
      const rec = records.totals(ref.name, ref.period);
      const t = add(ref, limitOf(ref, rec, req.now) ?? 0, rec, used, expired ? 0 : -r.amount);
      noteFact(ref, t, req.now, used, overage);
      return t;
    });
    const settled: ReservationRecord = { ...r, state: commit ? 'committed' : 'released' };
    if (req.action === 'commit') {
      settled.commit = { spendId: req.spendId, actual: req.amount, expired };
      if (keepLedger && r.ledger) appendLedger(req.now, r.refs, 'commit', req.spendId, req.reservationId, req.amount, r.ledger);
    }
    records.saveReservation(req.reservationId, settled, req.now + retentionMs);
    return { status: 'applied', reserved: r.amount, expired, instances: r.refs, totals };
  }

  function lease(req: LeaseRequest): LeaseOutcome {
    housekeeping(req.now);
    const n = req.items.length;
    const slices: number[] = new Array(n);
    const totals: Array<InstanceTotals | null> = new Array(n);
    for (let i = 0; i < n; i++) {
      const item = req.items[i] as LeaseRequest['items'][number];
      const ref = item.ref;
      const rec = records.totals(ref.name, ref.period);
      const limit = limitOf(ref, rec, req.now);
      slices[i] = 0;
      totals[i] = null;
      if (limit === null) continue; // like a charge: an instance without any limit is skipped
      const held = records.lease(item.id);
      const given = held ? held.amount : 0;
      const recorded = held ? held.recorded : 0;
      const used = Math.max(0, item.spent - recorded);
      const free = limit - ((rec ? rec.used : 0) + used) - ((rec ? rec.reserved : 0) - given);
      const slice = ref.hard ? grantFor(item.want, item.min, free) : 0;
      const t = add(ref, limit, rec, used, slice - given, slice - given);
      totals[i] = t;
      noteFact(ref, t, req.now, used);
      slices[i] = slice;
      // Kept while it holds; then as long as a step sent again could still arrive (the retention).
      const forgetAt = slice > 0 ? 0 : req.now + retentionMs;
      records.saveLease(
        item.id,
        { amount: slice, recorded: Math.max(recorded, item.spent), ref, expiresAt: req.now + req.expireMs },
        forgetAt,
      );
    }
    return { slices, totals };
  }

  function observe(refs: readonly InstanceRef[], now: number): Array<InstanceTotals | null> {
    housekeeping(now);
    return refs.map((ref) => {
      const rec = records.totals(ref.name, ref.period);
      const limit = limitOf(ref, rec, now);
      if (limit === null) return null;
      const totals = totalsOf(ref, limit, rec);
      if (rec && (rec.seenLimit !== limit || rec.seenUsed != null)) {
        totals.limitBefore = rec.seenLimit ?? limit;
        totals.usedBefore = rec.seenUsed ?? rec.used;
        rec.seenLimit = limit;
        rec.seenUsed = null;
        records.writeTotals(ref.name, ref.period, rec, forgetAtOf(ref));
        noteFact(ref, totals, now, totals.used - totals.usedBefore);
      }
      return totals;
    });
  }

  function setLimit(req: SetLimitRequest): SetLimitOutcome {
    const version = records.limitsVersion();
    if (req.expectedVersion !== version) return { ok: false, version };
    return { ok: true, version: records.setOverride(req.name, req.limit) };
  }

  function grant(req: GrantRequest): SetLimitOutcome {
    // Sent again after its answer was lost: it is there, whatever the version now.
    if (records.hasGrant(req.grant.id)) return { ok: true, version: records.limitsVersion() };
    const version = records.limitsVersion();
    if (req.expectedVersion !== version) return { ok: false, version };
    return { ok: true, version: records.addGrant(req.grant) };
  }

  const capabilities: AdapterCapabilities = { ledger: keepLedger, serverClock: false };

  return {
    name: options.name,
    capabilities,
    configure(settings: StoreSettings): void {
      retentionMs = users === 0 ? settings.retentionMs : Math.max(retentionMs, settings.retentionMs);
      const events = settings.eventRetentionMs ?? DEFAULT_EVENT_RETENTION_MS;
      eventRetentionMs = users === 0 ? events : Math.max(eventRetentionMs, events);
      users++;
    },
    charge: (req) => atomic(() => charge(req)),
    settle: (req) => atomic(() => settle(req)),
    lease: (req) => atomic(() => lease(req)),
    read: (refs, now) =>
      atomic(() => {
        housekeeping(now);
        return currentTotals(refs, now);
      }),
    observe: (refs, now) => atomic(() => observe(refs, now)),
    feed: (req: FeedRequest) => snapshot(() => records.factsFrom(req.from, req.limit)),
    history: (req: HistoryRequest) => snapshot(() => req.periods.map((p) => records.totals(req.instance, p)?.used ?? 0)),
    instances: (req: InstancePageRequest): InstancePage => snapshot(() => records.instancesPage(req.rule, req.cursor, req.limit)),
    limits: (): LimitsSnapshot =>
      snapshot(() => ({ version: records.limitsVersion(), overrides: records.overrides(), grants: records.grants() })),
    setLimit: (req) => atomic(() => setLimit(req)),
    grant: (req) => atomic(() => grant(req)),
    close() {
      if (users > 1) {
        users--;
        return;
      }
      users = 0;
      group?.flush();
      options.close?.();
    },
  };
}
