// A service's role often may use its schema but not create anything in the database: once the schema
// exists, the adapter needs no more than the rights on its own tables and functions.
import { createSpendGuard } from '@spendguard/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresAdapter } from './postgres-adapter.js';
import { type PrivatePostgres, startPrivatePostgres } from './test-support/private-postgres.js';

let server: PrivatePostgres;
beforeAll(async () => {
  server = await startPrivatePostgres();
}, 60_000);
afterAll(() => server?.stop());

describe('postgresAdapter privileges', () => {
  it('runs on an existing schema under a role that may not create schemas', { timeout: 60_000 }, async () => {
    const budgets = [{ id: 'monthly', limit: 100 }];
    const owner = new pg.Pool({ connectionString: server.url, max: 2 });
    await createSpendGuard({ store: postgresAdapter({ pool: owner, schema: 'app' }), budgets }).spend({}, 1);
    await owner.query(`CREATE ROLE service LOGIN;
      REVOKE CREATE ON DATABASE postgres FROM PUBLIC;
      GRANT USAGE ON SCHEMA app TO service;
      GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA app TO service;
      GRANT USAGE ON ALL SEQUENCES IN SCHEMA app TO service;
      GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA app TO service;`);
    const { rows } = await owner.query<{ may: boolean }>("SELECT has_database_privilege('service', 'postgres', 'CREATE') AS may");
    expect(rows[0]?.may).toBe(false);
    const pool = new pg.Pool({ connectionString: server.url.replace('postgres@', 'service@'), max: 2 });
    const guard = createSpendGuard({ store: postgresAdapter({ pool, schema: 'app' }), budgets });
    expect((await guard.spend({}, 2)).allowed).toBe(true);
    expect((await guard.status('monthly')).used).toBe(3);
    await pool.end();
    await owner.end();
  });
});
