// Four processes with 64 calls in flight each spend against one Redis at once.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createSpendGuard, DEFAULT_THRESHOLDS, LEVELS, levelFor } from '@spendguard/core';
import { afterAll, describe, expect, it } from 'vitest';
import { redisAdapter } from './redis-adapter.js';
import { ClientPool, RUN_ID, testRedisUrl } from './test-redis.js';

const run = promisify(execFile);
const worker = fileURLToPath(new URL('./fixtures/spend-worker.mjs', import.meta.url));
const pool = new ClientPool();
afterAll(() => pool.cleanup());

const BUDGETS = [
  { id: 'total', limit: 60 },
  { id: 'project', per: 'project', limit: { a: 25, b: 25 } },
  { id: 'model', per: 'model', limit: { '*': 35 } },
];

describe('redisAdapter across processes', () => {
  it('4 processes × 64 in flight: no hard limit passed, totals exact, each transition and alert once', { timeout: 120_000 }, async () => {
    const url = await testRedisUrl();
    const prefix = `${RUN_ID}-mp`;
    const reports = await Promise.all(
      [0, 1, 2, 3].map(
        async (i) =>
          JSON.parse((await run(process.execPath, [worker, url, prefix, String(i), '600'])).stdout) as {
            admitted: Array<[string, string, number]>;
            events: Array<[string, string, string, string?]>;
          },
      ),
    );
    const expected = new Map<string, number>();
    const add = (name: string, micros: number) => expected.set(name, (expected.get(name) ?? 0) + micros);
    for (const r of reports) {
      for (const [project, model, micros] of r.admitted) {
        add('total', micros);
        add(`project:${project}`, micros);
        add(`model:${model}`, micros);
      }
    }
    const guard = createSpendGuard({ store: redisAdapter({ client: await pool.open(), prefix }), budgets: BUDGETS });
    const statuses = await guard.status();
    expect(statuses.map((s) => s.budget).sort()).toEqual(['model:m1', 'model:m2', 'project:a', 'project:b', 'total']);
    const events = reports.flatMap((r) => r.events);
    for (const s of statuses) {
      const used = Math.round(s.used * 1e6);
      const limit = Math.round(s.limit * 1e6);
      expect(used).toBeLessThanOrEqual(limit);
      expect([s.budget, used, s.reserved]).toEqual([s.budget, expected.get(s.budget), 0]);
      const final = levelFor(used, limit, DEFAULT_THRESHOLDS);
      const alerts = events.filter((e) => e[0] === 'alert' && e[1] === s.budget).map((e) => e[2]);
      expect(alerts.sort()).toEqual(LEVELS.slice(1, LEVELS.indexOf(final) + 1).sort());
      const tos = events.filter((e) => e[0] === 'transition' && e[1] === s.budget).map((e) => e[3]);
      expect(new Set(tos).size).toBe(tos.length);
    }
    for (const p of ['project:a', 'project:b']) expect(statuses.find((s) => s.budget === p)?.percentUsed).toBeGreaterThan(95);
  });
});
