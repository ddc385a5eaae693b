// The SQLite schema: a version table and forward migrations, applied once per file under a write lock.
import { SpendGuardError } from '@spendguard/core';
import type { Database } from 'better-sqlite3';

/** Each entry moves the schema from version i to i + 1. Never edit a released one: append. */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE spendguard_instances (
    id TEXT PRIMARY KEY,
    last_period TEXT NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE spendguard_totals (
    instance TEXT NOT NULL,
    period TEXT NOT NULL,
    used INTEGER NOT NULL,
    reserved INTEGER NOT NULL,
    day TEXT NOT NULL,
    day_used INTEGER NOT NULL,
    PRIMARY KEY (instance, period)
  ) WITHOUT ROWID;

  CREATE TABLE spendguard_limits (
    name TEXT PRIMARY KEY,
    amount INTEGER NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE spendguard_meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
  ) WITHOUT ROWID;
  INSERT INTO spendguard_meta (key, value) VALUES ('limits_version', 0);

  CREATE TABLE spendguard_reservations (
    id TEXT PRIMARY KEY,
    amount INTEGER NOT NULL,
    refs TEXT NOT NULL,
    ledger TEXT,
    expires_at INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('held', 'expired', 'committed', 'released')),
    spend_id TEXT,
    actual INTEGER,
    expired INTEGER,
    forget_at INTEGER
  ) WITHOUT ROWID;
  CREATE INDEX spendguard_reservations_held ON spendguard_reservations (expires_at) WHERE state = 'held';
  CREATE INDEX spendguard_reservations_forget ON spendguard_reservations (forget_at) WHERE forget_at IS NOT NULL;

  CREATE TABLE spendguard_idempotency (
    key TEXT PRIMARY KEY,
    id TEXT NOT NULL,
    expires_at INTEGER,
    forget_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX spendguard_idempotency_forget ON spendguard_idempotency (forget_at);

  CREATE TABLE spendguard_ledger (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    day TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('spend', 'commit')),
    spend_id TEXT NOT NULL,
    reservation_id TEXT,
    amount INTEGER NOT NULL,
    attrs TEXT NOT NULL,
    meta TEXT
  );
  CREATE INDEX spendguard_ledger_at ON spendguard_ledger (at);
  `,
  // 2: retention for totals and instances, instances listed per rule, the limit each level was derived from.
  `
  ALTER TABLE spendguard_totals ADD COLUMN seen_limit INTEGER;
  ALTER TABLE spendguard_totals ADD COLUMN forget_at INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX spendguard_totals_forget ON spendguard_totals (forget_at) WHERE forget_at > 0;
  ALTER TABLE spendguard_instances ADD COLUMN rule TEXT NOT NULL DEFAULT '';
  ALTER TABLE spendguard_instances ADD COLUMN forget_at INTEGER NOT NULL DEFAULT 0;
  UPDATE spendguard_instances SET rule = CASE WHEN instr(id, ':') > 0 THEN substr(id, 1, instr(id, ':') - 1) ELSE id END;
  CREATE INDEX spendguard_instances_rule ON spendguard_instances (rule, id);
  CREATE INDEX spendguard_instances_forget ON spendguard_instances (forget_at) WHERE forget_at > 0;
  `,
  // 3: leased slices (held in reserved, their part in leased), the used a level was last derived from, the event feed.
  `
  ALTER TABLE spendguard_totals ADD COLUMN leased INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE spendguard_totals ADD COLUMN seen_used INTEGER;
  CREATE TABLE spendguard_leases (
    id TEXT PRIMARY KEY,
    amount INTEGER NOT NULL,
    recorded INTEGER NOT NULL,
    ref TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    forget_at INTEGER
  ) WITHOUT ROWID;
  CREATE INDEX spendguard_leases_held ON spendguard_leases (expires_at) WHERE amount > 0;
  CREATE INDEX spendguard_leases_forget ON spendguard_leases (forget_at) WHERE forget_at IS NOT NULL;
  CREATE TABLE spendguard_feed (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    fact TEXT NOT NULL,
    forget_at INTEGER NOT NULL
  );
  CREATE INDEX spendguard_feed_forget ON spendguard_feed (forget_at);
  `,
  // 4: what rollover carried into a period, and grants (kept until they expire).
  `
  ALTER TABLE spendguard_totals ADD COLUMN carried INTEGER NOT NULL DEFAULT 0;
  CREATE TABLE spendguard_grants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    amount INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    granted_at INTEGER NOT NULL,
    reason TEXT
  ) WITHOUT ROWID;
  CREATE INDEX spendguard_grants_expiry ON spendguard_grants (expires_at);
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

function currentVersion(db: Database): number {
  db.exec('CREATE TABLE IF NOT EXISTS spendguard_schema (version INTEGER NOT NULL)');
  const row = db.prepare('SELECT version FROM spendguard_schema').get() as { version: number } | undefined;
  return row?.version ?? 0;
}

/** Brings the file to SCHEMA_VERSION; refuses a file written by a newer adapter. */
export function migrate(db: Database): void {
  db.transaction(() => {
    const from = currentVersion(db);
    if (from > SCHEMA_VERSION) {
      throw new SpendGuardError(
        'INVALID_CONFIG',
        `this SQLite file has spendguard schema version ${from}, newer than ${SCHEMA_VERSION} that this @spendguard/adapter-sqlite knows. Upgrade the package in every process that opens the file.`,
      );
    }
    for (let v = from; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v] as string);
    if (from === 0) db.prepare('INSERT INTO spendguard_schema (version) VALUES (?)').run(SCHEMA_VERSION);
    else if (from < SCHEMA_VERSION) db.prepare('UPDATE spendguard_schema SET version = ?').run(SCHEMA_VERSION);
  }).immediate();
}
