// Four processes with 16 calls in flight each spend against one PostgreSQL schema at once.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createSpendGuard } from '@spendguard/core';
import {
  admittedBeforeKill,
  crashViolations,
  DRAIN_BUDGETS,
  type DrainReport,
  drainViolations,
  FOUGHT_OVER_PERCENT,
  WORKLOAD_BUDGETS,
  type WorkloadReport,
  workloadViolations,
} from '@spendguard/core/testing/workload';
import { afterAll, describe, expect, it } from 'vitest';
import { SchemaPool, testPostgres } from './test-support/test-postgres.js';

const run = promisify(execFile);
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const schemas = new SchemaPool();
afterAll(() => schemas.cleanup());

async function workers<R>(name: string, argsOf: (i: number) => string[]): Promise<R[]> {
  return Promise.all([0, 1, 2, 3].map(async (i) => JSON.parse((await run(process.execPath, [fixture(name), ...argsOf(i)])).stdout) as R));
}

describe('postgresAdapter across processes', () => {
  it('4 processes × 16 in flight: no hard limit passed, totals exact, each transition and alert once', { timeout: 120_000 }, async () => {
    const url = await testPostgres();
    const schema = schemas.newSchema('mp');
    const reports = await workers<WorkloadReport>('spend-worker.mjs', (i) => [url, schema, String(i), '400']);
    const guard = createSpendGuard({ store: await schemas.adapter(schema), budgets: WORKLOAD_BUDGETS });
    const statuses = await guard.status();
    expect(workloadViolations(reports, statuses)).toEqual([]);
    for (const p of ['project:a', 'project:b'])
      expect(statuses.find((s) => s.budget === p)?.percentUsed).toBeGreaterThan(FOUGHT_OVER_PERCENT);
  });

  it('4 leased processes × 16 in flight: the cap holds, totals exact once settled, each alert once', { timeout: 120_000 }, async () => {
    const url = await testPostgres();
    const schema = schemas.newSchema('mp_lease');
    const reports = await workers<WorkloadReport>('spend-worker.mjs', (i) => [url, schema, String(i), '400', 'lease']);
    const guard = createSpendGuard({ store: await schemas.adapter(schema), budgets: WORKLOAD_BUDGETS });
    const statuses = await guard.status();
    expect(workloadViolations(reports, statuses)).toEqual([]);
    for (const p of ['project:a', 'project:b']) expect(statuses.find((s) => s.budget === p)?.percentUsed).toBeGreaterThan(50);
  });

  it('4 leased processes × 16 in flight drain one budget: at least 80 % of it usable, never more, each alert once', {
    timeout: 120_000,
  }, async () => {
    const url = await testPostgres();
    const schema = schemas.newSchema('mp_drain');
    const reports = await workers<DrainReport>('drain-worker.mjs', (i) => [url, schema, String(0.01 + i * 0.01), '16']);
    const guard = createSpendGuard({ store: await schemas.adapter(schema), budgets: DRAIN_BUDGETS });
    expect(drainViolations(reports, await guard.status('total'))).toEqual([]);
  });

  it('a leased process killed mid-burst: its slice is charged in full when it expires, never less than it admitted', {
    timeout: 60_000,
  }, async () => {
    const url = await testPostgres();
    const schema = schemas.newSchema('mp_kill');
    const [limit, fraction, maxHoldMs] = [100_000, 0.001, 100];
    const admitted = await admittedBeforeKill(
      fixture('leased-crash-worker.mjs'),
      [url, schema, String(limit), String(fraction), String(maxHoldMs)],
      1500,
    );
    expect(admitted).toBeGreaterThan(10_000);
    const reader = createSpendGuard({ store: await schemas.adapter(schema), budgets: [{ id: 'total', limit, period: 'never' }] });
    expect((await reader.status('total')).leased).toBeGreaterThan(0); // the dead process's slice
    await new Promise((resolve) => setTimeout(resolve, 10 * maxHoldMs + 100)); // its expiry, by the server's clock
    // Any batch after the expiry charges it: never under-counted, over by at most one unused slice.
    expect(crashViolations(admitted, await reader.status('total'), limit * fraction * 1e6)).toEqual([]);
  });
});
