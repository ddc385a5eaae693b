// What only the SQLite adapter does: migrations, caller-owned databases, the ledger, lock time-outs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSpendGuard, isSpendGuardError } from '@spendguard/core';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from './schema.js';
import { sqliteAdapter } from './sqlite-adapter.js';

const dir = mkdtempSync(join(tmpdir(), 'spendguard-sqlite-x-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sqliteAdapter specifics', () => {
  it('keeps totals across reopening the file (a second run continues the month)', async () => {
    const path = join(dir, 'reopen.db');
    const budgets = [{ id: 'monthly', limit: 100 }];
    const first = createSpendGuard({ store: sqliteAdapter({ path }), budgets });
    await first.spend({}, 12.5);
    await first.close();
    const second = createSpendGuard({ store: sqliteAdapter({ path }), budgets });
    await second.spend({}, 0.25);
    expect((await second.status('monthly')).used).toBe(12.75);
    await second.close();
  });

  it('migrates a schema 3 file to 4 (rollover, grants) keeping its totals', async () => {
    const path = join(dir, 'schema3.db');
    const budgets = [{ id: 'monthly', limit: 100, rollover: { max: 50 } }];
    let now = Date.parse('2026-11-10T00:00:00Z');
    const clock = () => now;
    const first = createSpendGuard({ store: sqliteAdapter({ path }), budgets, clock });
    await first.spend({}, 70);
    await first.close();
    // What a file written by the previous release looks like: no carried column, no grants table.
    const raw = new Database(path);
    raw.exec('DROP TABLE spendguard_grants; ALTER TABLE spendguard_totals DROP COLUMN carried; UPDATE spendguard_schema SET version = 3');
    raw.close();
    const second = createSpendGuard({ store: sqliteAdapter({ path }), budgets, clock });
    expect((await second.status('monthly')).used).toBe(70);
    await second.grant('monthly', 5);
    expect((await second.status('monthly')).limit).toBe(105);
    now = Date.parse('2026-12-10T00:00:00Z');
    await second.spend({}, 1);
    expect(await second.status('monthly')).toMatchObject({ limit: 130, carriedOver: 30, used: 1 });
    await second.close();
    const check = new Database(path);
    expect(check.prepare('SELECT version FROM spendguard_schema').pluck().get()).toBe(SCHEMA_VERSION);
    check.close();
  });

  it('refuses a file written by a newer schema version, and changes nothing in it', () => {
    const path = join(dir, 'newer.db');
    sqliteAdapter({ path }).close();
    const raw = new Database(path);
    raw.prepare('UPDATE spendguard_schema SET version = ?').run(SCHEMA_VERSION + 1);
    raw.close();
    let err: unknown;
    try {
      sqliteAdapter({ path });
    } catch (e) {
      err = e;
    }
    expect(isSpendGuardError(err, 'INVALID_CONFIG')).toBe(true);
    expect((err as Error).message).toMatch(/newer/);
    const check = new Database(path);
    expect(check.prepare('SELECT version FROM spendguard_schema').pluck().get()).toBe(SCHEMA_VERSION + 1);
    check.close();
  });

  it('uses a caller-owned database and leaves it open on close', async () => {
    const db = new Database(join(dir, 'owned.db'));
    const guard = createSpendGuard({ store: sqliteAdapter({ database: db }), budgets: [{ id: 'm', limit: 5 }] });
    await guard.spend({}, 1);
    await guard.close();
    expect(db.open).toBe(true);
    expect(db.prepare('SELECT used FROM spendguard_totals').pluck().get()).toBe(1_000_000);
    db.close();
  });

  it('an adapter shared by two guards stays open until the last of them closes', async () => {
    const store = sqliteAdapter({ path: join(dir, 'shared-adapter.db') });
    const budgets = [{ id: 'm', limit: 5 }];
    const a = createSpendGuard({ store, budgets });
    const b = createSpendGuard({ store, budgets });
    await a.spend({}, 1);
    await a.close();
    expect((await b.spend({}, 2)).allowed).toBe(true);
    expect((await b.status('m')).used).toBe(3);
    await b.close();
    expect(store.database.open).toBe(false);
  });

  it('keeps a ledger of spends and commits, queryable by day, model and project', async () => {
    const store = sqliteAdapter({ path: join(dir, 'ledger.db'), ledger: true });
    let now = Date.parse('2026-11-23T10:00:00Z');
    const guard = createSpendGuard({ store, budgets: [{ id: 'm', limit: 100 }], clock: () => now });
    await guard.spend({ model: 'gpt-4.1', project: 'api' }, 1.5, { meta: { tokens: 1200 } });
    now += 86_400_000;
    await guard.spend({ model: 'o3', project: 'api' }, 2);
    const r = await guard.reserve({ model: 'o3', project: 'batch' }, 5);
    if (!r.allowed) throw new Error('refused');
    await guard.commit(r.reservationId, 3.25);
    expect(store.usage({ by: 'day' })).toEqual([
      { key: '2026-11-23', amount: 1.5, count: 1 },
      { key: '2026-11-24', amount: 5.25, count: 2 },
    ]);
    expect(store.usage({ by: 'model' })).toEqual([
      { key: 'gpt-4.1', amount: 1.5, count: 1 },
      { key: 'o3', amount: 5.25, count: 2 },
    ]);
    expect(store.usage({ by: 'project', since: Date.parse('2026-11-24T00:00:00Z') })).toEqual([
      { key: 'api', amount: 2, count: 1 },
      { key: 'batch', amount: 3.25, count: 1 },
    ]);
    expect(store.database.prepare('SELECT meta FROM spendguard_ledger WHERE seq = 1').pluck().get()).toBe('{"tokens":1200}');
    await guard.close();
  });

  it('forgets ledger entries the history retention after their spend', async () => {
    const day = 86_400_000;
    const store = sqliteAdapter({ path: join(dir, 'ledger-retention.db'), ledger: true, historyRetentionMs: 2 * day });
    let now = Date.parse('2026-11-23T10:00:00Z');
    const guard = createSpendGuard({ store, budgets: [{ id: 'm', limit: 1000, period: 'day' }], clock: () => now });
    for (let i = 0; i < 300; i++) await guard.spend({ model: 'a' }, 1);
    now += 2 * day - 1000; // just inside the retention: every entry is kept
    await guard.spend({ model: 'b' }, 1);
    expect(store.usage({ by: 'model' })).toEqual([
      { key: 'a', amount: 300, count: 300 },
      { key: 'b', amount: 1, count: 1 },
    ]);
    now += 2000; // past it: the old entries go, a bounded batch per step
    await guard.spend({ model: 'b' }, 1);
    now += 2000;
    await guard.spend({ model: 'b' }, 1);
    expect(store.usage({ by: 'model' })).toEqual([{ key: 'b', amount: 3, count: 3 }]);
    await guard.close();
  });

  it('fails with STORE_UNAVAILABLE, recording nothing, when another connection holds the lock too long', async () => {
    const path = join(dir, 'locked.db');
    const guard = createSpendGuard({ store: sqliteAdapter({ path, busyTimeoutMs: 200 }), budgets: [{ id: 'm', limit: 5 }] });
    await guard.spend({}, 1);
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    const started = Date.now();
    await expect(guard.spend({}, 1)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(2000);
    other.exec('ROLLBACK');
    other.close();
    expect((await guard.status('m')).used).toBe(1);
    await guard.close();
  });

  it('with onStoreError: allow, admits while the file is locked and replays exactly once afterwards', async () => {
    const path = join(dir, 'journal.db');
    const guard = createSpendGuard({
      store: sqliteAdapter({ path, busyTimeoutMs: 50 }),
      budgets: [{ id: 'm', limit: 5 }],
      onStoreError: 'allow',
      offlineAllowance: 100,
    });
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    const r = await guard.spend({}, 2);
    expect(r.allowed).toBe(true);
    expect(guard.pendingJournal).toBe(1);
    other.exec('ROLLBACK');
    other.close();
    await guard.flush();
    await guard.flush();
    expect(guard.pendingJournal).toBe(0);
    expect((await guard.status('m')).used).toBe(2);
    await guard.close();
  });

  it('a leased guard admits out of its slice while the file is locked, then fails; nothing is lost', async () => {
    const path = join(dir, 'leased-outage.db');
    const guard = createSpendGuard({
      store: sqliteAdapter({ path, busyTimeoutMs: 50 }),
      budgets: [{ id: 'm', limit: 10 }],
      lease: { fraction: 0.1, maxHoldMs: 60_000 },
    });
    expect((await guard.spend({}, 0.25)).allowed).toBe(true); // takes a slice of 1
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE'); // the store is unreachable for writes from here on
    for (let i = 0; i < 3; i++) expect((await guard.spend({}, 0.25)).allowed).toBe(true);
    await expect(guard.spend({}, 0.25)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    other.exec('ROLLBACK');
    other.close();
    await guard.close();
    const reader = createSpendGuard({ store: sqliteAdapter({ path }), budgets: [{ id: 'm', limit: 10 }] });
    expect(await reader.status('m')).toMatchObject({ used: 1, leased: 0, reserved: 0 });
    await reader.close();
  });
});
