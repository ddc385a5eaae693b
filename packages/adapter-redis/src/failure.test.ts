// A private redis-server that the test stops and restarts: calls fail closed within a bounded time,
// or with onStoreError: 'allow' are journalled and replayed exactly once when Redis is back.
import { createSpendGuard } from '@spendguard/core';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { redisAdapter } from './redis-adapter.js';
import { codeOf } from './test-support/code-of.js';
import { startPrivateRedis } from './test-support/test-redis.js';

const budgets = [{ id: 'monthly', limit: 100 }];
const servers: Array<{ stop(): Promise<void> }> = [];
const clients: Redis[] = [];
afterAll(async () => {
  for (const c of clients) c.disconnect();
  for (const s of servers) await s.stop();
});

async function fresh(port?: number) {
  const server = await startPrivateRedis(port);
  servers.push(server);
  return server;
}

function client(url: string): Redis {
  const c = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
  c.on('error', () => {}); // refused connections while the server is down are the point of these tests
  clients.push(c);
  return c;
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('redisAdapter when Redis goes away', () => {
  it('fails closed with STORE_UNAVAILABLE, quickly, while the server is down', { timeout: 30_000 }, async () => {
    const server = await fresh();
    const c = client(server.url);
    const guard = createSpendGuard({ store: redisAdapter({ client: c }), budgets });
    expect((await guard.spend({}, 1)).allowed).toBe(true);
    await server.stop();
    await until(() => c.status !== 'ready');
    const started = Date.now();
    expect(await codeOf(guard.spend({}, 1))).toBe('STORE_UNAVAILABLE');
    expect(await codeOf(guard.reserve({}, 1))).toBe('STORE_UNAVAILABLE');
    expect(await codeOf(guard.status('monthly'))).toBe('STORE_UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('does not hang on a server that stops answering: fails after commandTimeoutMs', { timeout: 30_000 }, async () => {
    const server = await fresh();
    const c = client(server.url);
    const guard = createSpendGuard({ store: redisAdapter({ client: c, commandTimeoutMs: 300 }), budgets });
    await guard.spend({}, 1);
    server.process.kill('SIGSTOP');
    try {
      const started = Date.now();
      expect(await codeOf(guard.spend({}, 1))).toBe('STORE_UNAVAILABLE');
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      server.process.kill('SIGCONT');
    }
  });

  it("with onStoreError: 'allow', admits while down and replays exactly once when Redis is back", { timeout: 30_000 }, async () => {
    const server = await fresh();
    const c = client(server.url);
    const guard = createSpendGuard({
      store: redisAdapter({ client: c }),
      budgets,
      onStoreError: 'allow',
      offlineAllowance: 100,
      replayIntervalMs: 100,
    });
    await server.stop();
    await until(() => c.status !== 'ready');
    expect(await guard.spend({}, 2.5)).toMatchObject({ allowed: true });
    expect(await guard.spend({}, 1, { idempotencyKey: 'retry-me' })).toMatchObject({ allowed: true });
    const r = await guard.reserve({}, 4);
    if (!r.allowed) throw new Error('refused');
    expect(await guard.commit(r.reservationId, 3)).toMatchObject({ actual: 3, reserved: 4, overage: 0 });
    expect(guard.pendingJournal).toBe(3);
    await expect(guard.flush()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });

    // Redis comes back (empty: the test server keeps nothing on disk) on the same port.
    await fresh(server.port);
    await until(() => c.status === 'ready');
    await until(() => guard.pendingJournal === 0); // the replay timer writes the journal
    await guard.flush();
    const check = createSpendGuard({ store: redisAdapter({ client: c }), budgets });
    expect((await check.status('monthly')).used).toBe(6.5);
    // The same idempotency key after the replay counts nothing again.
    await guard.spend({}, 1, { idempotencyKey: 'retry-me' });
    expect((await check.status('monthly')).used).toBe(6.5);
  });
});
