// Every SQL statement the adapter runs, prepared once per connection.
import type { Database, Statement } from 'better-sqlite3';

const SQL = {
  limitsVersion: "SELECT value FROM spendguard_meta WHERE key = 'limits_version'",
  bumpLimitsVersion: "UPDATE spendguard_meta SET value = value + 1 WHERE key = 'limits_version' RETURNING value",
  allLimits: 'SELECT name, amount FROM spendguard_limits',
  setLimit: 'INSERT INTO spendguard_limits (name, amount) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET amount = excluded.amount',
  total: `SELECT used, reserved, day, day_used AS dayUsed, seen_limit AS seenLimit
    FROM spendguard_totals WHERE instance = ? AND period = ?`,
  writeTotal: `INSERT INTO spendguard_totals (instance, period, used, reserved, day, day_used, seen_limit, forget_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (instance, period) DO UPDATE SET used = excluded.used, reserved = excluded.reserved,
      day = excluded.day, day_used = excluded.day_used, seen_limit = excluded.seen_limit, forget_at = excluded.forget_at`,
  lastPeriod: 'SELECT last_period FROM spendguard_instances WHERE id = ?',
  setLastPeriod: `INSERT INTO spendguard_instances (id, rule, last_period, forget_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (id) DO UPDATE SET last_period = excluded.last_period, forget_at = excluded.forget_at`,
  instancesPage: 'SELECT id FROM spendguard_instances WHERE rule = ? AND id > ? ORDER BY id LIMIT ?',
  dueHold: "SELECT id FROM spendguard_reservations WHERE state = 'held' AND expires_at <= ? ORDER BY expires_at LIMIT 1",
  saveReservation: `INSERT INTO spendguard_reservations (id, amount, refs, ledger, expires_at, state, spend_id, actual, expired, forget_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (id) DO UPDATE SET state = excluded.state, spend_id = excluded.spend_id, actual = excluded.actual,
      expired = excluded.expired, forget_at = excluded.forget_at`,
  reservation: `SELECT amount, refs, ledger, expires_at AS expiresAt, state, spend_id AS spendId, actual, expired
    FROM spendguard_reservations WHERE id = ?`,
  forgetReservations:
    'DELETE FROM spendguard_reservations WHERE id IN (SELECT id FROM spendguard_reservations WHERE forget_at <= ? LIMIT ?)',
  idempotent: 'SELECT id, expires_at AS expiresAt FROM spendguard_idempotency WHERE key = ? AND forget_at > ?',
  remember: `INSERT INTO spendguard_idempotency (key, id, expires_at, forget_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (key) DO UPDATE SET id = excluded.id, expires_at = excluded.expires_at, forget_at = excluded.forget_at`,
  forgetKeys: 'DELETE FROM spendguard_idempotency WHERE key IN (SELECT key FROM spendguard_idempotency WHERE forget_at <= ? LIMIT ?)',
  forgetTotals: `DELETE FROM spendguard_totals WHERE (instance, period) IN
    (SELECT instance, period FROM spendguard_totals WHERE forget_at > 0 AND forget_at <= ? LIMIT ?)`,
  forgetInstances:
    'DELETE FROM spendguard_instances WHERE id IN (SELECT id FROM spendguard_instances WHERE forget_at > 0 AND forget_at <= ? LIMIT ?)',
  // A sweep first asks each table whether anything is due (an index probe, well under a µs): the
  // DELETE … IN (SELECT … LIMIT) itself costs ~10 µs even when it deletes nothing.
  dueKeys: 'SELECT 1 FROM spendguard_idempotency WHERE forget_at <= ? LIMIT 1',
  dueReservations: 'SELECT 1 FROM spendguard_reservations WHERE forget_at <= ? LIMIT 1',
  dueTotals: 'SELECT 1 FROM spendguard_totals WHERE forget_at > 0 AND forget_at <= ? LIMIT 1',
  dueInstances: 'SELECT 1 FROM spendguard_instances WHERE forget_at > 0 AND forget_at <= ? LIMIT 1',
  dueLedger: 'SELECT 1 FROM spendguard_ledger WHERE at <= ? LIMIT 1',
  forgetLedger: 'DELETE FROM spendguard_ledger WHERE seq IN (SELECT seq FROM spendguard_ledger WHERE at <= ? LIMIT ?)',
  ledger: 'INSERT INTO spendguard_ledger (at, day, kind, spend_id, reservation_id, amount, attrs, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
} as const;

/** Statements whose callers want the first column's value, not a row object. */
const PLUCKED: ReadonlySet<keyof typeof SQL> = new Set([
  'limitsVersion',
  'bumpLimitsVersion',
  'lastPeriod',
  'instancesPage',
  'dueHold',
  'dueKeys',
  'dueReservations',
  'dueTotals',
  'dueInstances',
  'dueLedger',
]);

export type Statements = Record<keyof typeof SQL, Statement>;

export function prepareStatements(db: Database): Statements {
  const prepared = {} as Statements;
  for (const [name, sql] of Object.entries(SQL) as Array<[keyof typeof SQL, string]>) {
    const statement = db.prepare(sql);
    prepared[name] = PLUCKED.has(name) ? statement.pluck() : statement;
  }
  return prepared;
}
