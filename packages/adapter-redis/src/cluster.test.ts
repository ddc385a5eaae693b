// The conformance suite on a real Redis Cluster (three masters on loopback ports).
import type { StorageAdapter } from '@spendguard/core';
import { runConformanceSuite } from '@spendguard/core/testing';
import { Cluster } from 'ioredis';
import { afterAll } from 'vitest';
import { redisAdapter } from './redis-adapter.js';
import { type LocalCluster, startCluster } from './test-support/test-cluster.js';
import { RUN_ID } from './test-support/test-redis.js';

let cluster: Promise<LocalCluster> | undefined;
const clients: Cluster[] = [];
const prefixes = new WeakMap<StorageAdapter, string>();
let n = 0;

async function open(): Promise<Cluster> {
  cluster ??= startCluster();
  const client = new Cluster((await cluster).nodes, { redisOptions: { maxRetriesPerRequest: 1 } });
  clients.push(client);
  return client;
}

afterAll(async () => {
  for (const c of clients) c.disconnect();
  if (cluster) await (await cluster).stop();
});

runConformanceSuite('redisAdapter on Redis Cluster', {
  async create() {
    // Different prefixes hash to different slots, so the suite's stores spread over the masters.
    const prefix = `${RUN_ID}-cluster-${n++}`;
    const adapter = redisAdapter({ client: await open(), prefix });
    prefixes.set(adapter, prefix);
    return adapter;
  },
  async connect(adapter) {
    return redisAdapter({ client: await open(), prefix: prefixes.get(adapter) as string });
  },
  numRuns: 10,
});
