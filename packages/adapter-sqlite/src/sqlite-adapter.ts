// sqliteAdapter(): budgets in one SQLite file shared by many processes on one machine. Every
// operation is one BEGIN IMMEDIATE transaction: read, check and write under the write lock.
import type {
  ChargeOutcome,
  ChargeRequest,
  HistoryRequest,
  InstanceRef,
  InstanceTotals,
  LedgerEntry,
  LimitsSnapshot,
  SetLimitOutcome,
  SetLimitRequest,
  SettleOutcome,
  SettleRequest,
  StorageAdapter,
} from '@spendguard/core';
import { addToDay, effectiveLimit, SpendGuardError } from '@spendguard/core';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { type UsageQuery, type UsageRow, usageFrom } from './ledger.js';
import { migrate } from './schema.js';
import { prepareStatements } from './statements.js';
import { type WriteLockOptions, withWriteLock } from './write-lock.js';

export interface SqliteAdapterOptions {
  /** Path of the database file; created if missing. */
  path?: string;
  /** An open better-sqlite3 Database that the caller owns (and closes). */
  database?: Database;
  /** Keep every spend and commit with its attributes and meta, for usage queries. */
  ledger?: boolean;
  /** How long one call may wait for the write lock before STORE_UNAVAILABLE (ms). Default 5000. */
  busyTimeoutMs?: number;
  /** `synchronous` pragma for files this adapter opens. Default 'NORMAL' (durable across process crashes in WAL). */
  synchronous?: 'OFF' | 'NORMAL' | 'FULL';
}

export interface SqliteAdapter extends StorageAdapter {
  readonly database: Database;
  /** Spend recorded in the ledger, grouped by day or by an attribute. Needs `ledger: true`. */
  usage(query: UsageQuery): UsageRow[];
}

interface TotalRow {
  used: number;
  reserved: number;
  day: string;
  dayUsed: number;
}

const SWEEP_EVERY_MS = 1000;

export function sqliteAdapter(options: SqliteAdapterOptions): SqliteAdapter {
  if (!options || (options.path === undefined) === (options.database === undefined)) {
    throw new SpendGuardError(
      'INVALID_CONFIG',
      'sqliteAdapter needs exactly one of { path } (a file to open) or { database } (an open better-sqlite3 Database).',
    );
  }
  const owned = options.database === undefined;
  let db: Database;
  try {
    db = options.database ?? new BetterSqlite3(options.path as string, { timeout: 0 });
    db.pragma('journal_mode = WAL');
    if (owned) db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
  } catch (err) {
    throw new SpendGuardError('STORE_UNAVAILABLE', `cannot open the SQLite file ${options.path ?? ''}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const lock: WriteLockOptions = { timeoutMs: options.busyTimeoutMs ?? 5000, spinMs: 20 };
  withWriteLock(lock, () => migrate(db));
  const q = prepareStatements(db);
  const keepLedger = options.ledger === true;

  let limitsVersion = -1;
  let overrides = new Map<string, number>();
  let lastSweep = Number.NEGATIVE_INFINITY;
  const lastPeriods = new Map<string, string>();

  /** Reloads run-time limits when another connection changed them. */
  function reloadLimits(): void {
    const version = q.limitsVersion.get() as number;
    if (version !== limitsVersion) {
      overrides = new Map((q.allLimits.all() as Array<{ name: string; amount: number }>).map((r) => [r.name, r.amount]));
      limitsVersion = version;
    }
  }

  /** What every step does first: current limits, expired holds freed, old keys forgotten. */
  function refreshShared(now: number): void {
    reloadLimits();
    purgeExpired(now);
    if (now - lastSweep >= SWEEP_EVERY_MS) {
      q.forgetKeys.run(now);
      q.forgetReservations.run(now);
      lastSweep = now;
    }
  }

  function purgeExpired(now: number): void {
    for (const hold of q.dueHolds.all(now) as Array<{ id: string; amount: number; refs: string }>) {
      for (const ref of JSON.parse(hold.refs) as InstanceRef[]) q.freeHold.run(hold.amount, ref.id, ref.period);
      q.expireHold.run(hold.id);
    }
  }

  const override = (name: string) => overrides.get(name);
  const limitOf = (ref: InstanceRef): number | null => (overrides.size === 0 ? ref.limit : effectiveLimit(ref, override));

  function totalsOf(ref: InstanceRef, limit: number, row: TotalRow | undefined): InstanceTotals {
    const used = row ? row.used : 0;
    return { limit, used, usedBefore: used, reserved: row ? row.reserved : 0, dayUsed: row && row.day === ref.day ? row.dayUsed : 0 };
  }

  function currentTotals(refs: readonly InstanceRef[]): Array<InstanceTotals | null> {
    return refs.map((ref) => {
      const limit = limitOf(ref);
      return limit === null ? null : totalsOf(ref, limit, q.total.get(ref.id, ref.period) as TotalRow | undefined);
    });
  }

  /** Adds to one instance-period (the caller holds the write lock) and notes a period change. */
  function add(ref: InstanceRef, limit: number, row: TotalRow | undefined, used: number, reserved: number): InstanceTotals {
    const before = row ?? { used: 0, reserved: 0, day: '', dayUsed: 0 };
    const daily = { day: before.day, dayUsed: before.dayUsed };
    addToDay(daily, ref.day, used);
    const { day, dayUsed } = daily;
    q.writeTotal.run(ref.id, ref.period, before.used + used, before.reserved + reserved, day, dayUsed);
    const totals: InstanceTotals = {
      limit,
      used: before.used + used,
      usedBefore: before.used,
      reserved: before.reserved + reserved,
      dayUsed: day === ref.day ? dayUsed : 0,
    };
    // last_period only moves forward, so when this connection saw it at ref.period there is nothing to do.
    if (lastPeriods.get(ref.id) === ref.period) return totals;
    const last = q.lastPeriod.get(ref.id) as string | undefined;
    if (last === undefined) q.setLastPeriod.run(ref.id, ref.period);
    else if (ref.period > last) {
      const previous = q.total.get(ref.id, last) as TotalRow | undefined;
      totals.previous = { period: last, used: previous?.used ?? 0 };
      q.setLastPeriod.run(ref.id, ref.period);
    }
    if (last === undefined || ref.period >= last) {
      if (lastPeriods.size >= 10_000) lastPeriods.clear();
      lastPeriods.set(ref.id, ref.period);
    }
    return totals;
  }

  function writeLedger(
    kind: 'spend' | 'commit',
    at: number,
    refs: readonly InstanceRef[],
    spendId: string,
    reservationId: string | null,
    amount: number,
    entry: LedgerEntry | undefined,
  ): void {
    if (!keepLedger || !entry) return;
    const day = new Date(at).toISOString().slice(0, 10);
    q.ledger.run(
      at,
      refs[0]?.day ?? day,
      kind,
      spendId,
      reservationId,
      amount,
      JSON.stringify(entry.attrs),
      entry.meta ? JSON.stringify(entry.meta) : null,
    );
  }

  const transaction = db.transaction((now: number, body: () => unknown) => {
    refreshShared(now);
    return body();
  });

  /** One IMMEDIATE transaction, retried fairly while another connection holds the lock. */
  function step<T>(now: number, body: () => T): T {
    try {
      return withWriteLock(lock, () => transaction.immediate(now, body) as T);
    } catch (err) {
      if (err instanceof SpendGuardError) throw err;
      throw new SpendGuardError('STORE_UNAVAILABLE', `the SQLite store failed: ${(err as Error).message}; nothing was recorded.`, {
        cause: err,
      });
    }
  }

  const charge = (req: ChargeRequest): ChargeOutcome =>
    step(req.now, () => {
      if (req.idempotencyKey !== undefined) {
        const seen = q.idempotent.get(req.idempotencyKey, req.now) as { id: string; expiresAt: number | null } | undefined;
        if (seen) {
          const out: ChargeOutcome = { ok: true, id: seen.id, replayed: true, totals: currentTotals(req.instances) };
          if (seen.expiresAt !== null) out.expiresAt = seen.expiresAt;
          return out;
        }
      }
      const refs = req.instances;
      const limits: Array<number | null> = [];
      const rows: Array<TotalRow | undefined> = [];
      for (let i = 0; i < refs.length; i++) {
        const ref = refs[i] as InstanceRef;
        const limit = limitOf(ref);
        const row = q.total.get(ref.id, ref.period) as TotalRow | undefined;
        limits.push(limit);
        rows.push(row);
        if (!ref.hard || req.force) continue;
        if (limit === null || (row ? row.used + row.reserved : 0) + req.amount > limit) {
          return { ok: false, refusedAt: i, missing: limit === null, totals: currentTotals(refs) };
        }
      }
      const isReserve = req.kind === 'reserve';
      const totals = refs.map((ref, i) => {
        const limit = limits[i] as number | null;
        return limit === null ? null : add(ref, limit, rows[i], isReserve ? 0 : req.amount, isReserve ? req.amount : 0);
      });
      const out: ChargeOutcome = { ok: true, id: req.id, replayed: false, totals };
      if (isReserve) {
        out.expiresAt = req.now + (req.ttlMs ?? 0);
        const held = refs.filter((_, i) => limits[i] !== null);
        q.insertReservation.run(req.id, req.amount, JSON.stringify(held), req.ledger ? JSON.stringify(req.ledger) : null, out.expiresAt);
      } else {
        writeLedger('spend', req.now, refs, req.id, null, req.amount, req.ledger);
      }
      if (req.idempotencyKey !== undefined) q.remember.run(req.idempotencyKey, req.id, out.expiresAt ?? null, req.now + req.retentionMs);
      return out;
    });

  const settle = (req: SettleRequest): SettleOutcome =>
    step(req.now, () => {
      const r = q.reservation.get(req.reservationId) as
        | {
            amount: number;
            refs: string;
            ledger: string | null;
            state: string;
            spendId: string | null;
            actual: number | null;
            expired: number | null;
          }
        | undefined;
      if (!r) return { status: 'unknown' };
      if (r.state === 'released') return { status: 'released_before' };
      if (r.state === 'committed') {
        return {
          status: 'committed_before',
          spendId: r.spendId as string,
          actual: r.actual as number,
          reserved: r.amount,
          expired: r.expired === 1,
        };
      }
      const expired = r.state === 'expired';
      const commit = req.action === 'commit';
      const refs = JSON.parse(r.refs) as InstanceRef[];
      const totals = refs.map((ref) => {
        const row = q.total.get(ref.id, ref.period) as TotalRow | undefined;
        return add(ref, limitOf(ref) ?? 0, row, commit ? req.amount : 0, expired ? 0 : -r.amount);
      });
      q.settleReservation.run(
        commit ? 'committed' : 'released',
        commit ? req.spendId : null,
        commit ? req.amount : null,
        expired ? 1 : 0,
        req.now + req.retentionMs,
        req.reservationId,
      );
      if (commit)
        writeLedger(
          'commit',
          req.now,
          refs,
          req.spendId,
          req.reservationId,
          req.amount,
          r.ledger ? (JSON.parse(r.ledger) as LedgerEntry) : undefined,
        );
      return { status: 'applied', reserved: r.amount, expired, instances: refs, totals };
    });

  return {
    name: 'sqlite',
    ledger: keepLedger,
    database: db,
    charge,
    settle,
    read: (refs: readonly InstanceRef[], now: number) => step(now, () => currentTotals(refs)),
    history: (req: HistoryRequest) => req.periods.map((p) => (q.total.get(req.id, p) as TotalRow | undefined)?.used ?? 0),
    instances: () => q.instanceIds.all() as string[],
    limits(): LimitsSnapshot {
      // A read: no write lock, and no purge (which would need the caller's clock).
      return db.transaction(() => {
        reloadLimits();
        return { version: limitsVersion, overrides: Object.fromEntries(overrides) };
      })();
    },
    setLimit: (req: SetLimitRequest): SetLimitOutcome =>
      step(req.now, () => {
        const limitsBefore = req.read.map(limitOf);
        if (req.expectedVersion !== limitsVersion)
          return { ok: false, version: limitsVersion, limitsBefore, totals: currentTotals(req.read) };
        q.setLimit.run(req.name, req.limit);
        limitsVersion = q.bumpLimitsVersion.get() as number;
        overrides.set(req.name, req.limit);
        return { ok: true, version: limitsVersion, limitsBefore, totals: currentTotals(req.read) };
      }),
    usage: (query: UsageQuery) => {
      if (!keepLedger)
        throw new SpendGuardError(
          'INVALID_CONFIG',
          'usage() reads the ledger: create the adapter with sqliteAdapter({ path, ledger: true }).',
        );
      return usageFrom(db, query);
    },
    close(): void {
      if (owned && db.open) db.close();
    },
  };
}
