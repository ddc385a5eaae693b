// lock orders the batch does not sort. Idempotency keys are claimed in call order (after the
// totals rows), and instance rows are locked when a period opens, in call order: two processes whose
// batches take them in opposite orders deadlock; the server breaks it after deadlock_timeout and the
// adapter resends, up to five times.
import { createSpendGuard, isSpendGuardError } from '@spendguard/core';
import { afterAll, describe, expect, it } from 'vitest';
import { SchemaPool } from './test-support/test-postgres.js';

const schemas = new SchemaPool();
afterAll(() => schemas.cleanup());

async function deadlocks(): Promise<number> {
  const pool = await schemas.pool(1);
  await new Promise((r) => setTimeout(r, 1200)); // statistics are flushed within a second
  const { rows } = await pool.query<{ n: string }>('SELECT deadlocks::text AS n FROM pg_stat_database WHERE datname = current_database()');
  return Number(rows[0]?.n);
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return isSpendGuardError(err) ? err.code : String(err);
  }
}

describe('postgresAdapter: deadlocks', () => {
  it('two processes retrying the same keys in opposite orders: every call answers, promptly', { timeout: 120_000 }, async () => {
    const schema = schemas.newSchema('dlk');
    const budgets = [{ id: 'user', per: 'user', limit: { '*': 1_000_000 } }];
    const a = createSpendGuard({ store: await schemas.adapter(schema), budgets });
    const b = createSpendGuard({ store: await schemas.adapter(schema), budgets });
    await a.spend({ user: 'warm' }, 0);
    await b.spend({ user: 'warm' }, 0);
    const failures: string[] = [];
    const before = await deadlocks();
    const started = Date.now();
    let slowest = 0;
    for (let round = 0; round < 6; round++) {
      const keys = Array.from({ length: 12 }, (_, i) => `r${round}-k${i}`);
      const t0 = Date.now();
      // Each call is on its own user (so the totals rows do not serialise the two batches).
      const outs = await Promise.all([
        a.spend({ user: 'x' }, 0), // in flight: what follows goes as one batch
        b.spend({ user: 'y' }, 0),
        ...keys.map((k, i) => code(a.spend({ user: `a${i}` }, 1, { idempotencyKey: k }))),
        ...[...keys].reverse().map((k, i) => code(b.spend({ user: `b${i}` }, 1, { idempotencyKey: k }))),
      ]);
      slowest = Math.max(slowest, Date.now() - t0);
      failures.push(...(outs.slice(2) as string[]).filter((o) => o !== 'ok'));
    }
    console.log({ slowest, total: Date.now() - started, failures: failures.length, deadlocks: (await deadlocks()) - before });
    expect(failures).toEqual([]);
    expect(slowest).toBeLessThan(1000); // deadlock_timeout is 1 s: a round that took longer waited for a deadlock
  });

  // Timing-dependent: it deadlocks when both batches reach the instance rows together (most runs alone).
  it('period rollover with clock skew: two hosts open the next month for many instances at once', { timeout: 120_000 }, async () => {
    const schema = schemas.newSchema('roll');
    const budgets = [{ id: 'user', per: 'user', limit: { '*': 1_000_000 }, period: 'month' as const }];
    const jan = Date.UTC(2031, 0, 31, 23, 59, 59, 500);
    const feb = Date.UTC(2031, 1, 1, 0, 0, 0, 500);
    const a = createSpendGuard({ store: await schemas.adapter(schema), budgets, clock: () => jan });
    const b = createSpendGuard({ store: await schemas.adapter(schema), budgets, clock: () => feb });
    const users = Array.from({ length: 30 }, (_, i) => `u${i}`);
    await a.spend({ user: 'warm' }, 0);
    await b.spend({ user: 'warm' }, 0);
    const before = await deadlocks();
    const t0 = Date.now();
    const outs = await Promise.all([
      a.spend({ user: 'x' }, 0),
      b.spend({ user: 'y' }, 0),
      ...users.map((u) => code(a.spend({ user: u }, 1))),
      ...[...users].reverse().map((u) => code(b.spend({ user: u }, 1))),
    ]);
    const took = Date.now() - t0;
    console.log({ took, deadlocks: (await deadlocks()) - before });
    expect(outs.slice(2).filter((o) => o !== 'ok')).toEqual([]);
    expect(took).toBeLessThan(1000);
  });
});
