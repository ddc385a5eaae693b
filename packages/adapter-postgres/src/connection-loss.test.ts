// Connections lost mid-burst on a private server: backends terminated by pg_terminate_backend, the server
// stopped at once and started again. A call that threw recorded nothing; every call answered was recorded.
import { createSpendGuard, isSpendGuardError, type SpendGuard } from '@spendguard/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresAdapter } from './postgres-adapter.js';
import { type PrivatePostgres, startPrivatePostgres } from './test-support/private-postgres.js';

let server: PrivatePostgres;
const pools: pg.Pool[] = [];
beforeAll(async () => {
  server = await startPrivatePostgres();
}, 60_000);
afterAll(async () => {
  for (const p of pools) await p.end().catch(() => {});
  server?.stop();
});

function newPool(application = 'spendguard-test'): pg.Pool {
  const pool = new pg.Pool({ connectionString: server.url, max: 8, application_name: application, connectionTimeoutMillis: 2000 });
  pool.on('error', () => {}); // cut connections are the point
  pools.push(pool);
  return pool;
}

const budgets = [
  { id: 'monthly', limit: 1_000_000 },
  { id: 'user', per: 'user', limit: { '*': 1_000_000 } },
];

/** Spends with 16 in flight while `fault` runs once, midway; returns what was admitted, in micro-units. */
async function burst(guard: SpendGuard, fault: () => Promise<void>): Promise<{ admitted: number; failed: number; ok: number }> {
  let admitted = 0;
  let failed = 0;
  let ok = 0;
  let next = 0;
  const total = 1200;
  let faulted: Promise<void> | undefined;
  async function lane(): Promise<void> {
    while (next < total) {
      const i = next++;
      if (i === total / 3) faulted = fault();
      const micros = 1 + ((i * 7919) % 997) * 1000;
      try {
        const r = await guard.spend({ user: `u${i % 5}` }, micros / 1e6);
        if (!r.allowed) throw new Error('refused: the limits are far away');
        admitted += micros;
        ok++;
      } catch (err) {
        if (!isSpendGuardError(err, 'STORE_UNAVAILABLE')) throw err;
        failed++;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  }
  await Promise.all(Array.from({ length: 16 }, lane));
  await faulted;
  return { admitted, failed, ok };
}

async function usedMicros(guard: SpendGuard): Promise<number[]> {
  const all = await guard.status();
  const micros = (used: number) => Math.round(used * 1e6);
  const users = all.filter((s) => s.budget.startsWith('user:')).reduce((sum, s) => sum + micros(s.used), 0);
  return [micros((await guard.status('monthly')).used), users];
}

describe('postgresAdapter when connections are lost', () => {
  it('backends terminated mid-burst: every call that threw recorded nothing, every call answered was recorded', {
    timeout: 60_000,
  }, async () => {
    const schema = 'terminated';
    const guard = createSpendGuard({ store: postgresAdapter({ pool: newPool('sg-victim'), schema }), budgets });
    const admin = newPool('sg-admin');
    const kill = async () => {
      for (let round = 0; round < 5; round++) {
        await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'sg-victim'");
        await new Promise((r) => setTimeout(r, 30));
      }
    };
    const outcome = await burst(guard, kill);
    expect(outcome.failed).toBeGreaterThan(0); // the fault hit calls in flight
    expect(outcome.ok).toBeGreaterThan(600);
    const reader = createSpendGuard({ store: postgresAdapter({ pool: newPool(), schema }), budgets });
    expect(await usedMicros(reader)).toEqual([outcome.admitted, outcome.admitted]);
  });

  it('an adapter made while the server is down works once it is up', { timeout: 60_000 }, async () => {
    server.down();
    try {
      const guard = createSpendGuard({ store: postgresAdapter({ pool: newPool(), schema: 'late' }), budgets });
      await expect(guard.spend({}, 1)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
      server.up();
      expect((await guard.spend({}, 1)).allowed).toBe(true);
      expect((await guard.status('monthly')).used).toBe(1);
    } finally {
      server.up();
    }
  });

  it('the server stopped at once and started again mid-burst: the same holds', { timeout: 90_000 }, async () => {
    const schema = 'restarted';
    const guard = createSpendGuard({ store: postgresAdapter({ pool: newPool(), schema }), budgets });
    const outcome = await burst(guard, () => server.restart());
    expect(outcome.failed).toBeGreaterThan(0);
    expect(outcome.ok).toBeGreaterThan(400);
    const reader = createSpendGuard({ store: postgresAdapter({ pool: newPool(), schema }), budgets });
    expect(await usedMicros(reader)).toEqual([outcome.admitted, outcome.admitted]);
  });
});
