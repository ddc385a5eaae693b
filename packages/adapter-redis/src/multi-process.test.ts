// Four processes with 64 calls in flight each spend against one Redis at once.
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
import { redisAdapter } from './redis-adapter.js';
import { ClientPool, RUN_ID, testRedisUrl } from './test-support/test-redis.js';

const run = promisify(execFile);
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const worker = fixture('spend-worker.mjs');
const pool = new ClientPool();
afterAll(() => pool.cleanup());

describe('redisAdapter across processes', () => {
  it('4 processes × 64 in flight: no hard limit passed, totals exact, each transition and alert once', { timeout: 120_000 }, async () => {
    const url = await testRedisUrl();
    const prefix = `${RUN_ID}-mp`;
    const reports = await Promise.all(
      [0, 1, 2, 3].map(
        async (i) => JSON.parse((await run(process.execPath, [worker, url, prefix, String(i), '600'])).stdout) as WorkloadReport,
      ),
    );
    const guard = createSpendGuard({ store: redisAdapter({ client: await pool.open(), prefix }), budgets: WORKLOAD_BUDGETS });
    const statuses = await guard.status();
    expect(workloadViolations(reports, statuses)).toEqual([]);
    for (const p of ['project:a', 'project:b'])
      expect(statuses.find((s) => s.budget === p)?.percentUsed).toBeGreaterThan(FOUGHT_OVER_PERCENT);
  });

  it('4 leased processes × 64 in flight: the cap holds, totals exact once settled, each alert once', { timeout: 120_000 }, async () => {
    const url = await testRedisUrl();
    const prefix = `${RUN_ID}-mp-lease`;
    const reports = await Promise.all(
      [0, 1, 2, 3].map(
        async (i) => JSON.parse((await run(process.execPath, [worker, url, prefix, String(i), '600', 'lease'])).stdout) as WorkloadReport,
      ),
    );
    const guard = createSpendGuard({ store: redisAdapter({ client: await pool.open(), prefix }), budgets: WORKLOAD_BUDGETS });
    const statuses = await guard.status();
    expect(workloadViolations(reports, statuses)).toEqual([]);
    for (const p of ['project:a', 'project:b']) expect(statuses.find((s) => s.budget === p)?.percentUsed).toBeGreaterThan(50);
  });

  it('4 leased processes × 64 in flight drain one budget: at least 80 % of it usable, never more, each alert once', {
    timeout: 120_000,
  }, async () => {
    const url = await testRedisUrl();
    const prefix = `${RUN_ID}-mp-drain`;
    const reports = await Promise.all(
      [0, 1, 2, 3].map(
        async (i) =>
          JSON.parse(
            (await run(process.execPath, [fixture('drain-worker.mjs'), url, prefix, String(0.01 + i * 0.01), '64'])).stdout,
          ) as DrainReport,
      ),
    );
    const guard = createSpendGuard({ store: redisAdapter({ client: await pool.open(), prefix }), budgets: DRAIN_BUDGETS });
    expect(drainViolations(reports, await guard.status('total'))).toEqual([]);
  });

  it('a leased process killed mid-burst: its slice is charged in full when it expires, never less than it admitted', {
    timeout: 60_000,
  }, async () => {
    const url = await testRedisUrl();
    const prefix = `${RUN_ID}-mp-kill`;
    const [limit, fraction, maxHoldMs] = [100_000, 0.001, 100];
    const admitted = await admittedBeforeKill(
      fixture('leased-crash-worker.mjs'),
      [url, prefix, String(limit), String(fraction), String(maxHoldMs)],
      1500,
    );
    expect(admitted).toBeGreaterThan(100_000);

    const reader = createSpendGuard({
      store: redisAdapter({ client: await pool.open(), prefix }),
      budgets: [{ id: 'total', limit, period: 'never' }],
    });
    expect((await reader.status('total')).leased).toBeGreaterThan(0); // the dead process's slice
    await new Promise((resolve) => setTimeout(resolve, 10 * maxHoldMs + 100)); // its expiry, by Redis's clock
    // Any script after the expiry charges it: never under-counted, over by at most one unused slice.
    expect(crashViolations(admitted, await reader.status('total'), limit * fraction * 1e6)).toEqual([]);
  });
});
