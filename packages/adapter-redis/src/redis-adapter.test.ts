import type { StorageAdapter } from '@spendguard/core';
import { runConformanceSuite } from '@spendguard/core/testing';
import { afterAll } from 'vitest';
import { redisAdapter } from './redis-adapter.js';
import { ClientPool, RUN_ID } from './test-support/test-redis.js';

const pool = new ClientPool();
const prefixes = new WeakMap<StorageAdapter, string>();
let n = 0;
afterAll(() => pool.cleanup());

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
});
