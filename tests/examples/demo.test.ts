// The demo on PostgreSQL, as `pnpm demo -- --store postgres` runs it (on the built packages: `pnpm test`
// builds first): it ends on its own (the pool is ended after the guard closes), and a second run on the
// same schema continues the month. Each run of this test uses its own schema, dropped at the end.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { RUN_ID, testPostgres } from '../../packages/adapter-postgres/src/test-support/test-postgres.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const schema = `${RUN_ID}_demo`;

afterAll(async () => {
  const pool = new pg.Pool({ connectionString: await testPostgres(), max: 1 });
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
});

async function demo(url: string): Promise<{ out: string; made: number; monthly: number }> {
  const { stdout } = await run(join(root, 'node_modules/.bin/tsx'), ['examples/demo.ts', '--store', 'postgres'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: url, SPENDGUARD_DEMO_SCHEMA: schema, NO_COLOR: '1' },
    timeout: 60_000, // a pool left open would keep the process alive
  });
  const calls = stdout.match(/400 concurrent calls: (\d+) made, (\d+) refused/);
  const monthly = stdout.match(/monthly: ([\d.]+) of 1000 used/);
  expect(calls, stdout).not.toBeNull();
  expect(monthly, stdout).not.toBeNull();
  expect(Number(calls?.[1]) + Number(calls?.[2])).toBe(400);
  return { out: stdout, made: Number(calls?.[1]), monthly: Number(monthly?.[1]) };
}

describe('examples/demo --store postgres', () => {
  it('runs on PostgreSQL, ends by itself, and a second run on the same schema continues the month', { timeout: 120_000 }, async () => {
    const url = await testPostgres();
    const first = await demo(url);
    expect(first.out).toMatch(/^spendguard demo — store: PostgreSQL at postgres:\/\/\S+, schema /m);
    expect(first.out).toContain(`schema ${schema} (created on first use; run again: the month continues)`);
    expect(first.made).toBeGreaterThan(0);
    expect(first.out).toContain("reason: 'limit_exceeded'");
    expect(first.out).toContain("budget: 'project:api'");
    expect(first.out).toMatch(/durable event feed holds \d+\+? events/);
    expect(first.monthly).toBeGreaterThan(0);
    expect(first.monthly).toBeLessThanOrEqual(1000);

    const second = await demo(url);
    expect(second.out).toContain(`schema ${schema}`);
    expect(second.monthly).toBeGreaterThan(first.monthly);
    expect(second.monthly).toBeLessThanOrEqual(1000);
  });
});
