// Every SQL statement the adapter runs, prepared once per connection, with its parameters and rows typed.
import type { Database, Statement } from 'better-sqlite3';

/** SQL text tagged with its bind parameters and its row type (for a plucked statement, the first column's value). */
interface Sql<Params extends unknown[], Row> {
  text: string;
  pluck: boolean;
  /** Never set: carries the types only. */
  types?: (params: Params) => Row;
}

// better-sqlite3 cannot infer rows from SQL, so each statement states them here, next to its text.
const row = <Params extends unknown[], Row = unknown>(text: string): Sql<Params, Row> => ({ text, pluck: false });
const value = <Params extends unknown[], Value>(text: string): Sql<Params, Value> => ({ text, pluck: true });

/** A row of spendguard_totals as the adapter reads it. */
export interface TotalRow {
  used: number;
  reserved: number;
  day: string;
  dayUsed: number;
  seenLimit: number | null;
  leased: number;
  seenUsed: number | null;
  carried: number;
  /** Read so that a write can leave the forget-time index alone when the time did not change. */
  forgetAt: number;
}

/** A row of spendguard_grants. */
export interface GrantRow {
  id: string;
  name: string;
  amount: number;
  expiresAt: number;
  grantedAt: number;
  reason: string | null;
}

/** A row of spendguard_leases. */
export interface LeaseRow {
  amount: number;
  recorded: number;
  ref: string;
  expiresAt: number;
}

/** A row of spendguard_reservations. */
export interface ReservationRow {
  amount: number;
  refs: string;
  ledger: string | null;
  expiresAt: number;
  state: 'held' | 'expired' | 'committed' | 'released';
  spendId: string | null;
  actual: number | null;
  expired: 0 | 1 | null;
}

type Instance = [instance: string, period: string];
/** Delete up to `limit` records whose forget time is at or before `now`. */
type Forget = [now: number, limit: number];

const SQL = {
  limitsVersion: value<[], number>("SELECT value FROM spendguard_meta WHERE key = 'limits_version'"),
  bumpLimitsVersion: value<[], number>("UPDATE spendguard_meta SET value = value + 1 WHERE key = 'limits_version' RETURNING value"),
  allLimits: row<[], { name: string; amount: number }>('SELECT name, amount FROM spendguard_limits'),
  setLimit: row<[name: string, amount: number]>(
    'INSERT INTO spendguard_limits (name, amount) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET amount = excluded.amount',
  ),
  allGrants: row<[], GrantRow>('SELECT id, name, amount, expires_at AS expiresAt, granted_at AS grantedAt, reason FROM spendguard_grants'),
  hasGrant: value<[id: string], 1>('SELECT 1 FROM spendguard_grants WHERE id = ?'),
  addGrant: row<[id: string, name: string, amount: number, expiresAt: number, grantedAt: number, reason: string | null]>(
    'INSERT INTO spendguard_grants (id, name, amount, expires_at, granted_at, reason) VALUES (?, ?, ?, ?, ?, ?)',
  ),
  dueGrants: value<[now: number], 1>('SELECT 1 FROM spendguard_grants WHERE expires_at <= ? LIMIT 1'),
  forgetGrants: row<Forget>('DELETE FROM spendguard_grants WHERE id IN (SELECT id FROM spendguard_grants WHERE expires_at <= ? LIMIT ?)'),
  total: row<Instance, TotalRow>(
    `SELECT used, reserved, day, day_used AS dayUsed, seen_limit AS seenLimit, leased, seen_used AS seenUsed, carried, forget_at AS forgetAt
    FROM spendguard_totals WHERE instance = ? AND period = ?`,
  ),
  // Setting forget_at, even to the value it had, rewrites its index entry: about a third of a spend's
  // write cost. An existing row whose forget time stays the same is updated without it.
  updateTotal: row<
    [
      used: number,
      reserved: number,
      day: string,
      dayUsed: number,
      seenLimit: number | null,
      leased: number,
      seenUsed: number | null,
      ...Instance,
    ]
  >(
    `UPDATE spendguard_totals SET used = ?, reserved = ?, day = ?, day_used = ?, seen_limit = ?, leased = ?, seen_used = ?
    WHERE instance = ? AND period = ?`,
  ),
  writeTotal: row<
    [
      ...Instance,
      used: number,
      reserved: number,
      day: string,
      dayUsed: number,
      seenLimit: number | null,
      forgetAt: number,
      leased: number,
      seenUsed: number | null,
      carried: number,
    ]
  >(
    `INSERT INTO spendguard_totals (instance, period, used, reserved, day, day_used, seen_limit, forget_at, leased, seen_used, carried)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (instance, period) DO UPDATE SET used = excluded.used, reserved = excluded.reserved,
      day = excluded.day, day_used = excluded.day_used, seen_limit = excluded.seen_limit, forget_at = excluded.forget_at,
      leased = excluded.leased, seen_used = excluded.seen_used`,
  ),
  lease: row<[id: string], LeaseRow>('SELECT amount, recorded, ref, expires_at AS expiresAt FROM spendguard_leases WHERE id = ?'),
  saveLease: row<[id: string, amount: number, recorded: number, ref: string, expiresAt: number, forgetAt: number | null]>(
    `INSERT INTO spendguard_leases (id, amount, recorded, ref, expires_at, forget_at) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (id) DO UPDATE SET amount = excluded.amount, recorded = excluded.recorded, ref = excluded.ref,
      expires_at = excluded.expires_at, forget_at = excluded.forget_at`,
  ),
  dueLease: value<[now: number], string>(
    'SELECT id FROM spendguard_leases WHERE amount > 0 AND expires_at <= ? ORDER BY expires_at LIMIT 1',
  ),
  appendFact: row<[fact: string, forgetAt: number]>('INSERT INTO spendguard_feed (fact, forget_at) VALUES (?, ?)'),
  factsFrom: row<[from: number, limit: number], { seq: number; fact: string }>(
    'SELECT seq, fact FROM spendguard_feed WHERE seq >= ? ORDER BY seq LIMIT ?',
  ),
  dueFacts: value<[now: number], 1>('SELECT 1 FROM spendguard_feed WHERE forget_at <= ? LIMIT 1'),
  forgetFacts: row<Forget>('DELETE FROM spendguard_feed WHERE seq IN (SELECT seq FROM spendguard_feed WHERE forget_at <= ? LIMIT ?)'),
  dueLeases: value<[now: number], 1>('SELECT 1 FROM spendguard_leases WHERE forget_at <= ? LIMIT 1'),
  forgetLeases: row<Forget>('DELETE FROM spendguard_leases WHERE id IN (SELECT id FROM spendguard_leases WHERE forget_at <= ? LIMIT ?)'),
  lastPeriod: value<[instance: string], string>('SELECT last_period FROM spendguard_instances WHERE id = ?'),
  setLastPeriod: row<[instance: string, rule: string, period: string, forgetAt: number]>(
    `INSERT INTO spendguard_instances (id, rule, last_period, forget_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (id) DO UPDATE SET last_period = excluded.last_period, forget_at = excluded.forget_at`,
  ),
  instancesPage: value<[rule: string, after: string, limit: number], string>(
    'SELECT id FROM spendguard_instances WHERE rule = ? AND id > ? ORDER BY id LIMIT ?',
  ),
  dueHold: value<[now: number], string>(
    "SELECT id FROM spendguard_reservations WHERE state = 'held' AND expires_at <= ? ORDER BY expires_at LIMIT 1",
  ),
  saveReservation: row<
    [
      id: string,
      amount: number,
      refs: string,
      ledger: string | null,
      expiresAt: number,
      state: ReservationRow['state'],
      spendId: string | null,
      actual: number | null,
      expired: 0 | 1 | null,
      forgetAt: number | null,
    ]
  >(
    `INSERT INTO spendguard_reservations (id, amount, refs, ledger, expires_at, state, spend_id, actual, expired, forget_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (id) DO UPDATE SET state = excluded.state, spend_id = excluded.spend_id, actual = excluded.actual,
      expired = excluded.expired, forget_at = excluded.forget_at`,
  ),
  reservation: row<[id: string], ReservationRow>(
    `SELECT amount, refs, ledger, expires_at AS expiresAt, state, spend_id AS spendId, actual, expired
    FROM spendguard_reservations WHERE id = ?`,
  ),
  forgetReservations: row<Forget>(
    'DELETE FROM spendguard_reservations WHERE id IN (SELECT id FROM spendguard_reservations WHERE forget_at <= ? LIMIT ?)',
  ),
  idempotent: row<[key: string, now: number], { id: string; expiresAt: number | null }>(
    'SELECT id, expires_at AS expiresAt FROM spendguard_idempotency WHERE key = ? AND forget_at > ?',
  ),
  remember: row<[key: string, id: string, expiresAt: number | null, forgetAt: number]>(
    `INSERT INTO spendguard_idempotency (key, id, expires_at, forget_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (key) DO UPDATE SET id = excluded.id, expires_at = excluded.expires_at, forget_at = excluded.forget_at`,
  ),
  forgetKeys: row<Forget>(
    'DELETE FROM spendguard_idempotency WHERE key IN (SELECT key FROM spendguard_idempotency WHERE forget_at <= ? LIMIT ?)',
  ),
  forgetTotals: row<Forget>(
    `DELETE FROM spendguard_totals WHERE (instance, period) IN
    (SELECT instance, period FROM spendguard_totals WHERE forget_at > 0 AND forget_at <= ? LIMIT ?)`,
  ),
  forgetInstances: row<Forget>(
    'DELETE FROM spendguard_instances WHERE id IN (SELECT id FROM spendguard_instances WHERE forget_at > 0 AND forget_at <= ? LIMIT ?)',
  ),
  // A sweep first asks each table whether anything is due (an index probe, well under a µs): the
  // DELETE … IN (SELECT … LIMIT) itself costs ~10 µs even when it deletes nothing.
  dueKeys: value<[now: number], 1>('SELECT 1 FROM spendguard_idempotency WHERE forget_at <= ? LIMIT 1'),
  dueReservations: value<[now: number], 1>('SELECT 1 FROM spendguard_reservations WHERE forget_at <= ? LIMIT 1'),
  dueTotals: value<[now: number], 1>('SELECT 1 FROM spendguard_totals WHERE forget_at > 0 AND forget_at <= ? LIMIT 1'),
  dueInstances: value<[now: number], 1>('SELECT 1 FROM spendguard_instances WHERE forget_at > 0 AND forget_at <= ? LIMIT 1'),
  dueLedger: value<[now: number], 1>('SELECT 1 FROM spendguard_ledger WHERE at <= ? LIMIT 1'),
  forgetLedger: row<Forget>('DELETE FROM spendguard_ledger WHERE seq IN (SELECT seq FROM spendguard_ledger WHERE at <= ? LIMIT ?)'),
  ledger: row<
    [
      at: number,
      day: string,
      kind: string,
      spendId: string,
      reservationId: string | null,
      amount: number,
      attrs: string,
      meta: string | null,
    ]
  >('INSERT INTO spendguard_ledger (at, day, kind, spend_id, reservation_id, amount, attrs, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
};

type Prepared<S> = S extends Sql<infer Params, infer Row> ? Statement<Params, Row> : never;

export type Statements = { [K in keyof typeof SQL]: Prepared<(typeof SQL)[K]> };

export function prepareStatements(db: Database): Statements {
  const prepared: Record<string, Statement<unknown[], unknown>> = {};
  for (const [name, sql] of Object.entries(SQL)) {
    const statement = db.prepare<unknown[], unknown>(sql.text);
    prepared[name] = sql.pluck ? statement.pluck() : statement;
  }
  // The one place rows are asserted: the types come from SQL above, next to each statement's text.
  return prepared as Statements;
}
