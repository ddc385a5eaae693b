// A forecast claim in a batch whose answer was lost: the cancel leaves it (its fact is in the feed), and
// the guard sends it again with the same id; the replay answers with that id, so this guard alerts.
import { createSpendGuard, type StorageAdapter } from '@spendguard/core';
import type { ChargeRequest } from '@spendguard/core/adapter';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { redisAdapter } from './redis-adapter.js';
import { FaultProxy } from './test-support/test-proxy.js';
import { ClientPool, RUN_ID, testRedisUrl } from './test-support/test-redis.js';

const pool = new ClientPool();
const cleanup: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
  await pool.cleanup();
});
const budgets = [{ id: 'monthly', limit: 100, forecast: true }];
const now = Date.parse('2026-11-10T00:00:00Z');
const clock = () => now;

describe('redisAdapter: a forecast claim whose answer is lost', () => {
  it('is left standing by the cancel and sent again with its id: one alert, live and in the feed', { timeout: 20_000 }, async () => {
    const url = new URL(await testRedisUrl());
    const proxy = await FaultProxy.start({ host: url.hostname, port: Number(url.port || 6379) });
    cleanup.push(() => proxy.close());
    const c = new Redis(proxy.url, { maxRetriesPerRequest: 1, retryStrategy: () => 20 });
    c.on('error', () => {});
    cleanup.push(() => c.disconnect());
    const prefix = `${RUN_ID}-forecast-doubt`;
    const inner = redisAdapter({ client: c, prefix, commandTimeoutMs: 200 });
    let drop = true;
    const store: StorageAdapter = Object.create(inner);
    store.charge = async (req: ChargeRequest) => {
      if (req.forecast && drop) {
        drop = false;
        proxy.dropReplies();
      }
      return inner.charge(req);
    };
    const guard = createSpendGuard({ store, budgets, clock });
    const live: string[] = [];
    guard.on('alert', (a) => live.push(a.level));
    const check = createSpendGuard({ store: redisAdapter({ client: await pool.open(), prefix }), budgets, clock });
    await guard.spend({}, 1);
    await guard.spend({}, 40); // projection passes; the claim's answer is lost
    expect(live).toEqual([]);
    const ready = new Promise((r) => c.once('ready', r));
    proxy.heal();
    await ready;
    await guard.spend({}, 1); // cancel runs first, then the re-claim succeeds
    const feed = (await check.events()).events.filter((e) => e.type === 'alert').map((e) => (e as { level: string }).level);
    expect(live.filter((l) => l === 'forecast')).toHaveLength(1);
    expect(feed.filter((l) => l === 'forecast')).toHaveLength(1);
  });
});
