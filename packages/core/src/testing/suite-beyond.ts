// Conformance: budgets beyond a monthly cap — shadow budgets (checked like hard ones, never refusing),
// forecast alerts (once per period, from one guard, when the projection passes the limit), rollover
// (the unused part of the previous period carries, capped, one period deep) and grants (temporary
// raises kept in the store, seen by every guard).
import { describe, expect, it } from 'vitest';
import type { AlertEvent, DeniedEvent, TransitionEvent } from '../events.js';
import { createSpendGuard } from '../guard.js';
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

    it('the store refuses a forecast claim that is not a reservation of 0 (it would pass no limit check)', { timeout }, async () => {
      const f = await fixture(options, [{ id: 'monthly', limit: 100, forecast: true }]);
      const claim = { callId: 'x-1', instances: [], now: f.clock.now(), forecast: true, idempotencyKey: 'spendguard:forecast:x' };
      for (const bad of [
        { kind: 'spend' as const, amount: 0 },
        { kind: 'reserve' as const, amount: 5_000_000, ttlMs: 1000 },
      ]) {
        await expect(Promise.resolve().then(() => f.store.charge({ ...claim, ...bad }))).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
      }
      expect(await f.store.charge({ ...claim, kind: 'reserve', amount: 0, ttlMs: 1000 })).toMatchObject({ ok: true, replayed: false });
    });

    it('refuses a forecast that is not a boolean with INVALID_CONFIG', { timeout }, async () => {
      await expect(fixture(options, [{ id: 'x', limit: 1, forecast: 'yes' as never }])).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    });
  });
  describe('beyond a monthly cap: rollover', () => {
    const monthly: BudgetDefinition = { id: 'monthly', limit: 100, rollover: { max: 30 } };

    it('carries the unused part of the previous limit, at most max, one period deep; nothing into the first period', {
      timeout,
    }, async () => {
      const f = await fixture(options, [monthly], 2);
      const [a, b] = f.guards as [(typeof f.guards)[0], (typeof f.guards)[0]];
      expect(await a.status('monthly')).toMatchObject({ limit: 100, carriedOver: 0 });
      await a.spend({}, 80);
      f.clock.set('2026-12-02T00:00:00Z');
      expect(await b.status('monthly')).toMatchObject({ limit: 120, carriedOver: 20, used: 0 }); // read before it opens
      expect((await b.spend({}, 119.99)).allowed).toBe(true);
      expect(await a.status('monthly')).toMatchObject({ limit: 120, carriedOver: 20, used: 119.99 });
      expect((await a.spend({}, 0.02)).allowed).toBe(false);
      expect((await a.spend({}, 0.01)).allowed).toBe(true);
      f.clock.set('2027-01-05T00:00:00Z'); // December's base limit of 100 was passed: nothing carries
      expect(await b.status('monthly')).toMatchObject({ limit: 100, carriedOver: 0 });
      await b.spend({}, 40);
      f.clock.set('2027-02-05T00:00:00Z'); // 60 unused, capped at 30
      expect((await a.spend({}, 130)).allowed).toBe(true);
      expect((await a.spend({}, 0.01)).allowed).toBe(false);
      expect(await b.status('monthly')).toMatchObject({ limit: 130, carriedOver: 30, used: 130, level: 'exhausted' });
    });

    it('is fixed by the step that opens the period: a later commit into the old period changes nothing', { timeout }, async () => {
      const f = await fixture(options, [monthly], 2);
      const [a, b] = f.guards as [(typeof f.guards)[0], (typeof f.guards)[0]];
      await a.spend({}, 50);
      const r = await a.reserve({}, 20, { ttlMs: 30 * 86_400_000 });
      if (!r.allowed) throw new Error('refused');
      f.clock.set('2026-12-01T00:00:01Z');
      await b.spend({}, 1); // opens December: 100 - 50 used = 50, capped at 30
      await a.commit(r.reservationId, 20); // November is now 70 used; December keeps what it was given
      expect(await a.status('monthly')).toMatchObject({ limit: 130, carriedOver: 30, used: 1 });
      expect(await b.status('monthly')).toMatchObject({ limit: 130, carriedOver: 30 });
      expect((await a.history('monthly', { periods: 2 })).map((h) => h.used)).toEqual([70, 1]);
    });

    it('carries the whole limit (capped) after an idle period, and follows the base limit that stood when the period opened', {
      timeout,
    }, async () => {
      const f = await fixture(options, [monthly]);
      await f.guard.spend({}, 90);
      f.clock.set('2027-01-10T00:00:00Z'); // December idle: its 100 went unused
      expect(await f.guard.status('monthly')).toMatchObject({ limit: 130, carriedOver: 30 });
      await f.guard.setLimit('monthly', 200); // the base moves; what January carried does not
      expect(await f.guard.status('monthly')).toMatchObject({ limit: 230, carriedOver: 30 });
      await f.guard.spend({}, 190);
      f.clock.set('2027-02-10T00:00:00Z'); // 200 - 190 = 10 unused
      expect(await f.guard.status('monthly')).toMatchObject({ limit: 210, carriedOver: 10 });
    });

    it('takes max per key like a limit, and derives levels and events from the raised limit', { timeout }, async () => {
      const f = await fixture(options, [{ id: 'user', per: 'user', limit: { '*': 10 }, rollover: { max: { '*': 2, vip: 8 } } }]);
      const alerts: AlertEvent[] = [];
      f.guard.on('alert', (e) => alerts.push(e));
      await f.guard.spend({ user: 'vip' }, 1);
      await f.guard.spend({ user: 'joe' }, 1);
      f.clock.set('2026-12-03T00:00:00Z');
      expect(await f.guard.status('user:vip')).toMatchObject({ limit: 18, carriedOver: 8 });
      expect(await f.guard.status('user:joe')).toMatchObject({ limit: 12, carriedOver: 2 });
      alerts.length = 0;
      await f.guard.spend({ user: 'joe' }, 6); // 6 of 12: half
      expect(alerts.map((e) => [e.budget, e.level, e.limit])).toEqual([['user:joe', 'info', 12]]);
      expect((await f.guard.spend({ user: 'joe' }, 6.01)).allowed).toBe(false);
    });

    it('judges the level a period ended at by its own limit: the reset is followed by the transition back to ok', { timeout }, async () => {
      const f = await fixture(options, [monthly]);
      const transitions: TransitionEvent[] = [];
      f.guard.on('transition', (t) => transitions.push(t));
      await f.guard.spend({}, 10);
      f.clock.set('2026-12-02T00:00:00Z'); // December: 100 + 30
      await f.guard.spend({}, 125); // 125 of 130: critical
      f.clock.set('2027-01-02T00:00:00Z'); // January: nothing carries
      await f.guard.spend({}, 1);
      expect(transitions.map((t) => `${t.from}>${t.to}@${t.limit}`)).toEqual(['ok>critical@130', 'critical>ok@100']);
    });

    it('refuses rollover on an allocated budget (it would raise a child past what it was allotted)', { timeout }, async () => {
      const budgets: BudgetDefinition[] = [
        { id: 'org', limit: 100 },
        { id: 'team', per: 'team', limit: { red: 50 }, allocatedFrom: 'org', rollover: { max: 10 } },
      ];
      await expect(fixture(options, budgets)).rejects.toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringContaining('org') });
    });

    it('refuses a rollover that is not { max } of amounts, or on a budget without periods, with INVALID_CONFIG', { timeout }, async () => {
      for (const rollover of [5, { max: -1 }, { max: 'x' }, {}] as never[]) {
        await expect(fixture(options, [{ id: 'm', limit: 1, rollover }])).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
      }
      await expect(fixture(options, [{ id: 'm', limit: 1, period: 'never', rollover: { max: 1 } }])).rejects.toMatchObject({
        code: 'INVALID_CONFIG',
        message: expect.stringContaining('never'),
      });
    });
  });

  describe('beyond a monthly cap: grants', () => {
    it('raises one instance for every guard on the store until the end of the period, listed in status()', { timeout }, async () => {
      const f = await fixture(options, [{ id: 'monthly', limit: 100 }], 2);
      const [a, b] = f.guards as [(typeof f.guards)[0], (typeof f.guards)[0]];
      await a.spend({}, 100);
      expect((await b.spend({}, 1)).allowed).toBe(false);
      const g = await a.grant('monthly', 20, { reason: 'launch week' });
      expect(g).toMatchObject({ amount: 20, reason: 'launch week', expiresAt: '2026-12-01T00:00:00.000Z' });
      expect((await b.spend({}, 15)).allowed).toBe(true);
      expect((await b.spend({}, 5.01)).allowed).toBe(false);
      const s = await b.status('monthly');
      expect(s).toMatchObject({ limit: 120, used: 115 });
      expect(s.grants).toEqual([g]);
      f.clock.set('2026-12-01T00:00:00Z'); // expired with the period
      expect(await a.status('monthly')).toMatchObject({ limit: 100, grants: [] });
      const all = await b.status();
      expect(all.find((x) => x.budget === 'monthly')?.grants).toEqual([]);
    });

    it('a grant that ends with used past the base limit: the first refused call reports the level, once across guards', {
      timeout,
    }, async () => {
      const f = await fixture(options, [{ id: 'p', per: 'project', limit: { api: 100 } }], 2);
      const [a, b] = f.guards as [(typeof f.guards)[0], (typeof f.guards)[0]];
      const moves: string[] = [];
      for (const g of [a, b]) {
        g.on('transition', (t) => moves.push(`${t.from}->${t.to}`));
        g.on('alert', (e) => moves.push(e.level));
      }
      await a.grant('p:api', 50, { expiresAt: f.clock.now() + 3_600_000 });
      await a.spend({ project: 'api' }, 120); // 80 % of 150
      expect(moves).toEqual(['ok->warning', 'info', 'warning']);
      f.clock.advance(2 * 3_600_000); // the grant is over: 120 of 100, and every call is refused
      expect((await b.spend({ project: 'api' }, 0.5)).allowed).toBe(false);
      expect((await a.spend({ project: 'api' }, 0.5)).allowed).toBe(false);
      expect(moves).toEqual(['ok->warning', 'info', 'warning', 'warning->exhausted', 'critical', 'exhausted']);
      const feed = (await a.events()).events.map((e) =>
        e.type === 'alert' ? e.level : e.type === 'transition' ? `${e.from}->${e.to}` : e.type,
      );
      expect(feed).toEqual(moves);
    });

    it('stops counting at expiresAt, whatever form it takes; several grants add up', { timeout }, async () => {
      const f = await fixture(options, [{ id: 'team', per: 'team', limit: { '*': 10 } }], 2);
      const [a, b] = f.guards as [(typeof f.guards)[0], (typeof f.guards)[0]];
      const inAnHour = f.clock.now() + 3_600_000;
      await a.grant('team:red', 5, { expiresAt: inAnHour });
      await b.grant('team:red', 2.5, { expiresAt: new Date(inAnHour + 3_600_000) });
      await a.grant('team:red', 1, { expiresAt: new Date(inAnHour + 7_200_000).toISOString() });
      expect(await b.status('team:red')).toMatchObject({ limit: 18.5 });
      expect((await b.status('team:blue')).limit).toBe(10); // one instance only
      expect((await a.spend({ team: 'red' }, 17)).allowed).toBe(true);
      f.clock.advance(3_600_000); // the first one ends
      const s = await a.status('team:red');
      expect(s.limit).toBe(13.5);
      expect(s.level).toBe('exhausted');
      expect(s.grants.map((x) => x.amount)).toEqual([2.5, 1]);
      expect((await b.spend({ team: 'red' }, 0.01)).allowed).toBe(false);
      f.clock.advance(2 * 3_600_000);
      expect(await b.status('team:red')).toMatchObject({ limit: 10, grants: [] });
    });

    it('moves the level down at once, with one transition', { timeout }, async () => {
      const f = await fixture(options, [{ id: 'monthly', limit: 100 }], 2);
      const [a, b] = f.guards as [(typeof f.guards)[0], (typeof f.guards)[0]];
      const transitions: TransitionEvent[] = [];
      for (const g of [a, b]) g.on('transition', (e) => transitions.push(e));
      await a.spend({}, 95);
      expect(transitions.map((t) => t.to)).toEqual(['critical']);
      await b.grant('monthly', 90);
      expect(transitions.map((t) => [t.from, t.to, t.limit])).toEqual([
        ['ok', 'critical', 100],
        ['critical', 'info', 190],
      ]);
    });

    it("must fit in the parent's unallocated part of an allocated budget (OVER_ALLOCATED), and changes nothing when it does not", {
      timeout,
    }, async () => {
      const f = await fixture(options, [
        { id: 'org', limit: 100 },
        { id: 'project', per: 'project', limit: { api: 60, batch: 30 }, allocatedFrom: 'org' },
      ]);
      await f.guard.grant('project:api', 10); // 60 + 10 + 30 = 100
      await expect(f.guard.grant('project:batch', 0.01)).rejects.toMatchObject({ code: 'OVER_ALLOCATED' });
      expect(await f.guard.status('project:batch')).toMatchObject({ limit: 30, grants: [] });
      await expect(f.guard.setLimit('project', 31, 'batch')).rejects.toMatchObject({ code: 'OVER_ALLOCATED' });
      expect(await f.guard.allocation('org')).toMatchObject({ limit: 100, allocated: 100, unallocated: 0 });
      await f.guard.grant('org', 5); // room made at the parent
      await f.guard.grant('project:batch', 5);
      expect((await f.guard.status('project:batch')).limit).toBe(35);
    });

    it("counts a parent's grant as room only while it lasts; a limit can always be lowered", { timeout }, async () => {
      const f = await fixture(options, [
        { id: 'org', limit: 100 },
        { id: 'project', per: 'project', limit: { api: 60, batch: 40 }, allocatedFrom: 'org' },
      ]);
      const g = f.guard;
      const hour = f.clock.now() + 3_600_000;
      await g.grant('org', 50, { expiresAt: hour });
      await expect(g.grant('project:api', 50, { expiresAt: hour + 1 })).rejects.toMatchObject({ code: 'OVER_ALLOCATED' });
      await expect(g.setLimit('project', 110, 'api')).rejects.toMatchObject({ code: 'OVER_ALLOCATED' }); // for good
      await g.grant('project:api', 50, { expiresAt: hour }); // no longer than the room it takes
      expect(await g.allocation('org')).toMatchObject({ limit: 150, allocated: 150 });
      f.clock.advance(3_600_000);
      expect(await g.allocation('org')).toMatchObject({ limit: 100, allocated: 100, unallocated: 0 });
      await g.setLimit('project', 50, 'api');
      expect(await g.allocation('org')).toMatchObject({ allocated: 90, unallocated: 10 });
    });

    it('reports a grant as made once it is stored, even when re-reading the levels fails (a retry would grant twice)', {
      timeout,
    }, async () => {
      const f = await fixture(options, [{ id: 'monthly', limit: 100 }]);
      let failObserve = true;
      const store = new Proxy(f.store, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver);
          if (typeof value !== 'function') return value;
          if (prop === 'observe')
            return (...args: unknown[]) => {
              if (failObserve) throw new Error('connection reset');
              return value.apply(target, args);
            };
          return value.bind(target);
        },
      });
      const g = createSpendGuard({ store, budgets: [{ id: 'monthly', limit: 100 }], clock: f.clock.now });
      await g.spend({}, 95); // critical
      const transitions: string[] = [];
      g.on('transition', (t) => transitions.push(`${t.from}>${t.to}`));
      await g.grant('monthly', 50);
      failObserve = false;
      expect((await g.status('monthly')).limit).toBe(150);
      await g.spend({}, 1); // the next step reports the level the grant gave
      expect(transitions).toEqual(['critical>info']); // 96 of 150
    });

    it('lists an instance with a grant and no activity yet in status()', { timeout }, async () => {
      const f = await fixture(options, [{ id: 'user', per: 'user', limit: { '*': 5 } }]);
      await f.guard.grant('user:newcomer', 2, { reason: 'welcome' });
      const all = await f.guard.status();
      expect(all.find((s) => s.budget === 'user:newcomer')).toMatchObject({
        limit: 7,
        used: 0,
        grants: [{ amount: 2, reason: 'welcome' }],
      });
    });

    it('racing grants from two guards never over-allocate a parent together', { timeout }, async () => {
      const f = await fixture(
        options,
        [
          { id: 'org', limit: 100 },
          { id: 'project', per: 'project', limit: { api: 40, batch: 45 }, allocatedFrom: 'org' },
        ],
        2,
      );
      const [a, b] = f.guards as [(typeof f.guards)[0], (typeof f.guards)[0]];
      const outcomes = await Promise.allSettled([
        a.grant('project:api', 10),
        b.grant('project:batch', 10),
        a.grant('project:batch', 10),
        b.grant('project:api', 10),
      ]);
      const codes = outcomes.map((o) => (o.status === 'fulfilled' ? 'ok' : (o.reason as { code: string }).code));
      expect(codes.filter((c) => c === 'ok')).toHaveLength(1); // 15 unallocated: room for one
      expect(codes.filter((c) => c === 'OVER_ALLOCATED')).toHaveLength(3);
      expect(await b.allocation('org')).toMatchObject({ allocated: 95, unallocated: 5 });
    });

    it('refuses bad input with a clear code and stores nothing', { timeout }, async () => {
      const f = await fixture(options, [
        { id: 'monthly', limit: 100 },
        { id: 'user', per: 'user', limit: { ann: 5 } },
      ]);
      const g = f.guard;
      await expect(g.grant('monthly', 0)).rejects.toMatchObject({ code: 'INVALID_AMOUNT' });
      await expect(g.grant('monthly', -1)).rejects.toMatchObject({
        code: 'INVALID_AMOUNT',
        message: expect.stringContaining('more than 0'),
      });
      await expect(g.grant('monthly', Number.NaN)).rejects.toMatchObject({ code: 'INVALID_AMOUNT' });
      await expect(g.grant('monthly', 1e9)).rejects.toMatchObject({ code: 'INVALID_AMOUNT' }); // 100 + 1e9 passes MAX_AMOUNT
      await expect(g.grant('nope', 1)).rejects.toMatchObject({ code: 'UNKNOWN_BUDGET' });
      await expect(g.grant('user:bob', 1)).rejects.toMatchObject({ code: 'UNKNOWN_BUDGET' }); // no limit to raise
      await expect(g.grant('monthly', 1, { expiresAt: f.clock.now() - 1 })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
      await expect(g.grant('monthly', 1, { expiresAt: 'next tuesday' })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
      await expect(g.grant('monthly', 1, { reason: 7 as never })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
      await expect(g.grant('monthly', 1, { expiresAt: 1e300 })).rejects.toMatchObject({ code: 'INVALID_CONFIG' }); // no Date can show it
      for (const name of ['user:a:b', 'user:%61nn', 'user:%3a', 'user:*', 'user:', `user:${'x'.repeat(257)}`, 'monthly:x']) {
        await expect(g.grant(name, 1)).rejects.toMatchObject({ code: 'UNKNOWN_BUDGET' }); // no call could touch it
      }
      expect(await g.status('monthly')).toMatchObject({ limit: 100, grants: [] });
    });
  });
}
