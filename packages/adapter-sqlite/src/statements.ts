// Every SQL statement the adapter runs, prepared once per connection.
import type { Database, Statement } from 'better-sqlite3';

export type Statements = Record<StatementName, Statement>;

type StatementName =
  | 'meta'
  | 'setMeta'
  | 'bumpLimitsVersion'
  | 'allLimits'
  | 'setLimit'
  | 'total'
  | 'writeTotal'
  | 'freeHold'
  | 'lastPeriod'
  | 'setLastPeriod'
  | 'instanceIds'
  | 'dueHolds'
  | 'expireHold'
  | 'insertReservation'
  | 'reservation'
  | 'settleReservation'
  | 'forgetReservations'
  | 'idempotent'
  | 'remember'
  | 'forgetKeys'
  | 'ledger';

export function prepareStatements(db: Database): Statements {
  return {
    meta: db.prepare('SELECT key, value FROM spendguard_meta'),
    setMeta: db.prepare('UPDATE spendguard_meta SET value = ? WHERE key = ?'),
    bumpLimitsVersion: db.prepare("UPDATE spendguard_meta SET value = value + 1 WHERE key = 'limits_version' RETURNING value").pluck(),
    allLimits: db.prepare('SELECT name, amount FROM spendguard_limits'),
    setLimit: db.prepare(
      'INSERT INTO spendguard_limits (name, amount) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET amount = excluded.amount',
    ),
    total: db.prepare('SELECT used, reserved, day, day_used AS dayUsed FROM spendguard_totals WHERE instance = ? AND period = ?'),
    writeTotal: db.prepare(
      `INSERT INTO spendguard_totals (instance, period, used, reserved, day, day_used) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (instance, period) DO UPDATE SET used = excluded.used, reserved = excluded.reserved,
         day = excluded.day, day_used = excluded.day_used`,
    ),
    freeHold: db.prepare('UPDATE spendguard_totals SET reserved = reserved - ? WHERE instance = ? AND period = ?'),
    lastPeriod: db.prepare('SELECT last_period FROM spendguard_instances WHERE id = ?').pluck(),
    setLastPeriod: db.prepare(
      'INSERT INTO spendguard_instances (id, last_period) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET last_period = excluded.last_period',
    ),
    instanceIds: db.prepare('SELECT id FROM spendguard_instances').pluck(),
    dueHolds: db.prepare("SELECT id, amount, refs FROM spendguard_reservations WHERE state = 'held' AND expires_at <= ? LIMIT 256"),
    expireHold: db.prepare("UPDATE spendguard_reservations SET state = 'expired' WHERE id = ?"),
    insertReservation: db.prepare(
      "INSERT INTO spendguard_reservations (id, amount, refs, ledger, expires_at, state) VALUES (?, ?, ?, ?, ?, 'held')",
    ),
    reservation: db.prepare(
      'SELECT amount, refs, ledger, state, spend_id AS spendId, actual, expired FROM spendguard_reservations WHERE id = ?',
    ),
    settleReservation: db.prepare(
      'UPDATE spendguard_reservations SET state = ?, spend_id = ?, actual = ?, expired = ?, forget_at = ? WHERE id = ?',
    ),
    forgetReservations: db.prepare('DELETE FROM spendguard_reservations WHERE forget_at <= ?'),
    idempotent: db.prepare('SELECT id, expires_at AS expiresAt FROM spendguard_idempotency WHERE key = ? AND forget_at > ?'),
    remember: db.prepare(
      `INSERT INTO spendguard_idempotency (key, id, expires_at, forget_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET id = excluded.id, expires_at = excluded.expires_at, forget_at = excluded.forget_at`,
    ),
    forgetKeys: db.prepare('DELETE FROM spendguard_idempotency WHERE forget_at <= ?'),
    ledger: db.prepare(
      'INSERT INTO spendguard_ledger (at, day, kind, spend_id, reservation_id, amount, attrs, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
  };
}
