// Group commit on a real SQLite file: calls made in the same tick share one IMMEDIATE transaction,
// each keeps its own all-or-nothing result, and a failed transaction records nothing of the group.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSpendGuard, isSpendGuardError } from '@spendguard/core';
import Database, { type Database as Connection } from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { sqliteAdapter } from './sqlite-adapter.js';

const dir = mkdtempSync(join(tmpdir(), 'spendguard-group-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A connection whose IMMEDIATE transactions are counted: `begun` every attempt, `committed` every
 * one that returned. The adapter only calls `.immediate` and `.deferred` on what `transaction` returns.
 */
function countedConnection(): { db: Connection; counts: { begun: number; committed: number } } {
  // timeout 0, as the adapter opens its own files: SQLite's busy handler would wait 5 s per attempt.
  const db = new Database(join(dir, `group-${n++}.db`), { timeout: 0 });
  const counts = { begun: 0, committed: 0 };
  const original = db.transaction.bind(db);
  db.transaction = ((fn: (...args: unknown[]) => unknown) => {
    const tx = original(fn);
    return {
      deferred: tx.deferred,
      immediate: (...args: unknown[]) => {
        counts.begun++;
        const out = tx.immediate(...args);
        counts.committed++;
        return out;
      },
    };
  }) as unknown as Connection['transaction'];
  return { db, counts };
}

function setup(options: { busyTimeoutMs?: number; maxCallsPerTransaction?: number } = {}) {
  const { db, counts } = countedConnection();
  const store = sqliteAdapter({ database: db, ...options });
  const guard = createSpendGuard({ store, budgets: [{ id: 'monthly', limit: 10 }] });
  return { db, counts, store, guard };
}

const outcome = <T>(p: Promise<T>) =>
  p.then(
    (value) => ({ value }),
    (error: unknown) => ({ code: isSpendGuardError(error) ? error.code : String(error) }),
  );

describe('sqliteAdapter group commit', () => {
  it('ten spends of 1.5 made at once against a limit of 10: one transaction, exactly 6 admitted in call order, used 9', async () => {
    const { db, counts, guard } = setup();
    await guard.status('monthly'); // the guard's first read, outside the counted group
    // A guard's first refusal of an instance re-reads it (refused-levels.ts), outside the group too.
    expect((await guard.spend({}, 11)).allowed).toBe(false);
    const before = { ...counts };
    const results = await Promise.all(Array.from({ length: 10 }, () => guard.spend({}, 1.5)));
    expect(counts.committed - before.committed).toBe(1);
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, true, true, true, false, false, false, false]);
    // Each admitted call saw the totals its own step left, not the group's end state.
    expect(results.map((r) => (r.allowed ? r.remaining.monthly : r.remaining))).toEqual([8.5, 7, 5.5, 4, 2.5, 1, 1, 1, 1, 1]);
    expect((await guard.status('monthly')).used).toBe(9);
    await guard.close();
    db.close();
  });

  it('with maxCallsPerTransaction: 1, each call has its own transaction', async () => {
    const { db, counts, guard } = setup({ maxCallsPerTransaction: 1 });
    const before = counts.committed;
    await Promise.all(Array.from({ length: 5 }, () => guard.spend({}, 1)));
    expect(counts.committed - before).toBe(5);
    expect((await guard.status('monthly')).used).toBe(5);
    await guard.close();
    db.close();
  });

  it('spends, a reservation and its commit made at once apply in call order in one transaction', async () => {
    const { db, counts, guard } = setup();
    expect((await guard.spend({}, 11)).allowed).toBe(false); // its first refusal re-reads, outside the group
    const held = await guard.reserve({}, 4);
    if (!held.allowed) throw new Error('refused');
    const before = counts.committed;
    const [first, commit, second, third] = await Promise.all([
      guard.spend({}, 5),
      guard.commit(held.reservationId, 1),
      guard.spend({}, 3),
      guard.spend({}, 2),
    ]);
    expect(counts.committed - before).toBe(1);
    expect(first.allowed).toBe(true); // 4 held + 5 = 9
    expect(commit.actual).toBe(1); // the hold of 4 becomes 1 used: 6 in all
    expect(second.allowed).toBe(true); // 9
    expect(third.allowed).toBe(false); // 11 would pass 10
    expect((await guard.status('monthly')).used).toBe(9);
    await guard.close();
    db.close();
  });

  it('when the write lock stays taken past busyTimeoutMs, every call of the group fails with STORE_UNAVAILABLE and nothing is recorded', async () => {
    const { db, guard } = setup({ busyTimeoutMs: 100 });
    await guard.spend({}, 1);
    const other = new Database(db.name);
    other.exec('BEGIN IMMEDIATE');
    const results = await Promise.all(Array.from({ length: 5 }, () => outcome(guard.spend({}, 1))));
    other.exec('ROLLBACK');
    other.close();
    expect(results).toEqual(Array.from({ length: 5 }, () => ({ code: 'STORE_UNAVAILABLE' })));
    expect((await guard.status('monthly')).used).toBe(1);
    expect((await guard.spend({}, 1)).allowed).toBe(true);
    expect((await guard.status('monthly')).used).toBe(2);
    await guard.close();
    db.close();
  });

  it('a call that throws inside the group fails alone: its neighbours are recorded exactly once, nothing of the failed attempt stays', async () => {
    const { db, counts, guard } = setup();
    await guard.spend({}, 0.5);
    // A reservation row that cannot be read (its refs are not JSON) makes the settle step throw midway.
    db.prepare(
      `INSERT INTO spendguard_reservations (id, amount, refs, ledger, expires_at, state, spend_id, actual, expired, forget_at)
      VALUES ('rs_broken', 1000000, 'not json', NULL, ?, 'held', NULL, NULL, NULL, NULL)`,
    ).run(Date.now() + 3_600_000);
    const before = { ...counts };
    const [a, broken, b] = await Promise.all([
      outcome(guard.spend({}, 1)),
      outcome(guard.commit('rs_broken', 1)),
      outcome(guard.spend({}, 2)),
    ]);
    expect(broken).toEqual({ code: 'STORE_UNAVAILABLE' });
    expect(a).toMatchObject({ value: { allowed: true, remaining: { monthly: 8.5 } } });
    expect(b).toMatchObject({ value: { allowed: true, remaining: { monthly: 6.5 } } });
    // The first attempt ran the first spend and then threw; it was rolled back and the rest ran again.
    expect(counts.begun - before.begun).toBe(2);
    expect(counts.committed - before.committed).toBe(1);
    expect((await guard.status('monthly')).used).toBe(3.5);
    expect(db.prepare("SELECT state FROM spendguard_reservations WHERE id = 'rs_broken'").pluck().get()).toBe('held');
    await guard.close();
    db.close();
  });

  it('close() writes the calls already made before it closes the file', async () => {
    const path = join(dir, 'close.db');
    const store = sqliteAdapter({ path });
    const guard = createSpendGuard({ store, budgets: [{ id: 'monthly', limit: 10 }] });
    const spends = [guard.spend({}, 1), guard.spend({}, 2)];
    store.close();
    expect((await Promise.all(spends)).map((r) => r.allowed)).toEqual([true, true]);
    const reader = sqliteAdapter({ path });
    expect(reader.database.prepare('SELECT used FROM spendguard_totals').pluck().get()).toBe(3_000_000);
    reader.close();
  });

  it('refuses a maxCallsPerTransaction below 1', () => {
    expect(() => sqliteAdapter({ path: join(dir, 'bad.db'), maxCallsPerTransaction: 0 })).toThrow(/maxCallsPerTransaction/);
  });
});
