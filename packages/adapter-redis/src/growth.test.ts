// Nothing grows without bound in Redis: after their retention, every key of a prefix is forgotten in
// server time, whatever was spent, reserved, settled, keyed or left to expire, and however many instances.
import { createSpendGuard } from '@spendguard/core';
import { ManualClock } from '@spendguard/core/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { redisAdapter } from './redis-adapter.js';
import { ClientPool, RUN_ID } from './test-support/test-redis.js';

const pool = new ClientPool();
afterAll(() => pool.cleanup());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function keysUnder(prefix: string): Promise<string[]> {
  const client = await pool.open();
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `{${prefix}}*`, 'COUNT', 1000);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return found.map((k) => k.slice(prefix.length + 3).replace(/:.*/, ':…')).sort();
}

const budgets = [
  { id: 'daily', limit: 1000, period: 'day' as const },
  { id: 'user', per: 'user', limit: { '*': 10 }, period: 'day' as const },
];

describe('redisAdapter growth', () => {
  it('many distinct instances, keys and reservations over many periods leave only the session behind', { timeout: 30_000 }, async () => {
    const prefix = `${RUN_ID}-growth`;
    const store = redisAdapter({ client: await pool.open(), prefix, historyRetentionMs: 1000 });
    // A clock in the past: each period ended long ago in server time, so its records may go at once.
    const clock = new ManualClock(Date.parse('2021-03-01T12:00:00Z'));
    const guard = createSpendGuard({ store, budgets, clock: clock.now, retentionMs: 300 });
    for (let day = 0; day < 4; day++) {
      for (let u = 0; u < 60; u++) {
        const user = `u${day}-${u}`;
        await guard.spend({ user }, 1, { idempotencyKey: `k-${user}` });
        const r = await guard.reserve({ user }, 2, { ttlMs: 50 });
        if (!r.allowed) throw new Error('refused');
        if (u % 3 === 0) await guard.commit(r.reservationId, 1);
        else if (u % 3 === 1) await guard.release(r.reservationId); // the others expire
      }
      await guard.status();
      clock.advance(86_400_000);
    }
    await sleep(400); // the holds' ttl and the settled records' retention pass in server time
    await guard.spend({ user: 'last' }, 1); // a step that frees the holds due
    await sleep(400);
    expect(await keysUnder(prefix)).toEqual(['s:…']);
  });

  it("a rule's instance listing goes with its last instance, without a later write", async () => {
    const prefix = `${RUN_ID}-growth-listing`;
    // Yesterday's period ended at midnight UTC; with this retention its records go in ~300 ms.
    const midnight = Math.floor(Date.now() / 86_400_000) * 86_400_000;
    const store = redisAdapter({ client: await pool.open(), prefix, historyRetentionMs: Date.now() - midnight + 300 });
    const guard = createSpendGuard({ store, budgets, clock: () => midnight - 3_600_000 });
    for (let u = 0; u < 5; u++) await guard.spend({ user: `u${u}` }, 1);
    expect(await keysUnder(prefix)).toContain('in:…');
    await sleep(600);
    expect(await keysUnder(prefix)).toEqual(['s:…']);
  });
});
