// A small service bundled into one file by ../consumer.test.ts and run away from node_modules and any
// sql/ folder: it spends through the PostgreSQL adapter and prints the budget's status as one JSON line.
import { postgresAdapter } from '@spendguard/adapter-postgres';
import { createSpendGuard } from '@spendguard/core';
import pg from 'pg';

const [url, schema] = [process.argv[2], process.argv[3]];
const pool = new pg.Pool({ connectionString: url ?? 'postgres://postgres@127.0.0.1:5432/postgres', max: 2 });
const guard = createSpendGuard({ store: postgresAdapter({ pool, schema: schema ?? 'consumer' }), budgets: [{ id: 'monthly', limit: 10 }] });
const first = await guard.spend({}, 2.5);
const second = await guard.spend({}, 8);
const status = await guard.status('monthly');
process.stdout.write(
  `${JSON.stringify({ first: first.allowed, second: second.allowed, used: status.used, remaining: status.remaining })}\n`,
);
await guard.close();
await pool.end();
