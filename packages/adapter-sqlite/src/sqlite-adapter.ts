// sqliteAdapter(): budgets in one SQLite file shared by many processes on one machine. Every
// operation runs inside a BEGIN IMMEDIATE transaction (read, check and write under the write lock);
// operations called in the same tick share one transaction (group commit).
import { SpendGuardError } from '@spendguard/core';
import { createRecordAdapter, DEFAULT_HISTORY_RETENTION_MS, type StorageAdapter } from '@spendguard/core/adapter';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { type UsageQuery, type UsageRow, usageFrom } from './ledger.js';
import { migrate } from './schema.js';
import { sqliteRecords } from './sqlite-records.js';
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
  /**
   * At most this many calls made in the same tick share one transaction (group commit): the commit
   * is most of a call's cost. 1 gives each call its own transaction. Default 256.
   */
  maxCallsPerTransaction?: number;
  /** `synchronous` pragma for files this adapter opens. Default 'NORMAL' (durable across process crashes in WAL). */
  synchronous?: 'OFF' | 'NORMAL' | 'FULL';
  /**
   * How long a period's totals stay readable after the period ends, and ledger entries after their
   * spend (ms). Default two years.
   */
  historyRetentionMs?: number;
}

export interface SqliteAdapter extends StorageAdapter {
  readonly database: Database;
  /** Spend recorded in the ledger, grouped by day or by an attribute. Needs `ledger: true`. */
  usage(query: UsageQuery): UsageRow[];
}

/** Bounds how long one group holds the write lock: a few ms, well inside the other processes' patience. */
const DEFAULT_MAX_CALLS_PER_TRANSACTION = 256;

export function sqliteAdapter(options: SqliteAdapterOptions): SqliteAdapter {
  if (!options || (options.path === undefined) === (options.database === undefined)) {
    throw new SpendGuardError(
      'INVALID_CONFIG',
      'sqliteAdapter needs exactly one of { path } (a file to open) or { database } (an open better-sqlite3 Database).',
    );
  }
  const owned = options.database === undefined;
  const maxCalls = options.maxCallsPerTransaction ?? DEFAULT_MAX_CALLS_PER_TRANSACTION;
  if (!Number.isInteger(maxCalls) || maxCalls < 1) {
    throw new SpendGuardError('INVALID_CONFIG', `maxCallsPerTransaction must be an integer ≥ 1 (1: no group commit); got ${maxCalls}.`);
  }
  const lock: WriteLockOptions = { timeoutMs: options.busyTimeoutMs ?? 5000, spinMs: 20 };
  let db: Database;
  try {
    db = options.database ?? new BetterSqlite3(options.path as string, { timeout: 0 });
    // Switching a new file to WAL takes the write lock: another process opening it at once may hold it.
    withWriteLock(lock, () => db.pragma('journal_mode = WAL'));
    if (owned) db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
  } catch (err) {
    if (err instanceof SpendGuardError) throw err;
    throw new SpendGuardError('STORE_UNAVAILABLE', `cannot open the SQLite file ${options.path ?? ''}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  withWriteLock(lock, () => migrate(db));
  const q = prepareStatements(db);
  const keepLedger = options.ledger === true;
  const records = sqliteRecords(q, options.historyRetentionMs ?? DEFAULT_HISTORY_RETENTION_MS);
  const transaction = db.transaction(<T>(body: () => T): T => {
    records.refresh();
    return body();
  });

  /** One IMMEDIATE transaction, retried fairly while another connection holds the lock. */
  function atomic<T>(body: () => T): T {
    try {
      return withWriteLock(lock, () => transaction.immediate(body) as T);
    } catch (err) {
      records.reloadLimitsNextTime();
      if (err instanceof SpendGuardError) throw err;
      throw new SpendGuardError('STORE_UNAVAILABLE', `the SQLite store failed: ${(err as Error).message}; nothing was recorded.`, {
        cause: err,
      });
    }
  }

  /** A read: a deferred transaction, no write lock. */
  function snapshot<T>(body: () => T): T {
    try {
      return transaction.deferred(body) as T;
    } catch (err) {
      if (err instanceof SpendGuardError) throw err; // bad input the records noticed (a cursor this store never wrote)
      throw new SpendGuardError('STORE_UNAVAILABLE', `the SQLite store failed: ${(err as Error).message}`, { cause: err });
    }
  }

  const adapter = createRecordAdapter({
    name: 'sqlite',
    records,
    atomic,
    ...(maxCalls > 1 ? { groupCommit: { maxSteps: maxCalls } } : {}),
    snapshot,
    ledger: keepLedger,
    ...(options.historyRetentionMs === undefined ? {} : { historyRetentionMs: options.historyRetentionMs }),
    close() {
      if (owned && db.open) db.close();
    },
  });
  return Object.assign(adapter, {
    database: db,
    usage(query: UsageQuery): UsageRow[] {
      if (!keepLedger)
        throw new SpendGuardError(
          'INVALID_CONFIG',
          'usage() reads the ledger: create the adapter with sqliteAdapter({ path, ledger: true }).',
        );
      return snapshot(() => usageFrom(db, query));
    },
  });
}
