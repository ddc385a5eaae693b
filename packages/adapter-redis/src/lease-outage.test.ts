// A leased guard on Redis through a fault proxy: while Redis cannot be reached it admits only out of the
// slice it holds, then fails; lease steps whose answers were lost count once; once Redis is back, what
// it admitted is recorded exactly.
import { createSpendGuard, isSpendGuardError } from '@spendguard/core';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { redisAdapter } from './redis-adapter.js';
import { FaultProxy } from './test-support/test-proxy.js';
import { ClientPool, RUN_ID, testRedisUrl } from './test-support/test-redis.js';

const pool = new ClientPool();
const opened: Array<{ proxy: FaultProxy; client: Redis }> = [];
afterAll(async () => {
  for (const { proxy, client } of opened) {
    client.disconnect();
    await proxy.close();
  }
  await pool.cleanup();
});

const budgets = [{ id: 'monthly', limit: 10 }];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a leased guard when Redis cannot be reached', () => {
  it('admits out of its slice only, fails past it, and records exactly what it admitted once Redis is back', {
    timeout: 30_000,
  }, async () => {
    const url = new URL(await testRedisUrl());
    const proxy = await FaultProxy.start({ host: url.hostname, port: Number(url.port || 6379) });
    const client = new Redis(proxy.url, { maxRetriesPerRequest: 1, retryStrategy: () => 20 });
    client.on('error', () => {}); // cut connections are the point
    opened.push({ proxy, client });
    const prefix = `${RUN_ID}-lease-outage`;
    const guard = createSpendGuard({
      store: redisAdapter({ client, prefix, commandTimeoutMs: 150 }),
      budgets,
      lease: { fraction: 0.1, maxHoldMs: 40 },
    });
    let admitted = 0;
    const spend = async () => {
      const r = await guard.spend({}, 0.1);
      if (r.allowed) admitted += 100_000;
      return r.allowed;
    };
    expect(await spend()).toBe(true); // a slice of 1

    // Lease steps run, their answers are lost: each is sent again with the slice's whole spend.
    proxy.dropReplies();
    for (let i = 0; i < 3; i++) {
      expect(await spend()).toBe(true);
      await sleep(60);
    }
    await proxy.heal();
    for (let i = 0; i < 100 && client.status !== 'ready'; i++) await sleep(10);
    await sleep(100);

    // Redis unreachable: the rest of the slice, then STORE_UNAVAILABLE.
    proxy.stall();
    let failure: unknown;
    for (let i = 0; i < 30 && failure === undefined; i++) {
      try {
        await spend();
      } catch (err) {
        failure = err;
      }
    }
    expect(isSpendGuardError(failure) && failure.code).toBe('STORE_UNAVAILABLE');
    expect(admitted).toBeLessThanOrEqual(1_000_000 + 400_000); // what its slices held, at most
    await proxy.heal();
    for (let i = 0; i < 100 && client.status !== 'ready'; i++) await sleep(10);

    await guard.close();
    const reader = createSpendGuard({ store: redisAdapter({ client: await pool.open(), prefix }), budgets });
    const s = await reader.status('monthly');
    expect({ used: Math.round(s.used * 1e6), leased: s.leased, reserved: s.reserved }).toEqual({ used: admitted, leased: 0, reserved: 0 });
  });
});
