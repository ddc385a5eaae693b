// A batch whose answer is lost: the adapter asks the server whether it committed. Committed, its stored
// results answer the calls; not, a fence makes it fail should it still arrive, and the calls throw having
// recorded nothing. The loss is staged by a pool that drops the answer (or the request) of one batch.
import { createSpendGuard, isSpendGuardError, type SpendGuard } from '@spendguard/core';
import type pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresAdapter } from './postgres-adapter.js';
import { SchemaPool } from './test-support/test-postgres.js';

const schemas = new SchemaPool();
afterAll(() => schemas.cleanup());

const lost = () => Object.assign(new Error('Connection terminated unexpectedly'), { code: undefined });
const budgets = [{ id: 'monthly', limit: 100 }];

/** A pool whose next batch call is sent but its answer dropped ('answer'), or not sent at all ('request'). */
function faultyPool(real: pg.Pool) {
  let fault: 'answer' | 'request' | undefined;
  /** While set, the questions about a lost batch get no answer either (the server is still away). */
  let unreachable = false;
  const held: Array<() => Promise<unknown>> = [];
  const pool = {
    connect: real.connect.bind(real),
    async query(text: string, values?: unknown[]) {
      if (unreachable && text.includes('.calls')) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      if (fault && text.includes('.batch(')) {
        const kind = fault;
        fault = undefined;
        if (kind === 'answer') {
          await real.query(text, values);
          throw lost();
        }
        held.push(() => real.query(text, values)); // it may still arrive, later
        throw lost();
      }
      return real.query(text, values);
    },
  };
  return {
    pool: pool as unknown as pg.Pool,
    drop(kind: 'answer' | 'request') {
      fault = kind;
    },
    unreachable(on: boolean) {
      unreachable = on;
    },
    /** Sends the held request now, as a network that delayed it would. */
    arriveLate: () => (held.shift() as () => Promise<unknown>)(),
  };
}

/** The SPENDGUARD_IN_DOUBT process warnings from now until stop(). */
function inDoubtWarnings(): { seen: string[]; stop(): void } {
  const seen: string[] = [];
  const listener = (w: Error & { code?: string }) => {
    if (w.code === 'SPENDGUARD_IN_DOUBT') seen.push(w.message);
  };
  process.on('warning', listener);
  return { seen, stop: () => process.off('warning', listener) };
}

async function used(guard: SpendGuard): Promise<number> {
  return (await guard.status('monthly')).used;
}

describe('postgresAdapter when an answer is lost', () => {
  it('a batch that committed answers its calls from its stored results: recorded once, not thrown', async () => {
    const schema = schemas.newSchema('doubt');
    const faulty = faultyPool(await schemas.pool());
    const guard = createSpendGuard({ store: postgresAdapter({ pool: faulty.pool, schema }), budgets });
    await guard.spend({}, 1);
    faulty.drop('answer');
    const r = await guard.spend({}, 2);
    expect(r.allowed).toBe(true);
    expect(r.allowed && r.remaining).toEqual({ monthly: 97 });
    expect(await used(guard)).toBe(3);
  });

  it('a batch that never ran is fenced off: its call throws, and arriving late it records nothing', async () => {
    const schema = schemas.newSchema('doubt');
    const faulty = faultyPool(await schemas.pool());
    const guard = createSpendGuard({ store: postgresAdapter({ pool: faulty.pool, schema }), budgets });
    await guard.spend({}, 1);
    faulty.drop('request');
    const err = await guard.spend({}, 2).catch((e: unknown) => e);
    expect(isSpendGuardError(err, 'STORE_UNAVAILABLE')).toBe(true);
    expect(String((err as Error).message)).toContain('nothing was recorded');
    await expect(faulty.arriveLate()).rejects.toMatchObject({ code: '23505' });
    expect(await used(guard)).toBe(1);
  });

  it('past inDoubtWaitMs without an answer the call throws not knowing; committed after all, a warning says so', async () => {
    const schema = schemas.newSchema('doubt');
    const faulty = faultyPool(await schemas.pool());
    const guard = createSpendGuard({ store: postgresAdapter({ pool: faulty.pool, schema, inDoubtWaitMs: 200 }), budgets });
    await guard.spend({}, 1);
    const warnings = inDoubtWarnings();
    try {
      faulty.unreachable(true);
      faulty.drop('answer');
      const err = await guard.spend({}, 2).catch((e: unknown) => e);
      expect(isSpendGuardError(err, 'STORE_UNAVAILABLE')).toBe(true);
      expect(String((err as Error).message)).toContain('keeps asking');
      faulty.unreachable(false);
      await guard.spend({}, 4); // the next batch that gets through asks about the lost one
      for (let i = 0; i < 50 && warnings.seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(warnings.seen).toHaveLength(1);
      expect(await used(guard)).toBe(7);
    } finally {
      warnings.stop();
    }
  });

  it('past inDoubtWaitMs, a batch that never ran is fenced off by the next batch, with no warning', async () => {
    const schema = schemas.newSchema('doubt');
    const faulty = faultyPool(await schemas.pool());
    const guard = createSpendGuard({ store: postgresAdapter({ pool: faulty.pool, schema, inDoubtWaitMs: 200 }), budgets });
    await guard.spend({}, 1);
    const warnings = inDoubtWarnings();
    try {
      faulty.unreachable(true);
      faulty.drop('request');
      expect(isSpendGuardError(await guard.spend({}, 2).catch((e: unknown) => e), 'STORE_UNAVAILABLE')).toBe(true);
      faulty.unreachable(false);
      await guard.spend({}, 4);
      await guard.close(); // asks about what is left
      await expect(faulty.arriveLate()).rejects.toMatchObject({ code: '23505' });
      expect(warnings.seen).toEqual([]);
      const reader = createSpendGuard({ store: postgresAdapter({ pool: await schemas.pool(), schema }), budgets });
      expect(await used(reader)).toBe(5);
    } finally {
      warnings.stop();
    }
  });
});
