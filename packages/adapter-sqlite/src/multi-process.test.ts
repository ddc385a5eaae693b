// Several processes, each with its own connection, spend on one SQLite file at once.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { sqliteAdapter } from './sqlite-adapter.js';

const run = promisify(execFile);
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'spendguard-mp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sqliteAdapter across processes', () => {
  // At 64 in flight each process commits groups of many calls, interleaved with the others' groups.
  // The last wave of calls ends with holds released or committed below their estimate, which leaves
  // room at the end: the more calls in flight, the more.
  it.each([
    [8, 400, FOUGHT_OVER_PERCENT],
    [64, 600, 50],
  ])(
    '4 processes × %i in flight, %i calls each: no hard limit passed, totals exact, each transition and alert once',
    {
      timeout: 120_000,
    },
    async (inFlight, calls, minPercentUsed) => {
      const path = join(dir, `shared-${inFlight}.db`);
      sqliteAdapter({ path }).close(); // create the schema once, as a deployment would
      const reports = await Promise.all(
        [0, 1, 2, 3].map(
          async (i) =>
            JSON.parse(
              (await run(process.execPath, [fixture('spend-worker.mjs'), path, String(i), String(calls), String(inFlight)])).stdout,
            ) as WorkloadReport,
        ),
      );
      const guard = createSpendGuard({ store: sqliteAdapter({ path }), budgets: WORKLOAD_BUDGETS });
      const statuses = await guard.status();
      expect(workloadViolations(reports, statuses)).toEqual([]);
      // The limits are small enough that the processes fought over the last cents of the projects.
      for (const p of ['project:a', 'project:b']) expect(statuses.find((s) => s.budget === p)?.percentUsed).toBeGreaterThan(minPercentUsed);
      await guard.close();
    },
  );

  it('4 leased processes × 64 in flight: the cap holds, totals exact once settled, each alert once', { timeout: 120_000 }, async () => {
    const path = join(dir, 'leased.db');
    sqliteAdapter({ path }).close();
    const reports = await Promise.all(
      [0, 1, 2, 3].map(
        async (i) =>
          JSON.parse(
            (await run(process.execPath, [fixture('spend-worker.mjs'), path, String(i), '600', '64', 'lease'])).stdout,
          ) as WorkloadReport,
      ),
    );
    const guard = createSpendGuard({ store: sqliteAdapter({ path }), budgets: WORKLOAD_BUDGETS });
    const statuses = await guard.status();
    expect(workloadViolations(reports, statuses)).toEqual([]);
    // As without leases at 64 in flight, the last wave of holds leaves room (see above).
    for (const p of ['project:a', 'project:b']) expect(statuses.find((s) => s.budget === p)?.percentUsed).toBeGreaterThan(50);
    await guard.close();
  });

  it('4 leased processes × 64 in flight drain one budget: at least 80 % of it usable, never more, each alert once', {
    timeout: 120_000,
  }, async () => {
    const path = join(dir, 'drain.db');
    sqliteAdapter({ path }).close();
    const reports = await Promise.all(
      [0, 1, 2, 3].map(
        async (i) =>
          JSON.parse(
            (await run(process.execPath, [fixture('drain-worker.mjs'), path, String(0.01 + i * 0.01), '64'])).stdout,
          ) as DrainReport,
      ),
    );
    const guard = createSpendGuard({ store: sqliteAdapter({ path }), budgets: DRAIN_BUDGETS });
    expect(drainViolations(reports, await guard.status('total'))).toEqual([]);
    await guard.close();
  });

  it('a leased process killed mid-burst: its slice is charged in full when it expires, never less than it admitted', {
    timeout: 60_000,
  }, async () => {
    const path = join(dir, 'leased-crash.db');
    sqliteAdapter({ path }).close();
    const [limit, fraction, maxHoldMs] = [100_000, 0.001, 100];
    const admitted = await admittedBeforeKill(
      fixture('leased-crash-worker.mjs'),
      [path, String(limit), String(fraction), String(maxHoldMs)],
      1500,
    );
    expect(admitted).toBeGreaterThan(100_000); // it did admit out of its slices, and settled several times

    const reader = createSpendGuard({ store: sqliteAdapter({ path }), budgets: [{ id: 'total', limit, period: 'never' }] });
    const before = await reader.status('total');
    expect(before.leased).toBeGreaterThan(0); // the dead process's slice, not settled
    await new Promise((resolve) => setTimeout(resolve, 10 * maxHoldMs + 100));
    await reader.spend({}, 0.000001); // any step after the expiry charges it
    // Never under-counted, over by at most one unused slice (the reader's own micro-unit aside).
    expect(crashViolations(admitted, await reader.status('total'), limit * fraction * 1e6, 1)).toEqual([]);
    await reader.close();
  });

  it('a process killed mid-burst leaves a file that opens cleanly with exactly the spends that were recorded', {
    timeout: 60_000,
  }, async () => {
    const path = join(dir, 'crash.db');
    const child = spawn(process.execPath, [fixture('crash-worker.mjs'), path], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));
    const lines = out.split('\n').filter(Boolean);
    const tried = lines.filter((l) => l.startsWith('try ')).map((l) => l.slice(4));
    const ok = new Set(lines.filter((l) => l.startsWith('ok ')).map((l) => l.slice(3)));
    expect(ok.size).toBeGreaterThan(50);

    const store = sqliteAdapter({ path });
    expect(store.database.pragma('integrity_check', { simple: true })).toBe('ok');
    const recorded = new Set(store.database.prepare('SELECT key FROM spendguard_idempotency').pluck().all() as string[]);
    const triedSet = new Set(tried);
    // Every admitted spend is there; at most the one in flight when the process died is there too.
    expect([...ok].filter((key) => !recorded.has(key))).toEqual([]);
    expect(recorded.size - ok.size).toBeGreaterThanOrEqual(0);
    expect(recorded.size - ok.size).toBeLessThanOrEqual(1);
    expect([...recorded].filter((key) => !triedSet.has(key))).toEqual([]);
    const expected = [...recorded].reduce((sum, key) => sum + ((Number(key.slice(1)) % 7) * 1e6 + 1), 0);
    const guard = createSpendGuard({ store, budgets: [{ id: 'total', limit: 1e6 }] });
    expect(Math.round((await guard.status('total')).used * 1e6)).toBe(expected);
    await guard.close();
  });
});
