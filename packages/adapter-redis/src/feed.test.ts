// What only the Redis feed does: one stream shared by every process on the prefix, trimmed by the
// longest retention any of them asked for.
import { createSpendGuard } from '@spendguard/core';
import { afterAll, describe, expect, it } from 'vitest';
import { redisAdapter } from './redis-adapter.js';
import { ClientPool, RUN_ID } from './test-support/test-redis.js';

const pool = new ClientPool();
afterAll(() => pool.cleanup());

describe('the Redis event feed', () => {
  it('is trimmed by the longest retention any process asked for, not by the shortest', { timeout: 20_000 }, async () => {
    const prefix = `${RUN_ID}-feed-retention`;
    const budgets = [{ id: 'u', per: 'user', limit: 10 }];
    const long = createSpendGuard({ store: redisAdapter({ client: await pool.open(), prefix }), budgets });
    const short = createSpendGuard({ store: redisAdapter({ client: await pool.open(), prefix }), budgets, eventRetentionMs: 1000 });
    await long.spend({ user: 'a' }, 6);
    await new Promise((r) => setTimeout(r, 1200));
    await short.spend({ user: 'b' }, 6); // appends, and trims
    const budgetsSeen = (await long.events()).events.map((e) => (e as { budget: string }).budget);
    expect(budgetsSeen).toEqual(['u:a', 'u:a', 'u:b', 'u:b']);
  });
});
