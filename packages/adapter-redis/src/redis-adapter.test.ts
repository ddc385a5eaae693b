import type { StorageAdapter } from '@spendguard/core';
import { runConformanceSuite } from '@spendguard/core/testing';
import { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import { redisAdapter } from './redis-adapter.js';
import { FaultProxy } from './test-support/test-proxy.js';
import { ClientPool, RUN_ID, testRedisUrl } from './test-support/test-redis.js';

const pool = new ClientPool();
const prefixes = new WeakMap<StorageAdapter, string>();
const proxied: Array<{ proxy: FaultProxy; client: Redis }> = [];
let n = 0;
afterAll(async () => {
  for (const { proxy, client } of proxied) {
    client.disconnect();
    await proxy.close();
  }
  await pool.cleanup();
});

runConformanceSuite('redisAdapter', {
  async create() {
    const prefix = `${RUN_ID}-conf-${n++}`;
    const adapter = redisAdapter({ client: await pool.open(), prefix });
    prefixes.set(adapter, prefix);
    return adapter;
  },
  // Another client on the same prefix, as another machine would connect.
  async connect(adapter) {
    return redisAdapter({ client: await pool.open(), prefix: prefixes.get(adapter) as string });
  },
  numRuns: 20,
  // Each store behind its own fault proxy: requests held back, answers lost, connections cut.
  faults: {
    async create() {
      const url = new URL(await testRedisUrl());
      const proxy = await FaultProxy.start({ host: url.hostname, port: Number(url.port || 6379) });
      const client = new Redis(proxy.url, { maxRetriesPerRequest: 1, retryStrategy: () => 20 });
      client.on('error', () => {}); // cut connections are the point
      proxied.push({ proxy, client });
      const store = redisAdapter({ client, prefix: `${RUN_ID}-faults-${n++}`, commandTimeoutMs: 150 });
      return {
        store,
        injector: {
          stall: () => proxy.stall(),
          dropReplies: () => proxy.dropReplies(),
          async heal() {
            proxy.heal();
            for (let i = 0; i < 200 && client.status !== 'ready'; i++) await new Promise((r) => setTimeout(r, 10));
          },
        },
      };
    },
    numRuns: 4,
  },
});
