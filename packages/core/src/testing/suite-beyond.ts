// Conformance: budgets beyond a monthly cap — shadow budgets (checked like hard ones, never refusing) and
// forecast alerts (once per period, from one guard, when the projection passes the limit).
import { describe, expect, it } from 'vitest';
import type { AlertEvent, DeniedEvent } from '../events.js';
import type { BudgetDefinition } from '../rules.js';
import { type ConformanceOptions, fixture } from './harness.js';

export function beyondSuite(options: ConformanceOptions): void {
  const timeout = options.timeout ?? 60_000;

  describe('beyond a monthly cap: shadow budgets', () => {
    it('admits and counts every call; a would-be refusal emits denied with shadow: true, once per call', { timeout }, async () => {
      const budgets: BudgetDefinition[] = [
        { id: 'monthly', limit: 100 },
        { id: 'new-cap', per: 'user', limit: { '*': 10 }, enforce: 'shadow' },
      ];
      const f = await fixture(options, budgets, 2);
      const [a, b] = f.guards as [(typeof f.guards)[0], (typeof f.guards)[0]];
      const denied: DeniedEvent[] = [];
      const alerts: string[] = [];
      for (const g of [a, b]) {
        g.on('denied', (e) => denied.push(e));
        g.on('alert', (e) => alerts.push(`${e.budget} ${e.level}`));
      }
      expect((await a.spend({ user: 'u' }, 6)).allowed).toBe(true);
      expect(denied).toEqual([]);
      const r = await b.reserve({ user: 'u' }, 3);
      expect(r.allowed).toBe(true);
      expect(denied).toEqual([]);
      expect((await a.spend({ user: 'u' }, 2)).allowed).toBe(true); // 6 + 3 held + 2 = 11 > 10
      expect(denied).toEqual([
        { budget: 'new-cap:u', reason: 'limit_exceeded', requested: 2, remaining: 1, attrs: { user: 'u' }, shadow: true },
      ]);
      expect((await b.spend({ user: 'u' }, 1)).allowed).toBe(true);
      expect(denied).toHaveLength(2);
      const s = await a.status('new-cap:u');
      expect(s).toMatchObject({ enforce: 'shadow', used: 9, reserved: 3 });
      expect(alerts).toContain('new-cap:u warning');
      expect((await a.check({ user: 'u' }, 50)).allowed).toBe(true); // never refuses, even as advice
    });

    it('reports nothing when a hard budget refuses the call (it was not made)', { timeout }, async () => {
      const budgets: BudgetDefinition[] = [
        { id: 'monthly', limit: 5 },
        { id: 'trial', limit: 1, enforce: 'shadow' },
      ];
      const f = await fixture(options, budgets);
      const denied: DeniedEvent[] = [];
      f.guard.on('denied', (e) => denied.push(e));
      expect((await f.guard.spend({}, 6)).allowed).toBe(false);
      expect(denied).toEqual([{ budget: 'monthly', reason: 'limit_exceeded', requested: 6, remaining: 5, attrs: {} }]);
      expect((await f.guard.status('trial')).used).toBe(0);
    });

    it("reports an unlisted key of a record limit without '*' as a would-be no_budget, and admits it", { timeout }, async () => {
      const f = await fixture(options, [{ id: 'team', per: 'team', limit: { red: 10 }, enforce: 'shadow' }]);
      const denied: DeniedEvent[] = [];
      f.guard.on('denied', (e) => denied.push(e));
      expect((await f.guard.spend({ team: 'blue' }, 1)).allowed).toBe(true);
      expect(denied).toEqual([
        { budget: 'team:blue', reason: 'no_budget', requested: 1, remaining: 0, attrs: { team: 'blue' }, shadow: true },
      ]);
    });

    it("refuses an unknown enforce with INVALID_CONFIG naming 'shadow' among the choices", { timeout }, async () => {
      await expect(fixture(options, [{ id: 'x', limit: 1, enforce: 'audit' as never }])).rejects.toMatchObject({
        code: 'INVALID_CONFIG',
        message: expect.stringContaining("'shadow'"),
      });
    });
  });

  describe('beyond a monthly cap: forecast alerts', () => {
    it('alerts once per period, from one guard of two, once a quarter of the period has passed and the projection passes the limit', {
      timeout,
    }, async () => {
      const f = await fixture(options, [{ id: 'monthly', limit: 100, forecast: true }], 2);
      const [a, b] = f.guards as [(typeof f.guards)[0], (typeof f.guards)[0]];
      const forecasts: AlertEvent[] = [];
      for (const g of [a, b]) g.on('alert', (e) => e.level === 'forecast' && forecasts.push(e));
      f.clock.set('2026-11-03T00:00:00Z'); // 2 of 30 days: too early to trust a projection
      await a.spend({}, 30); // on pace for 450
      expect(forecasts).toEqual([]);
      f.clock.set('2026-11-10T00:00:00Z'); // 9 of 30 days
      await Promise.all([a.spend({}, 1), b.spend({}, 1), a.spend({}, 1), b.spend({}, 1)]); // on pace for ~113
      expect(forecasts).toHaveLength(1);
      expect(forecasts[0]).toMatchObject({ budget: 'monthly', level: 'forecast', used: expect.any(Number), limit: 100 });
      expect(forecasts[0]?.message).toMatch(/on pace to pass its limit in period 2026-11/);
      await a.spend({}, 1);
      await b.spend({}, 1);
      expect(forecasts).toHaveLength(1);
      f.clock.set('2026-12-12T00:00:00Z'); // the next period: 11 of 31 days
      await b.spend({}, 40); // on pace for ~113 again
      expect(forecasts).toHaveLength(2);
      expect(forecasts[1]?.message).toMatch(/2026-12/);
    });

    it('says nothing while the projection stays under the limit, and counts a commit like a spend', { timeout }, async () => {
      const f = await fixture(options, [{ id: 'monthly', limit: 100, forecast: true }]);
      const forecasts: AlertEvent[] = [];
      f.guard.on('alert', (e) => e.level === 'forecast' && forecasts.push(e));
      f.clock.set('2026-11-16T00:00:00Z'); // half the month
      await f.guard.spend({}, 40); // on pace for 80
      expect(forecasts).toEqual([]);
      const r = await f.guard.reserve({}, 5);
      if (!r.allowed) throw new Error('refused');
      expect(forecasts).toEqual([]); // held, not used
      await f.guard.commit(r.reservationId, 15); // 55: on pace for 110
      expect(forecasts).toHaveLength(1);
    });

    it('refuses a forecast that is not a boolean with INVALID_CONFIG', { timeout }, async () => {
      await expect(fixture(options, [{ id: 'x', limit: 1, forecast: 'yes' as never }])).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    });
  });
}
