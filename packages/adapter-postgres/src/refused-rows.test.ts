// invariant 2 says "a refused call changes no total and stores nothing". The batch creates the
// totals row of every instance a charge may write before it checks the limits (to lock it), and a
// refused call leaves that row behind: kept for the history retention (two years), or forever on a
// 'never' period. Caller-chosen attribute values make it unbounded.
import { createSpendGuard } from '@spendguard/core';
import { afterAll, describe, expect, it } from 'vitest';
import { SchemaPool } from './test-support/test-postgres.js';

const schemas = new SchemaPool();
afterAll(() => schemas.cleanup());

describe('postgresAdapter: refused calls store nothing', () => {
  it('500 refused spends by distinct users leave no rows', { timeout: 60_000 }, async () => {
    const schema = schemas.newSchema('refrows');
    const budgets = [
      { id: 'monthly', limit: 1 },
      { id: 'user', per: 'user', period: 'never' as const, limit: { '*': 100 } },
    ];
    const g = createSpendGuard({ store: await schemas.adapter(schema), budgets });
    expect((await g.spend({ user: 'first' }, 1)).allowed).toBe(true); // the monthly budget is now full
    const before = await count(schema);
    const res = await Promise.all(Array.from({ length: 500 }, (_, i) => g.spend({ user: `attacker-${i}` }, 1)));
    expect(res.every((r) => !r.allowed)).toBe(true);
    expect((await count(schema)) - before).toBe(0);
  });
});

async function count(schema: string): Promise<number> {
  const pool = await schemas.pool(1);
  const { rows } = await pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM "${schema}".totals`);
  return Number(rows[0]?.n);
}
