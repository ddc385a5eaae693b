// The memory adapter's records: Maps in this process, with a forget queue ordered by deadline.
import type { InstancePage, PeriodRecord, Records, RememberedKey, ReservationRecord } from '@spendguard/core/adapter';
import { DeadlineQueue } from './deadline-queue.js';

interface InstanceRecord {
  last: string | undefined;
  periods: Map<string, PeriodRecord>;
  /** When the instance leaves the listing (0: never). */
  forgetAt: number;
}

/** A rule's instance names in listing order; a deleted name leaves a hole until the list is compacted. */
interface RuleListing {
  names: Array<string | undefined>;
  index: Map<string, number>;
  holes: number;
}

type Forgettable =
  | { kind: 'key'; key: string }
  | { kind: 'reservation'; id: string }
  | { kind: 'totals'; instance: string; period: string }
  | { kind: 'instance'; instance: string; rule: string };

export function memoryRecords(): Records & { readonly reservationCount: number } {
  const instances = new Map<string, InstanceRecord>();
  const listings = new Map<string, RuleListing>();
  const overrides = new Map<string, number>();
  let version = 0;
  const reservations = new Map<string, { record: ReservationRecord; forgetAt: number }>();
  const keys = new Map<string, { value: RememberedKey; forgetAt: number }>();
  const expiries = new DeadlineQueue<string>();
  const forgets = new DeadlineQueue<Forgettable>();

  function instance(name: string): InstanceRecord {
    let inst = instances.get(name);
    if (!inst) {
      inst = { last: undefined, periods: new Map(), forgetAt: 0 };
      instances.set(name, inst);
    }
    return inst;
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
      case 'totals': {
        const inst = instances.get(item.instance);
        inst?.periods.delete(item.period);
        if (inst && inst.periods.size === 0 && inst.forgetAt !== 0 && inst.forgetAt <= now) instances.delete(item.instance);
        return;
      }
      case 'instance': {
        const inst = instances.get(item.instance);
        if (!inst || inst.forgetAt === 0 || inst.forgetAt > now) return;
        unlist(item.rule, item.instance);
        if (inst.periods.size === 0) instances.delete(item.instance);
        else inst.last = undefined;
      }
    }
  }

  function unlist(rule: string, name: string): void {
    const listing = listings.get(rule);
    const at = listing?.index.get(name);
    if (!listing || at === undefined) return;
    listing.names[at] = undefined;
    listing.index.delete(name);
    listing.holes++;
    if (listing.holes > 1024 && listing.holes * 2 > listing.names.length) {
      listing.names = listing.names.filter((n) => n !== undefined);
      listing.names.forEach((n, i) => {
        listing.index.set(n as string, i);
      });
      listing.holes = 0;
    }
  }

  return {
    get reservationCount() {
      return reservations.size;
    },
    totals: (name, period) => instances.get(name)?.periods.get(period),
    writeTotals(name, period, record, forgetAt) {
      const periods = instance(name).periods;
      if (periods.get(period) === record) return; // updated in place
      periods.set(period, record);
      if (forgetAt !== 0) forgets.push(forgetAt, { kind: 'totals', instance: name, period });
    },
    lastPeriod: (name) => instances.get(name)?.last,
    setLastPeriod(name, rule, period, forgetAt) {
      const inst = instance(name);
      inst.last = period;
      inst.forgetAt = forgetAt;
      let listing = listings.get(rule);
      if (!listing) {
        listing = { names: [], index: new Map(), holes: 0 };
        listings.set(rule, listing);
      }
      if (!listing.index.has(name)) {
        listing.index.set(name, listing.names.length);
        listing.names.push(name);
      }
      if (forgetAt !== 0) forgets.push(forgetAt, { kind: 'instance', instance: name, rule });
    },

    override: (name) => overrides.get(name),
    noOverrides: () => overrides.size === 0,
    overrides: () => new Map(overrides),
    limitsVersion: () => version,
    setOverride(name, amount) {
      overrides.set(name, amount);
      return ++version;
    },

    reservation: (id) => reservations.get(id)?.record,
    saveReservation(id, record, forgetAt) {
      reservations.set(id, { record, forgetAt });
      if (record.state === 'held') expiries.push(record.expiresAt, id);
      if (forgetAt !== 0) forgets.push(forgetAt, { kind: 'reservation', id });
    },
    nextDueReservation: (now) => expiries.popDue(now),

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
      const listing = listings.get(rule);
      if (!listing) return { names: [] };
      const names: string[] = [];
      let i = cursor === undefined ? 0 : Number(cursor);
      for (; i < listing.names.length && names.length < limit; i++) {
        const name = listing.names[i];
        if (name !== undefined) names.push(name);
      }
      return i < listing.names.length ? { names, cursor: String(i) } : { names };
    },
  };
}
