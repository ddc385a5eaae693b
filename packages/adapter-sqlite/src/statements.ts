// Every SQL statement the adapter runs, prepared once per connection.
import type { Database, Statement } from 'better-sqlite3';

const SQL = {
  limitsVersion: "SELECT value FROM spendguard_meta WHERE key = 'limits_version'",
  bumpLimitsVersion: "UPDATE spendguard_meta SET value = value + 1 WHERE key = 'limits_version' RETURNING value",
  allLimits: 'SELECT name, amount FROM spendguard_limits',
  setLimit: 'INSERT INTO spendguard_limits (name, amount) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET amount = excluded.amount',
  total: 'SELECT used, reserved, day, day_used AS dayUsed FROM spendguard_totals WHERE instance = ? AND period = ?',
  writeTotal: `INSERT INTO spendguard_totals (instance, period, used, reserved, day, day_used) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (instance, period) DO UPDATE SET used = excluded.used, reserved = excluded.reserved,
      day = excluded.day, day_used = excluded.day_used`,
  freeHold: 'UPDATE spendguard_totals SET reserved = reserved - ? WHERE instance = ? AND period = ?',
  lastPeriod: 'SELECT last_period FROM spendguard_instances WHERE id = ?',
  setLastPeriod:
    'INSERT INTO spendguard_instances (id, last_period) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET last_period = excluded.last_period',
  instanceIds: 'SELECT id FROM spendguard_instances',
  dueHolds: "SELECT id, amount, refs FROM spendguard_reservations WHERE state = 'held' AND expires_at <= ? LIMIT 256",
  expireHold: "UPDATE spendguard_reservations SET state = 'expired' WHERE id = ?",
  insertReservation: "INSERT INTO spendguard_reservations (id, amount, refs, ledger, expires_at, state) VALUES (?, ?, ?, ?, ?, 'held')",
  reservation: 'SELECT amount, refs, ledger, state, spend_id AS spendId, actual, expired FROM spendguard_reservations WHERE id = ?',
  settleReservation: 'UPDATE spendguard_reservations SET state = ?, spend_id = ?, actual = ?, expired = ?, forget_at = ? WHERE id = ?',
  forgetReservations: 'DELETE FROM spendguard_reservations WHERE forget_at <= ?',
  idempotent: 'SELECT id, expires_at AS expiresAt FROM spendguard_idempotency WHERE key = ? AND forget_at > ?',
  remember: `INSERT INTO spendguard_idempotency (key, id, expires_at, forget_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (key) DO UPDATE SET id = excluded.id, expires_at = excluded.expires_at, forget_at = excluded.forget_at`,
  forgetKeys: 'DELETE FROM spendguard_idempotency WHERE forget_at <= ?',
  ledger: 'INSERT INTO spendguard_ledger (at, day, kind, spend_id, reservation_id, amount, attrs, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
} as const;

/** Statements whose callers want the first column's value, not a row object. */
const PLUCKED: ReadonlySet<keyof typeof SQL> = new Set(['limitsVersion', 'bumpLimitsVersion', 'lastPeriod', 'instanceIds']);

export type Statements = Record<keyof typeof SQL, Statement>;

export function prepareStatements(db: Database): Statements {
  const prepared = {} as Statements;
  for (const [name, sql] of Object.entries(SQL) as Array<[keyof typeof SQL, string]>) {
    const statement = db.prepare(sql);
    prepared[name] = PLUCKED.has(name) ? statement.pluck() : statement;
  }
  return prepared;
}
