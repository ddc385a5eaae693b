// Conformance: spend, refusal, all-or-nothing, idempotency, instance naming, events of one step.
import { describe, expect, it } from 'vitest';
import type { AlertEvent, TransitionEvent } from '../events.js';
import { type ConformanceOptions, fixture, micros } from './harness.js';

const SEED = [
  { id: 'monthly', limit: 1000, softLimit: 800 },
  { id: 'project', per: 'project', limit: { api: 500, batch: 300 }, allocatedFrom: 'monthly' },
  { id: 'model', per: 'model', limit: { 'gpt-4.1': 200, '*': 100 } },
  { id: 'experiments', where: { project: 'batch' }, limit: 50, enforce: 'soft' as const },
];

export function spendingSuite(options: ConformanceOptions): void {
  const timeout = options.timeout ?? 60_000;

  describe('spending', () => {
    it('records a spend on every matching instance and reports what remains', { timeout }, async () => {
      const f = await fixture(options, SEED);
      const r = await f.guard.spend({ project: 'api', model: 'gpt-4.1' }, 50);
      expect(r).toMatchObject({ allowed: true, remaining: { monthly: 950, 'project:api': 450, 'model:gpt-4.1': 150 } });
      expect(Object.keys(r.allowed ? r.remaining : {})).toHaveLength(3);
      const s = await f.guard.status('project:api');
      expect(s).toMatchObject({ budget: 'project:api', rule: 'project', key: 'api', used: 50, reserved: 0, remaining: 450, level: 'ok' });
    });

    it('sums a thousand spends of 0.1 exactly and rounds each spend up to the micro-unit', { timeout }, async () => {
      const f = await fixture(options, [{ id: 'all', limit: 1e6 }]);
      for (let i = 0; i < 1000; i++) await f.guard.spend({}, 0.1);
      await f.guard.spend({}, 0.0000001);
      await f.guard.spend({}, 0.3);
      expect(micros((await f.guard.status('all')).used)).toBe(100_000_000 + 1 + 300_000);
    });

    it('refuses at a hard limit, naming the instance, and changes no instance (all or nothing)', { timeout }, async () => {
      const f = await fixture(options, SEED);
      const denied: unknown[] = [];
      f.guard.on('denied', (e) => denied.push(e));
      await f.guard.spend({ project: 'api', model: 'gpt-4.1' }, 180);
      const before = await f.guard.status();
      const r = await f.guard.spend({ project: 'api', model: 'gpt-4.1' }, 30);
      expect(r).toEqual({ allowed: false, reason: 'limit_exceeded', budget: 'model:gpt-4.1', remaining: 20, requested: 30 });
      const r2 = await f.guard.spend({ project: 'api', model: 'o3' }, 330);
      expect(r2).toEqual({ allowed: false, reason: 'limit_exceeded', budget: 'project:api', remaining: 320, requested: 330 });
      expect(await f.guard.status()).toEqual(before);
      expect(denied).toEqual([
        { budget: 'model:gpt-4.1', reason: 'limit_exceeded', requested: 30, remaining: 20, attrs: { project: 'api', model: 'gpt-4.1' } },
        { budget: 'project:api', reason: 'limit_exceeded', requested: 330, remaining: 320, attrs: { project: 'api', model: 'o3' } },
      ]);
    });

    it("refuses an unlisted key of a record limit without '*' as no_budget", { timeout }, async () => {
      const f = await fixture(options, SEED);
      const r = await f.guard.spend({ project: 'research' }, 1);
      expect(r).toMatchObject({ allowed: false, reason: 'no_budget', budget: 'project:research' });
      expect((await f.guard.status('monthly')).used).toBe(0);
    });

    it('never refuses for a soft budget, and alerts when it passes its levels', { timeout }, async () => {
      const f = await fixture(options, SEED);
      const alerts: AlertEvent[] = [];
      f.guard.on('alert', (a) => alerts.push(a));
      const r = await f.guard.spend({ project: 'batch', model: 'm' }, 60);
      expect(r.allowed).toBe(true);
      const s = await f.guard.status('experiments');
      expect(s).toMatchObject({ enforce: 'soft', used: 60, remaining: 0, level: 'exhausted' });
      expect(alerts.filter((a) => a.budget === 'experiments').map((a) => a.level)).toEqual(['info', 'warning', 'critical', 'exhausted']);
    });

    it('emits one transition and one alert per level passed, lowest first, once each (seed scenario)', { timeout }, async () => {
      const f = await fixture(options, SEED);
      const transitions: TransitionEvent[] = [];
      const alerts: AlertEvent[] = [];
      f.guard.on('transition', (t) => transitions.push(t));
      f.guard.on('alert', (a) => alerts.push(a));
      for (const amount of [250, 125, 75, 10]) await f.guard.spend({ project: 'api' }, amount);
      const api = alerts.filter((a) => a.budget === 'project:api');
      expect(api.map((a) => a.level)).toEqual(['info', 'warning', 'critical']);
      expect(api[0]).toMatchObject({ used: 250, limit: 500, percentUsed: 50 });
      expect(transitions.filter((t) => t.budget === 'project:api').map((t) => t.to)).toEqual(['info', 'warning', 'critical']);
      await f.guard.spend({ model: 'x' }, 95);
      await f.guard.spend({ model: 'x' }, 5);
      expect(transitions.filter((t) => t.budget === 'model:x').map((t) => [t.from, t.to])).toEqual([
        ['ok', 'critical'],
        ['critical', 'exhausted'],
      ]);
      expect(alerts.filter((a) => a.budget === 'model:x').map((a) => a.level)).toEqual(['info', 'warning', 'critical', 'exhausted']);
    });

    it('alerts at the soft limit in its place among the levels', { timeout }, async () => {
      const f = await fixture(options, [{ id: 'm', limit: 100, softLimit: 80 }]);
      const levels: string[] = [];
      f.guard.on('alert', (a) => levels.push(a.level));
      await f.guard.spend({}, 85);
      expect(levels).toEqual(['info', 'warning', 'soft_limit']);
      await f.guard.spend({}, 5);
      expect(levels).toEqual(['info', 'warning', 'soft_limit', 'critical']);
    });

    it('counts a repeated idempotency key once and returns the first result', { timeout }, async () => {
      const f = await fixture(options, SEED);
      const a = await f.guard.spend({ project: 'api' }, 10, { idempotencyKey: 'req-1' });
      const b = await f.guard.spend({ project: 'api' }, 10, { idempotencyKey: 'req-1' });
      expect(a.allowed && b.allowed && a.spendId === b.spendId).toBe(true);
      const r1 = await f.guard.reserve({ project: 'api' }, 5, { idempotencyKey: 'req-2' });
      const r2 = await f.guard.reserve({ project: 'api' }, 5, { idempotencyKey: 'req-2' });
      expect(r1.allowed && r2.allowed && r1.reservationId === r2.reservationId && r1.expiresAt === r2.expiresAt).toBe(true);
      const s = await f.guard.status('project:api');
      expect([s.used, s.reserved]).toEqual([10, 5]);
    });

    it('keeps instances apart whatever characters their attribute values hold', { timeout }, async () => {
      const f = await fixture(options, [{ id: 'u', per: ['a', 'b'], limit: { '*': 100 } }]);
      const values = [
        ['x,y', 'z'],
        ['x', 'y,z'],
        ['x:y', 'z'],
        ['%2C', 'z'],
        ['{tag}', '*'],
        ['emoji 💸', 'new\nline'],
      ];
      for (const [i, [a, b]] of values.entries()) await f.guard.spend({ a: a as string, b: b as string }, i + 1);
      const statuses = await f.guard.status();
      expect(statuses).toHaveLength(values.length);
      expect(statuses.map((s) => s.used).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6]);
    });

    it('matches where filters and skips rules whose per attribute is absent', { timeout }, async () => {
      const f = await fixture(options, [
        { id: 'batch-only', where: { project: ['batch', 'nightly'] }, limit: 10 },
        { id: 'per-user', per: 'user', limit: 5 },
      ]);
      const r = await f.guard.spend({ project: 'api' }, 1);
      expect(r).toEqual({ allowed: true, spendId: expect.any(String), remaining: {} });
      const r2 = await f.guard.spend({ project: 'nightly', user: 'u1' }, 2);
      expect(r2.allowed && r2.remaining).toEqual({ 'batch-only': 8, 'per-user:u1': 3 });
    });
  });
}
