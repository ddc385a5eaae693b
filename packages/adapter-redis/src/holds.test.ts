// Expired holds are always freed: however long nobody touched the store, and however many are due at once.
import { createSpendGuard } from '@spendguard/core';
import { afterAll, describe, expect, it } from 'vitest';
import { redisAdapter } from './redis-adapter.js';
import { ClientPool, RUN_ID } from './test-support/test-redis.js';

const pool = new ClientPool();
afterAll(() => pool.cleanup());
let n = 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function guardOn(budgets: Parameters<typeof createSpendGuard>[0]['budgets'], retentionMs?: number) {
  const store = redisAdapter({ client: await pool.open(), prefix: `${RUN_ID}-holds-${n++}` });
  return createSpendGuard({ store, budgets, ...(retentionMs === undefined ? {} : { retentionMs }) });
}

describe('redisAdapter holds', () => {
  it('frees a hold whose reservation record would have expired before any step purged it', async () => {
    const guard = await guardOn([{ id: 'lifetime', limit: 10, period: 'never' }], 1);
    expect(await guard.reserve({}, 10, { ttlMs: 30 })).toMatchObject({ allowed: true });
    await sleep(150); // past ttl + retention: the record's own time to live, before the fix
    expect(await guard.spend({}, 10)).toMatchObject({ allowed: true });
    expect(await guard.status('lifetime')).toMatchObject({ used: 10, reserved: 0 });
  });

  it('never refuses a spend because of holds that already expired, however many are due', async () => {
    const guard = await guardOn([{ id: 'monthly', limit: 100 }]);
    for (let i = 0; i < 100; i++) expect(await guard.reserve({}, 1, { ttlMs: 30 })).toMatchObject({ allowed: true });
    await sleep(80);
    expect(await guard.spend({}, 100)).toMatchObject({ allowed: true });
    expect(await guard.status('monthly')).toMatchObject({ used: 100, reserved: 0 });
  });

  it('check() and status() count no expired hold, however many are due', async () => {
    const guard = await guardOn([{ id: 'monthly', limit: 100 }]);
    for (let i = 0; i < 100; i++) await guard.reserve({}, 1, { ttlMs: 30 });
    await sleep(80);
    expect(await guard.status('monthly')).toMatchObject({ reserved: 0 });
    expect(await guard.check({}, 100)).toMatchObject({ allowed: true });
  });
});
