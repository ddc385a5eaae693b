// Conformance: run-time limits seen by every guard, allocation, and status, check, pacing, forecast.
import { describe, expect, it } from 'vitest';
import { isSpendGuardError } from '../errors.js';
import type { AlertEvent, TransitionEvent } from '../events.js';
import { type ConformanceOptions, fixture } from './harness.js';

const SEED = [
  { id: 'monthly', limit: 1000 },
  { id: 'project', per: 'project', limit: { api: 500, batch: 300 }, allocatedFrom: 'monthly' },
  { id: 'model', per: 'model', limit: { '*': 100 } },
];

export function limitsSuite(options: ConformanceOptions): void {
  const timeout = options.timeout ?? 60_000;

  describe('limits', () => {
    it('a limit set at run time is seen by every guard on the store', { timeout }, async () => {
      const f = await fixture(options, SEED, 2);
      const [a, b] = f.guards as [NonNullable<(typeof f.guards)[0]>, NonNullable<(typeof f.guards)[0]>];
      await a.spend({ model: 'o3' }, 90);
      expect((await b.spend({ model: 'o3' }, 20)).allowed).toBe(false);
      await a.setLimit('model', 150, 'o3');
      expect((await b.spend({ model: 'o3' }, 20)).allowed).toBe(true);
      expect((await b.status('model:o3')).limit).toBe(150);
      await b.setLimit('model', 50);
      expect((await a.status('model:o4')).limit).toBe(50);
      expect((await a.status('model:o3')).limit).toBe(150);
      await a.setLimit('project', 100, 'research');
      expect((await b.spend({ project: 'research' }, 60)).allowed).toBe(true);
    });

    it('refuses over-allocation at start-up and on setLimit, counting run-time limits', { timeout }, async () => {
      const f = await fixture(options, SEED);
      await expect(f.guard.setLimit('project', 300, 'ml')).rejects.toMatchObject({ code: 'OVER_ALLOCATED' });
      await f.guard.setLimit('project', 200, 'ml');
      await expect(f.guard.setLimit('monthly', 900)).rejects.toMatchObject({ code: 'OVER_ALLOCATED' });
      expect(await f.guard.allocation('monthly')).toEqual({
        limit: 1000,
        allocated: 1000,
        unallocated: 0,
        children: { 'project:api': 500, 'project:batch': 300, 'project:ml': 200 },
      });
      await f.guard.setLimit('project', 400, 'api');
      await f.guard.setLimit('monthly', 900);
      expect(await f.guard.allocation('monthly')).toMatchObject({ limit: 900, allocated: 900, unallocated: 0 });
      let caught: unknown;
      try {
        await import('../guard.js').then(({ createSpendGuard }) =>
          createSpendGuard({
            store: f.store,
            budgets: [...SEED, { id: 'p2', per: 'team', limit: { x: 300 }, allocatedFrom: 'monthly' }],
          }),
        );
      } catch (err) {
        caught = err;
      }
      expect(isSpendGuardError(caught, 'OVER_ALLOCATED')).toBe(true);
    });

    it('a lowered limit moves the level up with alerts; a raised one moves it down', { timeout }, async () => {
      const f = await fixture(options, SEED, 2);
      const transitions: TransitionEvent[] = [];
      const alerts: AlertEvent[] = [];
      for (const g of f.guards) {
        g.on('transition', (t) => transitions.push(t));
        g.on('alert', (a) => alerts.push(a));
      }
      await f.guard.spend({ model: 'o3' }, 46);
      await f.guards[1]?.setLimit('model', 50, 'o3'); // 92 %
      expect(transitions.map((t) => [t.budget, t.from, t.to])).toEqual([['model:o3', 'ok', 'critical']]);
      expect(alerts.map((a) => a.level)).toEqual(['info', 'warning', 'critical']);
      await f.guard.setLimit('model', 200);
      await f.guard.setLimit('model', 400, 'o3');
      expect(transitions.map((t) => [t.from, t.to])).toEqual([
        ['ok', 'critical'],
        ['critical', 'ok'],
      ]);
      expect((await f.guard.status('model:o3')).level).toBe('ok');
    });

    it('check is a dry run with daily pacing; status forecasts the end of the period', { timeout }, async () => {
      const f = await fixture(options, [{ id: 'monthly', limit: 300 }]);
      f.clock.set('2026-11-11T00:00:00Z'); // 10 days in, 20 days left
      await f.guard.spend({}, 120);
      const c = await f.guard.check({}, 150);
      expect(c).toEqual({ allowed: true, pacing: { monthly: { dailyBudget: 9, todayUsed: 120, overPace: true } } });
      expect(await f.guard.check({}, 250)).toMatchObject({ allowed: false, budget: 'monthly' });
      const s = await f.guard.status('monthly');
      expect(s.used).toBe(120);
      // 120 in 10 of 30 days: 360 by the end; 300 is reached after 25 days.
      expect(s.forecast).toEqual({ endOfPeriod: 360, exhaustsOn: '2026-11-26T00:00:00.000Z' });
      f.clock.set('2026-11-12T00:00:00Z');
      expect((await f.guard.check({}, 1)).pacing.monthly).toEqual({ dailyBudget: 9.473684, todayUsed: 0, overPace: false });
    });

    it('status lists every unkeyed budget, every configured key, and every instance with activity', { timeout }, async () => {
      const f = await fixture(options, SEED);
      expect((await f.guard.status()).map((s) => s.budget)).toEqual(['monthly', 'project:api', 'project:batch']);
      await f.guard.spend({ project: 'api', model: 'a' }, 1);
      const statuses = await f.guard.status();
      expect(statuses.map((s) => s.budget)).toEqual(['model:a', 'monthly', 'project:api', 'project:batch']);
      expect(statuses.find((s) => s.budget === 'project:batch')).toMatchObject({ used: 0, limit: 300, level: 'ok' });
    });
  });
}
