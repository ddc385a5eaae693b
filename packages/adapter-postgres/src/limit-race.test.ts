// A limit written while a batch waits on a row lock: the batch must not check its call against the old
// limit once another process has spent up to the new one (batches read the limits under a shared lock
// that setLimit, and a grant, take exclusively).
import { createSpendGuard } from '@spendguard/core';
import { afterAll, describe, expect, it } from 'vitest';
import { M, monthRef, NOW } from './test-support/spi-pair.js';
import { SchemaPool } from './test-support/test-postgres.js';

const schemas = new SchemaPool();
afterAll(() => schemas.cleanup());

describe('postgresAdapter: setLimit racing a batch', () => {
  it('a lowered limit is never passed', { timeout: 30_000 }, async () => {
    const schema = schemas.newSchema('limrace');
    // 'a_user:*' sorts before 'monthly', so a batch for u1 locks a_user:u1 first and waits there.
    const budgets = [
      { id: 'a_user', per: 'user', limit: { '*': 1000 } },
      { id: 'monthly', limit: 100 },
    ];
    const guardA = createSpendGuard({ store: await schemas.adapter(schema), budgets });
    const guardB = createSpendGuard({ store: await schemas.adapter(schema), budgets });
    expect((await guardA.spend({ user: 'u1' }, 1)).allowed).toBe(true);

    // Another transaction (standing in for a long batch of another process) holds the a_user:u1 row.
    const admin = await (await schemas.pool(2)).connect();
    await admin.query('BEGIN');
    await admin.query(`SELECT 1 FROM "${schema}".totals WHERE instance = 'a_user:u1' FOR UPDATE`);

    const pA = guardA.spend({ user: 'u1' }, 40); // reads the limits (monthly 100), then waits for the row
    await new Promise((r) => setTimeout(r, 300));
    const pLimit = guardB.setLimit('monthly', 50); // waits for the batch that read the old limit
    await new Promise((r) => setTimeout(r, 300));
    const pB = guardB.spend({ user: 'u2' }, 49); // and this one waits for the new limit
    await new Promise((r) => setTimeout(r, 300));
    await admin.query('COMMIT');
    admin.release();

    const [a, , b] = await Promise.all([pA, pLimit, pB]);
    const monthly = await guardB.status('monthly');
    // In the store's order: A against 100 (1 + 40), the limit to 50, then B refused (41 + 49 > 50).
    expect({ a: a.allowed, b: b.allowed, used: monthly.used, limit: monthly.limit }).toEqual({ a: true, b: false, used: 41, limit: 50 });
  });

  it('a grant waits for the batches that read the limits before it', { timeout: 30_000 }, async () => {
    const schema = schemas.newSchema('grantrace');
    const [a, b] = [await schemas.adapter(schema), await schemas.adapter(schema)];
    const m = monthRef('m', 0, { rollover: null });
    expect((await a.charge({ kind: 'spend', callId: 'first', instances: [m], amount: 1 * M, now: NOW })).ok).toBe(true);

    const admin = await (await schemas.pool(2)).connect();
    await admin.query('BEGIN');
    await admin.query(`SELECT 1 FROM "${schema}".totals WHERE instance = 'm' FOR UPDATE`);
    const order: string[] = [];
    // Reads the limits (no grant), then waits for the row.
    const pA = Promise.resolve(a.charge({ kind: 'spend', callId: 'waits', instances: [m], amount: 99 * M, now: NOW })).then((r) => {
      order.push('spend');
      return r;
    });
    await new Promise((r) => setTimeout(r, 300));
    const grant = { id: 'g-race', name: 'm', amount: 10 * M, expiresAt: NOW + 86_400_000, grantedAt: NOW };
    const pG = Promise.resolve(b.grant?.({ grant, expectedVersion: 0, now: NOW })).then((r) => {
      order.push('grant');
      return r;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(order).toEqual([]);
    await admin.query('COMMIT');
    admin.release();

    const [spent, granted] = await Promise.all([pA, pG]);
    expect(order).toEqual(['spend', 'grant']);
    expect(spent).toMatchObject({ ok: true, totals: [{ limit: 100 * M, used: 100 * M }] });
    expect(granted).toEqual({ ok: true, version: 1 });
    expect(await b.read([m], NOW)).toMatchObject([{ limit: 110 * M, used: 100 * M }]);
  });
});
