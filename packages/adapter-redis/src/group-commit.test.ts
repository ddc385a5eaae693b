// Group commit against a real Redis: calls made while a batch is in flight go as one script call, each
// with its own result, applied in order and all or nothing each; a batch whose answer is lost is
// cancelled exactly, so retries pay once; and the batched path runs on Redis Cluster.
import { createSpendGuard, type SpendGuard } from '@spendguard/core';
import { Cluster, Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { redisAdapter } from './redis-adapter.js';
import { spyOnBatches } from './test-support/batch-spy.js';
import { codeOf } from './test-support/code-of.js';
import { type LocalCluster, startCluster } from './test-support/test-cluster.js';
import { FaultProxy } from './test-support/test-proxy.js';
import { ClientPool, RUN_ID, testRedisUrl } from './test-support/test-redis.js';

const pool = new ClientPool();
const cleanup: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
  await pool.cleanup();
});
let n = 0;

const monthly = (limit: number) => [{ id: 'monthly', limit }];
const used = async (guard: SpendGuard) => (await guard.status('monthly')).used;

async function guardOn(client: Redis | Cluster, limit: number) {
  const store = redisAdapter({ client, prefix: `${RUN_ID}-batch-${n++}` });
  const spy = spyOnBatches(client);
  return { guard: createSpendGuard({ store, budgets: monthly(limit) }), spy };
}

/** The shared checks, on a single node or a cluster. */
function batchingCases(open: () => Promise<Redis | Cluster>) {
  it('64 concurrent spends go in a few script calls, and each gets its own result', async () => {
    const { guard, spy } = await guardOn(await open(), 1000);
    await guard.spend({}, 1); // opens the session
    spy.sizes.length = 0;
    const results = await Promise.all(Array.from({ length: 64 }, () => guard.spend({}, 1)));
    expect(spy.sizes.reduce((a, b) => a + b, 0)).toBe(64);
    expect(spy.sizes.length).toBeLessThanOrEqual(4);
    expect(Math.max(...spy.sizes)).toBeGreaterThanOrEqual(32);
    // Each spend saw the total its own step left: 998, 997, … 935, each once.
    const remaining = results.map((r) => (r.allowed ? (r.remaining.monthly ?? Number.NaN) : Number.NaN)).sort((a, b) => b - a);
    expect(remaining).toEqual(Array.from({ length: 64 }, (_, i) => 998 - i));
    expect(await used(guard)).toBe(65);
  });

  it('in one batch a refused spend changes nothing and later ones still apply, in order', async () => {
    const { guard, spy } = await guardOn(await open(), 10);
    await guard.status('monthly'); // opens the session, sends no batch
    const results = await Promise.all(Array.from({ length: 10 }, () => guard.spend({}, 1.5)));
    expect(results.filter((r) => r.allowed)).toHaveLength(6);
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, true, true, true, false, false, false, false]);
    expect(await used(guard)).toBe(9);
    expect(Math.max(...spy.sizes)).toBeGreaterThan(1);

    spy.sizes.length = 0;
    const { guard: other } = await guardOn(await open(), 10);
    await other.status('monthly');
    // 4 fits, 4 + 4 fits, a third 4 does not, then 1 and 1 do: a refusal does not stop the batch.
    const mixed = await Promise.all([4, 4, 4, 1, 1].map((a) => other.spend({}, a)));
    expect(mixed.map((r) => r.allowed)).toEqual([true, true, false, true, true]);
    expect(await used(other)).toBe(10);
  });

  it('spends, reserves, commits and releases in one batch: each applies in order with its own result', async () => {
    const { guard, spy } = await guardOn(await open(), 100);
    const a = await guard.reserve({}, 10);
    const b = await guard.reserve({}, 20);
    if (!a.allowed || !b.allowed) throw new Error('refused');
    spy.sizes.length = 0;
    const [commitA, releaseB, spend, reserve, commitAgain] = await Promise.all([
      guard.commit(a.reservationId, 12),
      guard.release(b.reservationId),
      guard.spend({}, 5),
      guard.reserve({}, 30),
      guard.commit(a.reservationId, 12),
    ]);
    expect(commitA).toMatchObject({ actual: 12, reserved: 10, overage: 2 });
    expect(releaseB).toBeUndefined();
    expect(spend).toMatchObject({ allowed: true });
    expect(reserve).toMatchObject({ allowed: true });
    expect(commitAgain).toMatchObject({ actual: 12, reserved: 10 }); // the first commit counts, once
    expect(spy.sizes.reduce((x, y) => x + y, 0)).toBe(5);
    expect(Math.max(...spy.sizes)).toBeGreaterThan(1);
    expect(await guard.status('monthly')).toMatchObject({ used: 17, reserved: 30 });
  });
}

describe('group commit on one Redis', () => {
  batchingCases(() => pool.open());

  it('a batch whose answer was lost is cancelled exactly: retries pay once', async () => {
    const url = new URL(await testRedisUrl());
    const proxy = await FaultProxy.start({ host: url.hostname, port: Number(url.port || 6379) });
    cleanup.push(() => proxy.close());
    const c = new Redis(proxy.url, { maxRetriesPerRequest: 1, retryStrategy: () => 20 });
    c.on('error', () => {}); // cut connections are the point
    cleanup.push(() => c.disconnect());
    const prefix = `${RUN_ID}-batch-lost-${n++}`;
    const guard = createSpendGuard({ store: redisAdapter({ client: c, prefix, commandTimeoutMs: 200 }), budgets: monthly(30) });
    const spy = spyOnBatches(c);
    const check = createSpendGuard({ store: redisAdapter({ client: await pool.open(), prefix }), budgets: monthly(30) });
    const r = await guard.reserve({}, 10);
    if (!r.allowed) throw new Error('refused');

    proxy.dropReplies(); // the batches run in Redis; their answers never come
    spy.sizes.length = 0;
    const failed = await Promise.all([
      ...Array.from({ length: 8 }, () => codeOf(guard.spend({}, 3))), // 6 fit next to the hold, 2 are refused
      codeOf(guard.reserve({}, 2)), // fits exactly: 18 used + 10 held + 2
      codeOf(guard.commit(r.reservationId, 4)), // 10 held become 4 used
    ]);
    expect(failed.every((code) => code === 'STORE_UNAVAILABLE')).toBe(true);
    expect(spy.sizes.length).toBeLessThan(10);
    expect(await check.status('monthly')).toMatchObject({ used: 22, reserved: 2 }); // what ran, before the cancel
    const levels = async () => (await check.events()).events.map((e) => `${e.type}:${'level' in e ? e.level : 'to' in e ? e.to : ''}`);
    expect(await levels()).toEqual(['transition:info', 'alert:info']); // the 50 % crossing, in the feed by the step

    const ready = new Promise((resolve) => c.once('ready', resolve));
    proxy.heal(); // cuts the connections that lost answers; the client reconnects
    await ready;
    // Before its next call the adapter cancels the lost batches: exactly what they recorded is undone.
    expect(await guard.status('monthly')).toMatchObject({ used: 0, reserved: 10 });
    // The undone steps moved used back below 50 %: the feed says so (its readers may have read the crossing).
    expect(await levels()).toEqual(['transition:info', 'alert:info', 'transition:ok']);
    const retried = await Promise.all([...Array.from({ length: 6 }, () => guard.spend({}, 3)), guard.commit(r.reservationId, 4)]);
    expect(retried.slice(0, 6).every((x) => (x as { allowed: boolean }).allowed)).toBe(true);
    expect(await check.status('monthly')).toMatchObject({ used: 22, reserved: 0 });
    expect(await levels()).toEqual(['transition:info', 'alert:info', 'transition:ok', 'transition:info', 'alert:info']);
  });
});

describe('group commit on Redis Cluster', () => {
  let cluster: Promise<LocalCluster> | undefined;
  const clients: Cluster[] = [];
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    if (cluster) await (await cluster).stop();
  });
  batchingCases(async () => {
    cluster ??= startCluster();
    const client = new Cluster((await cluster).nodes, { redisOptions: { maxRetriesPerRequest: 1 } });
    clients.push(client);
    return client;
  });
});
