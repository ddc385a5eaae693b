// A call that threw recorded nothing, ever: not when its request arrives late, not when its reply was
// lost and the client resent it, not after a restart from the append-only file. A retry pays once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSpendGuard, type SpendGuard } from '@spendguard/core';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { type RedisAdapterOptions, redisAdapter } from './redis-adapter.js';
import { codeOf } from './test-support/code-of.js';
import { FaultProxy } from './test-support/test-proxy.js';
import { RUN_ID, startPrivateRedis, testRedisUrl } from './test-support/test-redis.js';

const budgets = [{ id: 'monthly', limit: 100 }];
const cleanup: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});
let n = 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(10);
  }
}

/** Heals the proxy and waits until the client has reconnected (heal() cuts connections that lost answers). */
async function healed(proxy: FaultProxy, c: Redis, cut = true): Promise<void> {
  const ready = cut ? new Promise((r) => c.once('ready', r)) : Promise.resolve();
  proxy.heal();
  await ready;
}

function client(url: string): Redis {
  const c = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => 20 });
  c.on('error', () => {}); // refused and cut connections are the point of these tests
  cleanup.push(() => c.disconnect());
  return c;
}

/** A guard whose Redis sits behind a fault proxy; one warm-up spend of 1 has loaded the scripts. */
async function behindProxy(
  target?: { host: string; port: number },
  adapter: Partial<RedisAdapterOptions> = {},
  guardOptions: Partial<Parameters<typeof createSpendGuard>[0]> = {},
) {
  const url = new URL(await testRedisUrl());
  const proxy = await FaultProxy.start(target ?? { host: url.hostname, port: Number(url.port || 6379) });
  cleanup.push(() => proxy.close());
  const c = client(proxy.url);
  const prefix = `${RUN_ID}-doubt-${n++}`;
  const store = redisAdapter({ client: c, prefix, commandTimeoutMs: 200, ...adapter });
  const guard = createSpendGuard({ store, budgets, ...guardOptions });
  expect(await guard.spend({}, 1)).toMatchObject({ allowed: true });
  const direct = client(url.href);
  cleanup.push(async () => {
    const found = await direct.keys(`{${prefix}}*`);
    if (found.length > 0) await direct.del(...found);
  });
  /** A guard on another connection, straight to Redis, to read what was recorded. */
  const check = createSpendGuard({ store: redisAdapter({ client: direct, prefix }), budgets });
  return { proxy, client: c, guard, store, check };
}

const used = async (guard: SpendGuard) => (await guard.status('monthly')).used;

describe('redisAdapter: a call that threw recorded nothing', () => {
  it('a request that arrives after the client gave up changes nothing; the retry pays once', async () => {
    const { proxy, guard } = await behindProxy();
    proxy.stall();
    expect(await codeOf(guard.spend({}, 5))).toBe('STORE_UNAVAILABLE');
    expect(await codeOf(guard.reserve({}, 7))).toBe('STORE_UNAVAILABLE');
    await sleep(100);
    proxy.heal(); // the requests arrive now, late
    expect(await guard.spend({}, 5)).toMatchObject({ allowed: true });
    expect(await guard.status('monthly')).toMatchObject({ used: 6, reserved: 0 });
  });

  it('a call that ran but whose reply was lost is undone, also when the client resends it after reconnecting', async () => {
    const { proxy, client: c, guard } = await behindProxy();
    const r = await guard.reserve({}, 20);
    if (!r.allowed) throw new Error('refused');
    proxy.dropReplies(); // each call below runs in Redis; its answer never comes
    expect(await codeOf(guard.spend({}, 5))).toBe('STORE_UNAVAILABLE');
    expect(await codeOf(guard.reserve({}, 7))).toBe('STORE_UNAVAILABLE');
    expect(await codeOf(guard.spend({}, 3, { idempotencyKey: 'once' }))).toBe('STORE_UNAVAILABLE');
    expect(await codeOf(guard.commit(r.reservationId, 4))).toBe('STORE_UNAVAILABLE');
    await healed(proxy, c); // the connection is cut; ioredis reconnects and resends what was unanswered
    expect(await guard.status('monthly')).toMatchObject({ used: 1, reserved: 20 });
    // The retries pay once; the commit that threw left the reservation open, so it can still be released.
    expect(await guard.spend({}, 5)).toMatchObject({ allowed: true });
    expect(await guard.spend({}, 3, { idempotencyKey: 'once' })).toMatchObject({ allowed: true });
    await guard.release(r.reservationId);
    expect(await guard.status('monthly')).toMatchObject({ used: 9, reserved: 0 });
  });

  it('a server paused (SIGSTOP) past the timeout runs the call late, as a no-op', { timeout: 20_000 }, async () => {
    const server = await startPrivateRedis();
    cleanup.push(() => server.stop());
    const { guard } = await behindProxy({ host: '127.0.0.1', port: server.port }, { commandTimeoutMs: 300 });
    server.process.kill('SIGSTOP');
    try {
      expect(await codeOf(guard.spend({}, 5))).toBe('STORE_UNAVAILABLE');
      await sleep(200);
    } finally {
      server.process.kill('SIGCONT');
    }
    expect(await guard.spend({}, 5)).toMatchObject({ allowed: true });
    expect(await used(guard)).toBe(6);
  });

  it('a call written to the append-only file whose reply was lost is undone after a restart', { timeout: 20_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spendguard-aof-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const server = await startPrivateRedis(undefined, dir);
    cleanup.push(() => server.stop());
    const { proxy, client: c, guard } = await behindProxy({ host: '127.0.0.1', port: server.port });
    proxy.dropReplies();
    expect(await codeOf(guard.spend({}, 5))).toBe('STORE_UNAVAILABLE');
    await server.stop(); // killed: what it answered is in the file, what it did not answer may be too
    const restarted = await startPrivateRedis(server.port, dir);
    cleanup.push(() => restarted.stop());
    await healed(proxy, c);
    expect(await guard.spend({}, 5)).toMatchObject({ allowed: true });
    expect(await used(guard)).toBe(6);
  });

  it("with onStoreError: 'allow', a stall longer than resendWindowMs before the replay still counts the spend once", async () => {
    const {
      proxy,
      client: c,
      guard,
    } = await behindProxy(undefined, { resendWindowMs: 400 }, { onStoreError: 'allow', offlineAllowance: 50, replayIntervalMs: 60_000 });
    proxy.stall();
    expect(await guard.spend({}, 5)).toMatchObject({ allowed: true }); // admitted offline, journalled
    proxy.heal(); // the original arrives late
    await c.ping();
    proxy.stall(); // and Redis is gone again for longer than the resend window
    await expect(guard.flush()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    await sleep(600);
    proxy.heal();
    await guard.flush();
    expect(guard.pendingJournal).toBe(0);
    expect(await used(guard)).toBe(6);
  });

  it('close() cancels a call still in doubt', async () => {
    const { proxy, client: c, guard, store, check } = await behindProxy();
    proxy.dropReplies();
    expect(await codeOf(guard.spend({}, 5))).toBe('STORE_UNAVAILABLE');
    await healed(proxy, c);
    expect(await used(check)).toBe(6); // it ran: only its answer was lost
    await store.close();
    expect(await used(check)).toBe(1);
  });

  it('close() rejects, naming the calls that may stay recorded, while Redis does not answer; a later close() cancels them', async () => {
    const { proxy, client: c, guard, store, check } = await behindProxy();
    proxy.dropReplies();
    const failed = guard.spend({}, 5);
    expect(await codeOf(failed)).toBe('STORE_UNAVAILABLE');
    proxy.stall();
    proxy.cut();
    await expect(store.close()).rejects.toThrow(/spend sp_/);
    await healed(proxy, c);
    await store.close();
    expect(await used(check)).toBe(1);
  });

  it('past resendWindowMs without Redis, a call whose answer was lost is reported (SPENDGUARD_IN_DOUBT) and stays', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }) => {
      if (w.code === 'SPENDGUARD_IN_DOUBT') warnings.push(w.message);
    };
    process.on('warning', onWarning);
    try {
      const { proxy, client: c, guard } = await behindProxy(undefined, { resendWindowMs: 400 });
      proxy.dropReplies();
      expect(await codeOf(guard.spend({}, 5))).toBe('STORE_UNAVAILABLE');
      proxy.stall();
      proxy.cut(); // Redis is unreachable for longer than the session lives
      await sleep(700);
      await healed(proxy, c);
      expect(await guard.spend({}, 2)).toMatchObject({ allowed: true });
      await until(() => warnings.length > 0);
      expect(warnings[0]).toMatch(/spend sp_/);
      expect(await used(guard)).toBe(8);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
