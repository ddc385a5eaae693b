// PostgreSQL rows: spend against 3 budgets with 1 and 16 calls in flight (calls that arrive while a batch
// is in flight go together as the next one: one round trip, one transaction), next to a raw node-postgres
// transaction that locks, checks and updates 3 rows (the ceiling) and rate-limiter-flexible's
// RateLimiterPostgres.consume at the same concurrency, all on one pool of 16 connections in one run, in a
// schema of this run's own that is dropped at the end.
import { postgresAdapter } from '@spendguard/adapter-postgres';
import { createSpendGuard } from '@spendguard/core';
import pg from 'pg';
import { RateLimiterPostgres } from 'rate-limiter-flexible';
import { inFlight, measure, type Row } from './harness.js';

/** Calls per iteration with 1 in flight: a tenth of a second or so, as every call waits for a commit. */
const BATCH = 100;
/** Calls per iteration with 16 in flight: many full batches of the adapter's group commit each. */
const CONCURRENT_BATCH = 256;
const RAW_KEYS = ['model:gpt-4.1', 'monthly', 'project:api'];
const RAW_LIMIT = 1e15;

export async function postgresRows(): Promise<Row[]> {
  const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const schema = `bench_${process.pid}`;
  const pool = new pg.Pool({ connectionString: url, max: 16 });
  const budgets = [
    { id: 'monthly', limit: 1e9 },
    { id: 'project', per: 'project', limit: { api: 1e9 } },
    { id: 'model', per: 'model', limit: { '*': 1e9 } },
  ];
  const attrs = { project: 'api', model: 'gpt-4.1' };
  const rows: Row[] = [];
  try {
    await pool.query(`CREATE SCHEMA ${schema}`);
    await pool.query(`CREATE TABLE ${schema}.raw_counters (k text COLLATE "C" PRIMARY KEY, v bigint NOT NULL)`);
    await pool.query(`INSERT INTO ${schema}.raw_counters (k, v) SELECT unnest($1::text[]), 0`, [RAW_KEYS]);
    const guard = createSpendGuard({ store: postgresAdapter({ pool, schema }), budgets });
    const limiter = await new Promise<RateLimiterPostgres>((resolve, reject) => {
      const created: RateLimiterPostgres = new RateLimiterPostgres(
        { storeClient: pool, schemaName: schema, tableName: 'rate_limiter', points: 1e12, duration: 0, clearExpiredByTimeout: false },
        (err) => (err ? reject(err) : resolve(created)),
      );
    });

    // The ceiling: one transaction that locks the 3 counters (sorted, so that two never deadlock), checks
    // them and adds to all, sent as one message (one round trip, as the adapter's batch is) on one client.
    const table = `${schema}.raw_counters`;
    const keys = RAW_KEYS.map((k) => `'${k}'`).join(', ');
    const rawTransaction = `BEGIN;
SELECT v FROM ${table} WHERE k IN (${keys}) ORDER BY k FOR UPDATE;
UPDATE ${table} SET v = v + 1 WHERE k IN (${keys}) AND NOT EXISTS (SELECT 1 FROM ${table} WHERE k IN (${keys}) AND v + 1 > ${RAW_LIMIT});
COMMIT`;
    const rawStep = async (): Promise<boolean> => {
      const results = (await pool.query(rawTransaction)) as unknown as pg.QueryResult[];
      return results[2]?.rowCount === RAW_KEYS.length;
    };

    for (const concurrency of [1, 16]) {
      const batch = concurrency === 1 ? BATCH : CONCURRENT_BATCH;
      const spend = `postgres: spend, 3 budgets, ${concurrency} in flight`;
      const ceiling = `postgres: raw 3-row transaction (BEGIN, SELECT … FOR UPDATE, UPDATE, COMMIT), ${concurrency} in flight`;
      const peer = `postgres: rate-limiter-flexible RateLimiterPostgres.consume, ${concurrency} in flight`;
      const measured = await measure(
        'postgres',
        [
          {
            name: spend,
            batch,
            fn: () => inFlight(batch, concurrency, () => guard.spend(attrs, 0.000001)),
          },
          {
            name: ceiling,
            batch,
            fn: () => inFlight(batch, concurrency, rawStep),
          },
          {
            name: peer,
            batch,
            fn: () => inFlight(batch, concurrency, () => limiter.consume('k', 1)),
          },
        ],
        3000,
      );
      for (const row of measured) if (row.name === spend) Object.assign(row, { ceiling, peer });
      rows.push(...measured);
    }
    await guard.close();
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
  }
  return rows;
}
