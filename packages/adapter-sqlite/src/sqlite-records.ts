// The SQLite adapter's records: prepared statements on one connection, run inside the caller's
// IMMEDIATE transaction. Run-time limits are cached per connection and reloaded when their version moves.

import type {
  FeedFact,
  Grant,
  InstancePage,
  InstanceRef,
  LedgerEntry,
  PeriodRecord,
  Records,
  ReservationRecord,
} from '@spendguard/core/adapter';
import { factNumber } from '@spendguard/core/adapter';
import type { GrantRow, Statements, TotalRow } from './statements.js';

function grantOf(row: GrantRow): Grant {
  const { reason, ...grant } = row;
  return reason === null ? grant : { ...grant, reason };
}

/** Refs as stored by schema 1 carried `id` and no `rule`; they still read. */
function decodeRefs(json: string): InstanceRef[] {
  return (JSON.parse(json) as Array<InstanceRef & { id?: string }>).map((r) => {
    if (r.name !== undefined) return r;
    const name = r.id as string;
    const colon = name.indexOf(':');
    return { ...r, name, rule: colon < 0 ? name : name.slice(0, colon) };
  });
}

/**
 * `historyRetentionMs`: how long a ledger entry is kept after its spend, like the period totals it
 * went into (the record adapter forgets those by their period's end).
 */
export function sqliteRecords(q: Statements, historyRetentionMs: number): Records & { refresh(): void; reloadLimitsNextTime(): void } {
  let version = -1;
  let overrides = new Map<string, number>();
  /** Grants by instance name (expired ones stay until the next reload; steps count only active ones). */
  let grants = new Map<string, Grant[]>();
  const sweeps = [
    [q.dueKeys, q.forgetKeys],
    [q.dueReservations, q.forgetReservations],
    [q.dueLeases, q.forgetLeases],
    [q.dueFacts, q.forgetFacts],
    [q.dueTotals, q.forgetTotals],
    [q.dueInstances, q.forgetInstances],
    [q.dueGrants, q.forgetGrants],
  ] as const;

  /** Reloads run-time limits when another connection changed them; cheap when it did not. */
  function fresh(): void {
    const current = q.limitsVersion.get() as number;
    if (current !== version) {
      overrides = new Map(q.allLimits.all().map((r) => [r.name, r.amount]));
      grants = new Map();
      for (const row of q.allGrants.all()) {
        const g = grantOf(row);
        grants.set(g.name, [...(grants.get(g.name) ?? []), g]);
      }
      version = current;
    }
  }

  return {
    /** Run first in every transaction: the limits cache is per connection, the limits are shared. */
    refresh: fresh,
    /** After a rollback: the cache may hold an override that was never committed. */
    reloadLimitsNextTime() {
      version = -1;
    },
    // The record handed back is the row read in this step, forget time included (see updateTotal).
    totals: (instance, period) => q.total.get(instance, period),
    writeTotals(instance, period, r: PeriodRecord & Partial<Pick<TotalRow, 'forgetAt'>>, forgetAt) {
      const leased = r.leased ?? 0;
      const seenUsed = r.seenUsed ?? null;
      if (
        r.forgetAt === forgetAt &&
        q.updateTotal.run(r.used, r.reserved, r.day, r.dayUsed, r.seenLimit, leased, seenUsed, instance, period).changes === 1
      ) {
        return;
      }
      q.writeTotal.run(instance, period, r.used, r.reserved, r.day, r.dayUsed, r.seenLimit, forgetAt, leased, seenUsed, r.carried ?? 0);
      r.forgetAt = forgetAt;
    },
    lastPeriod: (instance) => q.lastPeriod.get(instance),
    setLastPeriod(instance, rule, period, forgetAt) {
      q.setLastPeriod.run(instance, rule, period, forgetAt);
    },

    override: (name) => overrides.get(name),
    noRuntimeLimits: () => overrides.size === 0 && grants.size === 0,
    overrides: () => new Map(overrides),
    limitsVersion: () => version,
    setOverride(name, amount) {
      q.setLimit.run(name, amount);
      version = q.bumpLimitsVersion.get() as number;
      overrides.set(name, amount);
      return version;
    },
    grantsOf: (name) => grants.get(name),
    grants: () => q.allGrants.all().map(grantOf),
    hasGrant: (id) => q.hasGrant.get(id) !== undefined,
    addGrant(g) {
      q.addGrant.run(g.id, g.name, g.amount, g.expiresAt, g.grantedAt, g.reason ?? null);
      version = q.bumpLimitsVersion.get() as number;
      grants.set(g.name, [...(grants.get(g.name) ?? []), g]);
      return version;
    },

    reservation(id) {
      const row = q.reservation.get(id);
      if (!row) return undefined;
      const record: ReservationRecord = { amount: row.amount, refs: decodeRefs(row.refs), expiresAt: row.expiresAt, state: row.state };
      if (row.ledger !== null) record.ledger = JSON.parse(row.ledger) as LedgerEntry;
      if (row.state === 'committed')
        record.commit = { spendId: row.spendId as string, actual: row.actual as number, expired: row.expired === 1 };
      return record;
    },
    saveReservation(id, r, forgetAt) {
      const c = r.commit;
      q.saveReservation.run(
        id,
        r.amount,
        JSON.stringify(r.refs),
        r.ledger ? JSON.stringify(r.ledger) : null,
        r.expiresAt,
        r.state,
        c ? c.spendId : null,
        c ? c.actual : null,
        c ? (c.expired ? 1 : 0) : null,
        forgetAt === 0 ? null : forgetAt,
      );
    },
    nextDueReservation: (now) => q.dueHold.get(now),

    lease(id) {
      const row = q.lease.get(id);
      return row && { amount: row.amount, recorded: row.recorded, ref: JSON.parse(row.ref) as InstanceRef, expiresAt: row.expiresAt };
    },
    saveLease(id, l, forgetAt) {
      q.saveLease.run(id, l.amount, l.recorded, JSON.stringify(l.ref), l.expiresAt, forgetAt === 0 ? null : forgetAt);
    },
    nextDueLease: (now) => q.dueLease.get(now),

    appendFact(fact, forgetAt) {
      q.appendFact.run(JSON.stringify(fact), forgetAt);
    },
    factsFrom(from, limit) {
      return q.factsFrom
        .all(from === undefined ? 0 : factNumber(from), limit)
        .map((r) => ({ id: String(r.seq), ...(JSON.parse(r.fact) as Omit<FeedFact, 'id'>) }));
    },

    rememberedKey(key, now) {
      const row = q.idempotent.get(key, now);
      if (!row) return undefined;
      return row.expiresAt === null ? { callId: row.id } : { callId: row.id, expiresAt: row.expiresAt };
    },
    rememberKey(key, value, forgetAt) {
      q.remember.run(key, value.callId, value.expiresAt ?? null, forgetAt);
    },

    forgetDue(now, max) {
      let left = max;
      for (const [due, forget] of sweeps) {
        if (left <= 0) break;
        if (due.get(now) !== undefined) left -= forget.run(now, left).changes;
      }
      const before = now - historyRetentionMs;
      if (left > 0 && q.dueLedger.get(before) !== undefined) left -= q.forgetLedger.run(before, left).changes;
      return max - left;
    },

    instancesPage(rule, cursor, limit): InstancePage {
      const names = q.instancesPage.all(rule, cursor ?? '', limit);
      return names.length === limit ? { names, cursor: names[names.length - 1] as string } : { names };
    },

    appendLedger(e) {
      q.ledger.run(
        e.at,
        e.day,
        e.kind,
        e.spendId,
        e.reservationId,
        e.amount,
        JSON.stringify(e.ledger.attrs),
        e.ledger.meta ? JSON.stringify(e.ledger.meta) : null,
      );
    },
  };
}
