// Nothing grows without bound in PostgreSQL: after their retention, every row of a schema is forgotten
// in server time, whatever was spent, reserved, settled, keyed, leased or left to expire.
import { createSpendGuard } from '@spendguard/core';
import { ManualClock } from '@spendguard/core/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { quoteIdentifier } from './migrate.js';
import { SchemaPool } from './test-support/test-postgres.js';

const schemas = new SchemaPool();
afterAll(() => schemas.cleanup());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Rows per table, counting the batch records only once their own retention has passed. */
async function rowsLeft(schema: string): Promise<Record<string, number>> {
  const s = quoteIdentifier(schema);
  const pool = await schemas.pool(1);
  const { rows } = await pool.query<{ t: string; n: string }>(
    `SELECT 'totals' AS t, count(*)::text AS n FROM ${s}.totals
     UNION ALL SELECT 'instances', count(*)::text FROM ${s}.instances
     UNION ALL SELECT 'reservations', count(*)::text FROM ${s}.reservations
     UNION ALL SELECT 'idempotency', count(*)::text FROM ${s}.idempotency
     UNION ALL SELECT 'leases', count(*)::text FROM ${s}.leases
     UNION ALL SELECT 'feed', count(*)::text FROM ${s}.feed
     UNION ALL SELECT 'calls', count(*)::text FROM ${s}.calls
       WHERE forget_at <= floor(extract(epoch FROM clock_timestamp()) * 1000)`,
  );
  await pool.end();
  return Object.fromEntries(rows.filter((r) => r.n !== '0').map((r) => [r.t, Number(r.n)]));
}

const budgets = [
  { id: 'daily', limit: 1000, period: 'day' as const },
  { id: 'user', per: 'user', limit: { '*': 10 }, period: 'day' as const },
];

describe('postgresAdapter growth', () => {
  it('many distinct instances, keys, reservations and slices over many periods leave nothing behind', { timeout: 60_000 }, async () => {
    const schema = schemas.newSchema('growth');
    const store = await schemas.adapter(schema, { historyRetentionMs: 1000 });
    // A clock in the past: each period ended long ago in server time, so its records may go at once.
    const clock = new ManualClock(Date.parse('2021-03-01T12:00:00Z'));
    const guard = createSpendGuard({ store, budgets, clock: clock.now, retentionMs: 300, eventRetentionMs: 300 });
    const leased = createSpendGuard({
      store,
      budgets,
      clock: clock.now,
      retentionMs: 300,
      eventRetentionMs: 300,
      lease: { fraction: 0.1, maxHoldMs: 50 },
    });
    for (let day = 0; day < 4; day++) {
      for (let u = 0; u < 40; u++) {
        const user = `u${day}-${u}`;
        await guard.spend({ user }, 1, { idempotencyKey: `k-${user}` });
        const r = await guard.reserve({ user }, 2, { ttlMs: 50 });
        if (!r.allowed) throw new Error('refused');
        if (u % 3 === 0) await guard.commit(r.reservationId, 1);
        else if (u % 3 === 1) await guard.release(r.reservationId); // the others expire
        if (u % 10 === 0) await leased.spend({ user }, 0.5);
      }
      await guard.status();
      clock.advance(86_400_000);
    }
    await leased.close();
    // The holds' ttl, the records' retention and the periods' history pass in server time; each batch
    // then forgets at most 256 rows, and the next one goes on while there are more.
    let left: Record<string, number> = {};
    for (let i = 0; i < 40; i++) {
      await sleep(i === 0 ? 1100 : 300);
      await guard.status('daily');
      left = await rowsLeft(schema);
      if (Object.keys(left).length === 0) break;
    }
    expect(left).toEqual({});
  });
});
