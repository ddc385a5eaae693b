// Four processes with 64 calls in flight each spend against one Redis at once.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createSpendGuard } from '@spendguard/core';
import { WORKLOAD_BUDGETS, type WorkloadReport, workloadViolations } from '@spendguard/core/testing/workload';
import { afterAll, describe, expect, it } from 'vitest';
import { redisAdapter } from './redis-adapter.js';
import { ClientPool, RUN_ID, testRedisUrl } from './test-support/test-redis.js';

const run = promisify(execFile);
const worker = fileURLToPath(new URL('./fixtures/spend-worker.mjs', import.meta.url));
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
    for (const p of ['project:a', 'project:b']) expect(statuses.find((s) => s.budget === p)?.percentUsed).toBeGreaterThan(95);
  });
});
