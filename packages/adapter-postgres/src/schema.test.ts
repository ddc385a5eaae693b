// The adapter's schema: created and migrated once, under a lock, in a schema of any name; a schema
// written by a newer adapter is refused; bad options are refused before anything is touched.
import { createSpendGuard, isSpendGuardError } from '@spendguard/core';
import { afterAll, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from './migrate.js';
import { postgresAdapter } from './postgres-adapter.js';
import { SchemaPool } from './test-support/test-postgres.js';

const schemas = new SchemaPool();
afterAll(() => schemas.cleanup());
const budgets = [{ id: 'monthly', limit: 100 }];

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (err) {
    return isSpendGuardError(err) ? err.code : 'not a SpendGuardError';
  }
  return undefined;
}

describe('postgresAdapter schema', () => {
  it('four adapters starting at once on a new schema migrate it once, to the version this package knows', async () => {
    const schema = schemas.newSchema('mig');
    const guards = await Promise.all([0, 1, 2, 3].map(async () => createSpendGuard({ store: await schemas.adapter(schema), budgets })));
    await Promise.all(guards.map((g) => g.spend({}, 1)));
    const admin = await schemas.pool(1);
    const { rows } = await admin.query(`SELECT version FROM "${schema}".schema_version`);
    expect(rows).toEqual([{ version: SCHEMA_VERSION }]);
    expect((await (guards[0] as (typeof guards)[0]).status('monthly')).used).toBe(4);
  });

  it('lives in a schema of any name, quotes and semicolons included, and touches nothing else', async () => {
    const schema = schemas.newSchema(`we"ird; DROP TABLE x; --`);
    const guard = createSpendGuard({ store: await schemas.adapter(schema), budgets });
    await guard.spend({}, 2.5);
    const admin = await schemas.pool(1);
    const { rows } = await admin.query<{ n: string }>('SELECT count(*)::text AS n FROM information_schema.tables WHERE table_schema = $1', [
      schema,
    ]);
    expect(Number(rows[0]?.n)).toBeGreaterThan(5);
    expect((await guard.status('monthly')).used).toBe(2.5);
  });

  for (const tag of ['x@lock', 'a$$b', 'x$body$y', 'x@schema', '$&', 'ÄÖ 😀', 'UPPER case']) {
    it(`works in a schema named ${JSON.stringify(tag)}`, async () => {
      const guard = createSpendGuard({ store: await schemas.adapter(schemas.newSchema(tag)), budgets });
      expect((await guard.spend({}, 1)).allowed).toBe(true);
      expect((await guard.status('monthly')).used).toBe(1);
    });
  }

  it('refuses a schema written by a newer adapter, saying to upgrade, and changes nothing', async () => {
    const schema = schemas.newSchema('newer');
    const first = createSpendGuard({ store: await schemas.adapter(schema), budgets });
    await first.spend({}, 1);
    const admin = await schemas.pool(1);
    await admin.query(`UPDATE "${schema}".schema_version SET version = $1`, [SCHEMA_VERSION + 1]);
    const late = createSpendGuard({ store: await schemas.adapter(schema), budgets });
    const err = await late.spend({}, 1).catch((e: unknown) => e);
    expect(isSpendGuardError(err, 'INVALID_CONFIG')).toBe(true);
    expect(String((err as Error).message)).toMatch(/newer .*Upgrade/);
    const { rows } = await admin.query(`SELECT used::int FROM "${schema}".totals`);
    expect(rows).toEqual([{ used: 1_000_000 }]);
  });

  it('refuses bad options with INVALID_CONFIG, before touching the database', async () => {
    const pool = await schemas.pool(1);
    expect(codeOf(() => postgresAdapter({} as never))).toBe('INVALID_CONFIG');
    expect(codeOf(() => postgresAdapter({ pool: {} as never }))).toBe('INVALID_CONFIG');
    expect(codeOf(() => postgresAdapter({ pool, schema: '' }))).toBe('INVALID_CONFIG');
    expect(codeOf(() => postgresAdapter({ pool, schema: 'x'.repeat(64) }))).toBe('INVALID_CONFIG');
    expect(codeOf(() => postgresAdapter({ pool, historyRetentionMs: -1 }))).toBe('INVALID_CONFIG');
  });

  it('two processes opening one new instance at once queue on its row: exactly the limit is admitted', async () => {
    const schema = schemas.newSchema('race');
    const user = [{ id: 'user', per: 'user', limit: { '*': 10 } }];
    const [a, b] = [
      createSpendGuard({ store: await schemas.adapter(schema), budgets: user }),
      createSpendGuard({ store: await schemas.adapter(schema), budgets: user }),
    ];
    const results = await Promise.all(Array.from({ length: 64 }, (_, i) => (i % 2 ? a : b).spend({ user: 'new' }, 0.5)));
    expect(results.filter((r) => r.allowed)).toHaveLength(20);
    expect((await a.status('user:new')).used).toBe(10);
    const page = await a.status();
    expect(page.filter((s) => s.budget === 'user:new')).toHaveLength(1);
  });
});
