// The memory adapter's records: Maps in this process, with a forget queue ordered by deadline.

import type {
  FeedFact,
  Grant,
  InstancePage,
  LeaseRecord,
  PeriodRecord,
  Records,
  RememberedKey,
  ReservationRecord,
} from '@spendguard/core/adapter';
import { factNumber } from '@spendguard/core/adapter';
import { DeadlineQueue } from './deadline-queue.js';
import { RuleListing } from './rule-listing.js';

interface InstanceRecord {
  last: string | undefined;
  /** The rule that lists the instance. */
  rule: string;
  /** Its sequence number in the rule's listing, or -1 while it is not listed. */
  listed: number;
  periods: Map<string, PeriodRecord>;
  /** When the latest period's totals are forgotten and the instance leaves the listing (0: never). */
  forgetAt: number;
}

/**
 * One entry per record to forget. An instance's latest period goes with the instance's own entry;
 * a period gets an entry of its own once a later one supersedes it (or when written late, behind it).
 */
type Forgettable =
  | { kind: 'key'; key: string }
  | { kind: 'reservation'; id: string }
  | { kind: 'lease'; id: string }
  | { kind: 'fact'; seq: number }
  | { kind: 'grant'; id: string; name: string }
  | { kind: 'totals'; instance: string; period: string }
  | { kind: 'instance'; instance: string };

/** What the store holds now, for tests and monitoring: each count is of records kept in memory. */
export interface MemoryStats {
  /** Instances with a latest period or totals. */
  instances: number;
  /** Period totals (one per instance and period). */
  totals: number;
  /** Instance names listed under their rules (for status() and setLimit without a key). */
  listed: number;
  reservations: number;
  /** Leased slices, holding or remembered for their retention. */
  leases: number;
  /** Facts kept in the event feed. */
  facts: number;
  /** Grants kept (until they expire). */
  grants: number;
  idempotencyKeys: number;
  /** Entries waiting in the forget and expiry queues. */
  queued: number;
}

export function memoryRecords(): Records & { stats(): MemoryStats } {
  const instances = new Map<string, InstanceRecord>();
  const listings = new Map<string, RuleListing>();
  const overrides = new Map<string, number>();
  let version = 0;
  /** Grants by instance name, and the ids stored. */
  const grants = new Map<string, Grant[]>();
  const grantIds = new Set<string>();
  let totalsCount = 0;
  const reservations = new Map<string, { record: ReservationRecord; forgetAt: number }>();
  const keys = new Map<string, { value: RememberedKey; forgetAt: number }>();
  const leases = new Map<string, { record: LeaseRecord; forgetAt: number }>();
  const expiries = new DeadlineQueue<string>();
  const leaseExpiries = new DeadlineQueue<string>();
  /** The feed: fact number `seq` is at facts[seq - firstSeq] (null once forgotten; the front is trimmed). */
  const facts: Array<FeedFact | null> = [];
  let firstSeq = 1;
  let factCount = 0;
  const forgets = new DeadlineQueue<Forgettable>();

  function instance(name: string, rule: string): InstanceRecord {
    let inst = instances.get(name);
    if (!inst) {
      inst = { last: undefined, rule, listed: -1, periods: new Map(), forgetAt: 0 };
      instances.set(name, inst);
    }
    return inst;
  }

  const due = (inst: InstanceRecord, now: number) => inst.forgetAt !== 0 && inst.forgetAt <= now;

  function unlist(inst: InstanceRecord): void {
    if (inst.listed < 0) return;
    listings.get(inst.rule)?.remove(inst.listed);
    inst.listed = -1;
  }

  /** Forgets an instance and its place in its rule's listing. */
  function drop(name: string, inst: InstanceRecord): void {
    unlist(inst);
    instances.delete(name);
  }

  function forget(item: Forgettable, now: number): void {
    switch (item.kind) {
      case 'key': {
        const k = keys.get(item.key);
        if (k && k.forgetAt <= now) keys.delete(item.key);
        return;
      }
      case 'reservation': {
        const r = reservations.get(item.id);
        if (r && r.forgetAt !== 0 && r.forgetAt <= now) reservations.delete(item.id);
        return;
      }
      case 'lease': {
        const l = leases.get(item.id);
        if (l && l.forgetAt !== 0 && l.forgetAt <= now) leases.delete(item.id);
        return;
      }
      case 'fact': {
        const at = item.seq - firstSeq;
        if (at >= 0 && facts[at]) {
          facts[at] = null;
          factCount--;
        }
        let trim = 0;
        while (trim < facts.length && facts[trim] === null) trim++;
        if (trim > 0) {
          facts.splice(0, trim);
          firstSeq += trim;
        }
        return;
      }
      case 'grant': {
        const list = grants.get(item.name)?.filter((g) => g.id !== item.id);
        if (list === undefined) return;
        grantIds.delete(item.id);
        if (list.length > 0) grants.set(item.name, list);
        else grants.delete(item.name);
        return;
      }
      case 'totals': {
        // A period's forget time is fixed by its end, so any due entry for it means the record is due.
        const inst = instances.get(item.instance);
        if (!inst?.periods.delete(item.period)) return;
        totalsCount--;
        if (inst.periods.size === 0 && due(inst, now)) drop(item.instance, inst);
        return;
      }
      case 'instance': {
        const inst = instances.get(item.instance);
        if (!inst || !due(inst, now)) return;
        if (inst.last !== undefined && inst.periods.delete(inst.last)) totalsCount--;
        if (inst.periods.size === 0) drop(item.instance, inst);
        else {
          // Older totals still wait for their own entries; the last of them drops the instance.
          unlist(inst);
          inst.last = undefined;
        }
      }
    }
  }

  return {
    stats: () => {
      let listed = 0;
      for (const listing of listings.values()) listed += listing.size;
      return {
        instances: instances.size,
        totals: totalsCount,
        listed,
        reservations: reservations.size,
        leases: leases.size,
        facts: factCount,
        grants: grantIds.size,
        idempotencyKeys: keys.size,
        queued: forgets.size + expiries.size + leaseExpiries.size,
      };
    },
    totals: (name, period) => instances.get(name)?.periods.get(period),
    writeTotals(name, period, record, forgetAt) {
      const inst = instance(name, '');
      const before = inst.periods.get(period);
      if (before === record) return; // updated in place
      inst.periods.set(period, record);
      if (before === undefined) totalsCount++;
      // A new latest period is followed by setLastPeriod, whose entry forgets it; an older one needs its own.
      const latest = inst.last === undefined || period > inst.last;
      if (forgetAt !== 0 && !latest) forgets.push(forgetAt, { kind: 'totals', instance: name, period });
    },
    lastPeriod: (name) => instances.get(name)?.last,
    setLastPeriod(name, rule, period, forgetAt) {
      const inst = instance(name, rule);
      // The superseded latest period now needs an entry of its own.
      if (inst.last !== undefined && inst.last !== period && inst.forgetAt !== 0 && inst.periods.has(inst.last)) {
        forgets.push(inst.forgetAt, { kind: 'totals', instance: name, period: inst.last });
      }
      inst.last = period;
      inst.rule = rule;
      inst.forgetAt = forgetAt;
      if (inst.listed < 0) {
        let listing = listings.get(rule);
        if (!listing) {
          listing = new RuleListing();
          listings.set(rule, listing);
        }
        inst.listed = listing.add(name);
      }
      if (forgetAt !== 0) forgets.push(forgetAt, { kind: 'instance', instance: name });
    },

    override: (name) => overrides.get(name),
    noRuntimeLimits: () => overrides.size === 0 && grants.size === 0,
    overrides: () => new Map(overrides),
    limitsVersion: () => version,
    setOverride(name, amount) {
      overrides.set(name, amount);
      return ++version;
    },
    grantsOf: (name) => grants.get(name),
    grants: () => [...grants.values()].flat(),
    hasGrant: (id) => grantIds.has(id),
    addGrant(grant) {
      // A new array: a step that read the old list keeps a consistent one.
      grants.set(grant.name, [...(grants.get(grant.name) ?? []), grant]);
      grantIds.add(grant.id);
      forgets.push(grant.expiresAt, { kind: 'grant', id: grant.id, name: grant.name });
      return ++version;
    },

    reservation: (id) => reservations.get(id)?.record,
    saveReservation(id, record, forgetAt) {
      reservations.set(id, { record, forgetAt });
      if (record.state === 'held') expiries.push(record.expiresAt, id);
      if (forgetAt !== 0) forgets.push(forgetAt, { kind: 'reservation', id });
    },
    nextDueReservation: (now) => expiries.popDue(now),

    lease: (id) => leases.get(id)?.record,
    saveLease(id, record, forgetAt) {
      leases.set(id, { record, forgetAt });
      if (record.amount > 0) leaseExpiries.push(record.expiresAt, id);
      if (forgetAt !== 0) forgets.push(forgetAt, { kind: 'lease', id });
    },
    nextDueLease: (now) => leaseExpiries.popDue(now),

    appendFact(fact, forgetAt) {
      const seq = firstSeq + facts.length;
      facts.push({ id: String(seq), ...fact });
      factCount++;
      forgets.push(forgetAt, { kind: 'fact', seq });
    },
    factsFrom(from, limit) {
      const start = from === undefined ? 0 : Math.max(0, factNumber(from) - firstSeq);
      const out: FeedFact[] = [];
      for (let i = start; i < facts.length && out.length < limit; i++) {
        const f = facts[i];
        if (f) out.push(f);
      }
      return out;
    },

    rememberedKey(key, now) {
      const k = keys.get(key);
      return k && k.forgetAt > now ? k.value : undefined;
    },
    rememberKey(key, value, forgetAt) {
      keys.set(key, { value, forgetAt });
      forgets.push(forgetAt, { kind: 'key', key });
    },

    forgetDue(now, max) {
      let n = 0;
      for (let item = forgets.popDue(now); item !== undefined; item = n < max ? forgets.popDue(now) : undefined) {
        forget(item, now);
        n++;
      }
      return n;
    },

    instancesPage(rule, cursor, limit): InstancePage {
      return listings.get(rule)?.page(cursor, limit) ?? { names: [] };
    },
  };
}
