// Four processes with 64 calls in flight each spend against one Redis at once.
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createSpendGuard } from '@spendguard/core';
import {
  DRAIN_BUDGETS,
  type DrainReport,
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
    for (const p of ['project:a', 'project:b']) expect(statuses.find((s) => s.budget === p)?.percentUsed).toBeGreaterThan(95);
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
    const admitted = reports.reduce((sum, r) => sum + r.admitted, 0);
    const limit = 40e6;
    expect(admitted).toBeLessThanOrEqual(limit);
    expect(admitted).toBeGreaterThanOrEqual(0.8 * limit);
    const guard = createSpendGuard({ store: redisAdapter({ client: await pool.open(), prefix }), budgets: DRAIN_BUDGETS });
    const s = await guard.status('total');
    expect({ used: Math.round(s.used * 1e6), leased: s.leased }).toEqual({ used: admitted, leased: 0 });
    const alerts = reports.flatMap((r) => r.events.filter((e) => e[0] === 'alert').map((e) => e[1])).sort();
    expect(alerts).toEqual(['critical', 'exhausted', 'info', 'warning'].filter((l) => l !== 'exhausted' || s.level === 'exhausted'));
  });

  it('a leased process killed mid-burst: its slice is charged in full when it expires, never less than it admitted', {
    timeout: 60_000,
  }, async () => {
    const url = await testRedisUrl();
    const prefix = `${RUN_ID}-mp-kill`;
    const [limit, fraction, maxHoldMs] = [100_000, 0.001, 100];
    const child = spawn(
      process.execPath,
      [fixture('leased-crash-worker.mjs'), url, prefix, String(limit), String(fraction), String(maxHoldMs)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));
    const admitted = out
      .split('\n')
      .filter((l) => l.startsWith('ok '))
      .reduce((sum, l) => sum + Number(l.slice(3)), 0);
    expect(admitted).toBeGreaterThan(100_000);

    const reader = createSpendGuard({
      store: redisAdapter({ client: await pool.open(), prefix }),
      budgets: [{ id: 'total', limit, period: 'never' }],
    });
    expect((await reader.status('total')).leased).toBeGreaterThan(0); // the dead process's slice
    await new Promise((resolve) => setTimeout(resolve, 10 * maxHoldMs + 100)); // its expiry, by Redis's clock
    const after = await reader.status('total'); // any script after the expiry charges it
    const used = Math.round(after.used * 1e6);
    expect(after.leased).toBe(0);
    expect(used).toBeGreaterThanOrEqual(admitted); // never under-counted
    expect(used - admitted).toBeLessThanOrEqual(limit * fraction * 1e6); // over by at most one unused slice
  });
});
