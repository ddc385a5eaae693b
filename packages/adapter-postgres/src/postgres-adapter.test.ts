import { runConformanceSuite } from '@spendguard/core/testing';
import { afterAll } from 'vitest';
import { SchemaPool } from './test-support/test-postgres.js';

const schemas = new SchemaPool();
afterAll(() => schemas.cleanup());

/** Rows that grow with use: every table but the run-time limits, the meta and the schema version. */
const GROWING = ['totals', 'instances', 'reservations', 'idempotency', 'leases', 'feed', 'calls', 'grants'];

runConformanceSuite('postgresAdapter', {
  create: (options) => schemas.adapter(undefined, options),
  // Another pool on the same schema, as another process would connect.
  connect: (adapter) => schemas.adapter(schemas.schemaOf.get(adapter)),
  numRuns: 15,
  async footprint(adapter) {
    const schema = schemas.schemaOf.get(adapter) as string;
    const pool = await schemas.pool(1);
    const counts = await pool.query<{ n: string }>(
      GROWING.map((t) => `SELECT count(*)::text AS n FROM "${schema}".${t}`).join(' UNION ALL '),
    );
    await pool.end();
    return counts.rows.reduce((sum, r) => sum + Number(r.n), 0);
  },
  scale: { keys: 5_000, instances: 5_000 },
});
