// store calls the server rejects with an SQL error: statement_timeout cancelling batches at
// random points, and a dropped function. STORE_UNAVAILABLE, nothing recorded, no connection leaked.
import { createSpendGuard, isSpendGuardError } from '@spendguard/core';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresAdapter } from './postgres-adapter.js';
import { SchemaPool, testPostgres } from './test-support/test-postgres.js';

const schemas = new SchemaPool();
const extra: pg.Pool[] = [];
afterAll(async () => {
  for (const p of extra) await p.end().catch(() => {});
  await schemas.cleanup();
});
const budgets = [
  { id: 'monthly', limit: 1_000_000 },
  { id: 'user', per: 'user', limit: { '*': 1_000_000 } },
];

describe('postgresAdapter: SQL errors', () => {
  it('statement_timeout cancelling batches: a call that threw recorded nothing', { timeout: 60_000 }, async () => {
    const schema = schemas.newSchema('stmt');
    const warm = createSpendGuard({ store: await schemas.adapter(schema), budgets });
    await warm.spend({}, 0);
    const pool = new pg.Pool({ connectionString: await testPostgres(), max: 4, statement_timeout: 30 });
    pool.on('error', () => {});
    extra.push(pool);
    const g = createSpendGuard({ store: postgresAdapter({ pool, schema }), budgets });
    let admitted = 0;
    let failed = 0;
    const messages = new Set<string>();
    await Promise.all(
      Array.from({ length: 16 }, async (_, lane) => {
        for (let i = 0; i < 60; i++) {
          const micros = 1 + ((lane * 31 + i * 7919) % 997);
          try {
            const r = await g.spend({ user: `u${(lane + i) % 40}` }, micros / 1e6);
            if (r.allowed) admitted += micros;
          } catch (err) {
            if (!isSpendGuardError(err, 'STORE_UNAVAILABLE')) throw err;
            messages.add(err.message.replace(/[0-9a-f-]{36}/g, 'ID'));
            failed++;
          }
        }
      }),
    );
    console.log({ failed, messages: [...messages].slice(0, 3) });
    // failed is usually > 0 (batches take 10–30 ms); the property is the conservation below.
    expect(Math.round((await warm.status('monthly')).used * 1e6)).toBe(admitted);
    expect(pool.waitingCount).toBe(0);
    expect(pool.totalCount).toBeLessThanOrEqual(4);
  });

  it('a dropped batch function: STORE_UNAVAILABLE naming it, and it never recovers silently wrong', async () => {
    const schema = schemas.newSchema('drop');
    const g = createSpendGuard({ store: await schemas.adapter(schema), budgets });
    await g.spend({}, 1);
    const admin = await schemas.pool(1);
    await admin.query(`DROP FUNCTION "${schema}".batch(text, jsonb, jsonb, jsonb)`);
    const err = await g.spend({}, 1).catch((e: unknown) => e);
    expect(isSpendGuardError(err, 'STORE_UNAVAILABLE')).toBe(true);
    expect((err as Error).message).toMatch(/batch/);
  });
});
