// Conformance: leased allowances (run for adapters with a `lease` step). Guards admit out of slices in
// process; the cap holds across guards, stored used equals what was admitted once they settle, an
// unsettled slice is charged in full when it expires, events stay exactly once, and an outage admits
// only out of the slices held.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { InstanceRef, StorageAdapter } from '../adapter/spi.js';
import { isSpendGuardError } from '../errors.js';
import type { AlertEvent } from '../events.js';
import { createSpendGuard, type SpendGuard, type SpendGuardOptions } from '../guard.js';
import type { BudgetDefinition } from '../rules.js';
import { type ConformanceOptions, type Fixture, fixture, micros } from './harness.js';
import { metered, newStepLog } from './metered-store.js';
import { switchable } from './switchable-store.js';

/** No settlement timer fires within a test: settlements here are refills, refusals and close(). */
const QUIET = { fraction: 0.05, maxHoldMs: 600_000 };

/** Leased guards over the fixture's connections; the fixture's own (unleased) guards read the store. */
function leased(
  f: Fixture,
  budgets: BudgetDefinition[],
  count: number,
  lease: SpendGuardOptions['lease'] = QUIET,
  wrap: (s: StorageAdapter) => StorageAdapter = (s) => s,
): SpendGuard[] {
  return Array.from({ length: count }, (_, i) =>
    createSpendGuard({ store: wrap(f.stores[i % f.stores.length] as StorageAdapter), budgets, clock: f.clock.now, lease }),
  );
}

/** Spends every amount at once (all in flight); returns what was admitted, in micro-units. */
async function admitted(guard: SpendGuard, attrs: Record<string, string>, amounts: number[]): Promise<number> {
  let sum = 0;
  await Promise.all(
    amounts.map(async (a) => {
      const r = await guard.spend(attrs, a);
      if (r.allowed) sum += micros(a);
    }),
  );
  return sum;
}

/** Spends `amount` until `refusals` calls in a row were refused; returns what was admitted. */
async function drain(guard: SpendGuard, amount: number, refusals = 3): Promise<number> {
  let sum = 0;
  for (let misses = 0; misses < refusals; ) {
    const r = await guard.spend({}, amount);
    if (r.allowed) {
      sum += micros(amount);
      misses = 0;
    } else misses++;
  }
  return sum;
}

export function leasesSuite(options: ConformanceOptions): void {
  const timeout = options.timeout ?? 60_000;
  const numRuns = Math.max(3, Math.floor((options.numRuns ?? 60) / 6));

  describe('leased allowances', () => {
    it('records what a slice of the ended period admitted before the new period opens, so rollover carries only what was unused', {
      timeout,
    }, async () => {
      const budgets: BudgetDefinition[] = [{ id: 'monthly', limit: 100, rollover: { max: 30 } }];
      const f = await fixture(options, budgets);
      f.clock.set('2026-11-30T23:59:00Z');
      const [g] = leased(f, budgets, 1, { fraction: 1, maxHoldMs: 600_000 }) as [SpendGuard];
      for (let i = 0; i < 9; i++) expect((await g.spend({}, 10)).allowed).toBe(true); // 90 in November, in the slice
      f.clock.set('2026-12-01T00:00:01Z');
      expect((await g.spend({}, 1)).allowed).toBe(true); // opens December
      await g.close();
      expect((await f.guard.history('monthly', { periods: 2 })).map((h) => h.used)).toEqual([90, 1]);
      expect(await f.guard.status('monthly')).toMatchObject({ limit: 110, carriedOver: 10 });
    });

    it('slices come out of the effective limit: a grant and what rollover carried make room for leased guards too', {
      timeout,
    }, async () => {
      const budgets: BudgetDefinition[] = [{ id: 'monthly', limit: 10, rollover: { max: 5 } }];
      const f = await fixture(options, budgets, 2);
      const [g1, g2] = leased(f, budgets, 2);
      const a = g1 as SpendGuard;
      const b = g2 as SpendGuard;
      expect(await drain(a, 1)).toBe(micros(10));
      await f.guard.grant('monthly', 3);
      expect(await drain(b, 1)).toBe(micros(3));
      await a.close();
      await b.close();
      expect(await f.guard.status('monthly')).toMatchObject({ used: 13, limit: 13, leased: 0 });
      f.clock.set('2026-12-10T00:00:00Z'); // November's base of 10 was all used: nothing carries; the grant has ended
      const [c] = leased(f, budgets, 1) as [SpendGuard];
      expect(await drain(c, 1)).toBe(micros(10));
      await c.close();
      f.clock.set('2027-01-10T00:00:00Z'); // December: 10 of 10 used again
      await f.guard.setLimit('monthly', 20);
      f.clock.set('2027-02-10T00:00:00Z'); // January idle under a base of 20: 5 carries
      const [d] = leased(f, budgets, 1) as [SpendGuard];
      expect(await drain(d, 1)).toBe(micros(25));
      await d.close();
      expect(await f.guard.status('monthly')).toMatchObject({ used: 25, limit: 25, carriedOver: 5 });
    });
    it('admits spends out of a slice without a store step each, and records them when it settles', { timeout }, async () => {
      const budgets = [{ id: 'monthly', limit: 100 }];
      const f = await fixture(options, budgets);
      const log = newStepLog();
      const [guard] = leased(f, budgets, 1, QUIET, (s) => metered(s, log).store) as [SpendGuard];
      for (let i = 0; i < 40; i++) expect((await guard.spend({}, 0.1)).allowed).toBe(true);
      expect(log.steps.filter((s) => s.method === 'charge')).toHaveLength(0);
      const during = await f.guard.status('monthly');
      expect(micros(during.leased)).toBe(micros(5)); // 5 % of 100
      expect(micros(during.used)).toBe(0); // recorded when the guard settles
      await guard.close();
      const after = await f.guard.status('monthly');
      expect(micros(after.used)).toBe(micros(4));
      expect(after).toMatchObject({ leased: 0, reserved: 0 });
    });

    it('refuses only when what is free cannot cover the call, after giving back its own slice', { timeout }, async () => {
      const budgets = [{ id: 'monthly', limit: 10 }];
      const f = await fixture(options, budgets);
      const [guard] = leased(f, budgets, 1) as [SpendGuard];
      expect((await guard.spend({}, 0.2)).allowed).toBe(true); // takes a slice of 0.5
      expect((await guard.spend({}, 9.3)).allowed).toBe(true); // the slice cannot cover it: asks for exactly that
      const denied = await guard.spend({}, 0.6);
      expect(denied).toMatchObject({ allowed: false, reason: 'limit_exceeded', budget: 'monthly', requested: 0.6 });
      expect(micros((denied as { remaining: number }).remaining)).toBe(micros(0.5));
      expect((await guard.spend({}, 0.5)).allowed).toBe(true);
      expect((await guard.spend({}, 0.000001)).allowed).toBe(false);
      await guard.close();
      expect(micros((await f.guard.status('monthly')).used)).toBe(micros(10));
    });

    it('holds the cap across leased guards under concurrency; settled, used is exactly what was admitted', { timeout }, async () => {
      const budgets: BudgetDefinition[] = [
        { id: 'monthly', limit: 20 },
        { id: 'project', per: 'project', limit: 15 },
        { id: 'soft', limit: 1, enforce: 'soft' },
      ];
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.array(fc.integer({ min: 1, max: 900_000 }), { minLength: 10, maxLength: 40 }), { minLength: 2, maxLength: 3 }),
          async (perGuard) => {
            const f = await fixture(options, budgets, perGuard.length);
            const guards = leased(f, budgets, perGuard.length);
            const sums = await Promise.all(
              perGuard.map((amounts, g) =>
                admitted(
                  guards[g] as SpendGuard,
                  { project: 'api' },
                  amounts.map((n) => n / 1e6),
                ),
              ),
            );
            const total = sums.reduce((a, b) => a + b, 0);
            expect(total).toBeLessThanOrEqual(micros(15));
            const during = await f.guard.status('project:api');
            expect(micros(during.used) + micros(during.reserved) + micros(during.leased)).toBeLessThanOrEqual(micros(15));
            for (const g of guards) await g.close();
            for (const name of ['project:api', 'monthly', 'soft']) {
              const s = await f.guard.status(name);
              expect(micros(s.used)).toBe(total);
              expect(s.leased).toBe(0);
            }
            await f.close();
          },
        ),
        { numRuns },
      );
    });

    it('leaves at least 80 % of the limit usable to guards that spend until refused (fraction 0.05)', { timeout }, async () => {
      const budgets = [{ id: 'monthly', limit: 50 }];
      const f = await fixture(options, budgets, 3);
      const guards = leased(f, budgets, 3);
      const sums = await Promise.all(guards.map((g) => drain(g, 0.05)));
      const total = sums.reduce((a, b) => a + b, 0);
      expect(total).toBeLessThanOrEqual(micros(50));
      expect(total).toBeGreaterThanOrEqual(micros(40));
      for (const g of guards) await g.close();
      expect(micros((await f.guard.status('monthly')).used)).toBe(total);
    });

    it('emits each transition and alert exactly once across leased guards', { timeout }, async () => {
      const budgets = [{ id: 'monthly', limit: 20 }];
      const f = await fixture(options, budgets, 3);
      const guards = leased(f, budgets, 3);
      const alerts: string[] = [];
      const transitions: string[] = [];
      for (const g of guards) {
        g.on('alert', (a: AlertEvent) => alerts.push(a.level));
        g.on('transition', (t) => transitions.push(`${t.from}>${t.to}`));
      }
      await Promise.all(guards.map((g) => drain(g, 0.1)));
      for (const g of guards) await g.close();
      const level = (await f.guard.status('monthly')).level;
      const passed = ['info', 'warning', 'critical', 'exhausted'].slice(
        0,
        ['ok', 'info', 'warning', 'critical', 'exhausted'].indexOf(level),
      );
      expect([...alerts].sort()).toEqual([...passed].sort());
      expect(transitions.length).toBeLessThanOrEqual(passed.length);
      expect(new Set(transitions).size).toBe(transitions.length);
    });

    it('admits during an outage only out of the slices it holds, and records them once the store is back', { timeout }, async () => {
      const budgets = [{ id: 'monthly', limit: 10 }];
      const f = await fixture(options, budgets);
      const sw = switchable(f.store);
      const guard = createSpendGuard({ store: sw.adapter, budgets, clock: f.clock.now, lease: { fraction: 0.1, maxHoldMs: 600_000 } });
      expect((await guard.spend({}, 0.1)).allowed).toBe(true); // slice of 1
      sw.down();
      for (let i = 0; i < 9; i++) expect((await guard.spend({}, 0.1)).allowed).toBe(true);
      const err = await guard.spend({}, 0.1).catch((e: unknown) => e);
      expect(isSpendGuardError(err) && err.code).toBe('STORE_UNAVAILABLE');
      sw.up();
      await guard.close();
      expect(micros((await f.guard.status('monthly')).used)).toBe(micros(1));
    });

    it('spends racing close() are either refused or recorded: nothing admitted is left out', { timeout }, async () => {
      const budgets = [{ id: 'monthly', limit: 100 }];
      const f = await fixture(options, budgets);
      const [guard] = leased(f, budgets, 1, { fraction: 0.001, maxHoldMs: 600_000 }) as [SpendGuard];
      // Slices of 0.1: most of these calls wait for a lease step when close() begins.
      const calls = Array.from({ length: 60 }, (_, i) =>
        guard.spend({}, 0.03 + (i % 5) * 0.01).then(
          (r) => (r.allowed ? micros(0.03 + (i % 5) * 0.01) : 0),
          () => 0,
        ),
      );
      const closing = guard.close();
      const admitted = (await Promise.all(calls)).reduce((a, b) => a + b, 0);
      await closing;
      const s = await f.guard.status('monthly');
      expect({ used: micros(s.used), leased: s.leased }).toEqual({ used: admitted, leased: 0 });
    });

    it('decides a refusal by what its own step was granted, not by what a later spend left of it', { timeout }, async () => {
      const budgets = [{ id: 'hard', limit: 1000 }];
      const f = await fixture(options, budgets);
      for (let depth = 0; depth < 6; depth++) {
        const [guard] = leased(f, budgets, 1, { fraction: 0.001, maxHoldMs: 600_000 }) as [SpendGuard];
        const big = guard.spend({}, 5); // its slice of 1 cannot cover it: one step asks for exactly 5
        let gap: Promise<unknown> = Promise.resolve();
        for (let i = 0; i < depth; i++) gap = gap.then(() => {});
        const small = gap.then(() => guard.spend({}, 0.01)); // lands somewhere around that step
        const [rb, rs] = await Promise.all([big, small]);
        expect([depth, rb.allowed, rs.allowed]).toEqual([depth, true, true]);
        await guard.close();
      }
    });

    it('a live guard whose event loop runs no timers still settles every maxHoldMs: its slice never expires', { timeout }, async () => {
      const budgets = [{ id: 'hard', limit: 100 }];
      const f = await fixture(options, budgets);
      const [guard] = leased(f, budgets, 1, { fraction: 0.5, maxHoldMs: 100 }) as [SpendGuard];
      for (let i = 0; i < 40; i++) {
        f.clock.advance(50); // 2 s of the guard's clock without one timer turn
        expect((await guard.spend({}, 0.1)).allowed).toBe(true);
      }
      expect((await f.guard.spend({}, 0.01)).allowed).toBe(true); // a step of another guard
      await guard.close();
      expect(micros((await f.guard.status('hard')).used)).toBe(micros(4.01));
    });

    it('close() during an outage rejects, saying what is not recorded; retried once the store is back, it records all', {
      timeout,
    }, async () => {
      const budgets: BudgetDefinition[] = [
        { id: 'hard', limit: 10 },
        { id: 'soft', limit: 10, enforce: 'soft' },
      ];
      const f = await fixture(options, budgets);
      const sw = switchable(f.store);
      const guard = createSpendGuard({ store: sw.adapter, budgets, clock: f.clock.now, lease: { fraction: 0.1, maxHoldMs: 600_000 } });
      for (let i = 0; i < 4; i++) expect((await guard.spend({}, 0.2)).allowed).toBe(true);
      sw.down();
      const err = await guard.close().catch((e: unknown) => e);
      expect(isSpendGuardError(err) && err.code).toBe('STORE_UNAVAILABLE');
      expect(String((err as Error).message)).toContain('0.8 on soft budgets');
      sw.up();
      await guard.close();
      const [hard, soft] = [await f.guard.status('hard'), await f.guard.status('soft')];
      expect([micros(hard.used), micros(soft.used), hard.leased]).toEqual([micros(0.8), micros(0.8), 0]);
    });

    it("counts a day's leased spends in that day (pacing's todayUsed)", { timeout }, async () => {
      const budgets: BudgetDefinition[] = [{ id: 'monthly', limit: 100, timezone: 'Europe/Berlin' }];
      const f = await fixture(options, budgets);
      f.clock.set('2026-11-10T20:00:00Z');
      const [guard] = leased(f, budgets, 1) as [SpendGuard];
      for (let i = 0; i < 5; i++) await guard.spend({}, 1);
      f.clock.set('2026-11-10T23:30:00Z'); // 00:30 on the 11th in Berlin
      await guard.spend({}, 0.5);
      await guard.close();
      const s = await f.guard.status('monthly');
      expect([micros(s.used), micros(s.pacing.todayUsed)]).toEqual([micros(5.5), micros(0.5)]);
    });

    it('counts soft budgets at settlement, and spends in the period they were admitted in', { timeout }, async () => {
      const budgets: BudgetDefinition[] = [
        { id: 'monthly', limit: 100 },
        { id: 'daily-soft', limit: 1, period: 'day', enforce: 'soft' },
      ];
      const f = await fixture(options, budgets);
      f.clock.set('2026-11-30T23:30:00Z');
      const [guard] = leased(f, budgets, 1) as [SpendGuard];
      const alerts: AlertEvent[] = [];
      guard.on('alert', (a: AlertEvent) => alerts.push(a));
      for (let i = 0; i < 3; i++) await guard.spend({}, 0.5);
      f.clock.set('2026-12-01T00:30:00Z');
      await guard.spend({}, 0.25);
      await guard.close();
      const history = await f.guard.history('monthly', { periods: 2 });
      expect(history.map((h) => micros(h.used))).toEqual([micros(1.5), micros(0.25)]);
      expect(micros((await f.guard.status('daily-soft')).used)).toBe(micros(0.25));
      expect(alerts.some((a) => a.budget === 'daily-soft' && a.level === 'exhausted')).toBe(true);
    });

    it('goes to the store for a keyed spend (counted once) and for reserve, beside its slices', { timeout }, async () => {
      const budgets = [{ id: 'monthly', limit: 10 }];
      const f = await fixture(options, budgets);
      const [guard] = leased(f, budgets, 1, { fraction: 0.5, maxHoldMs: 600_000 }) as [SpendGuard];
      expect((await guard.spend({}, 1)).allowed).toBe(true); // a slice of 5
      const a = await guard.spend({}, 2, { idempotencyKey: 'k' });
      const b = await guard.spend({}, 2, { idempotencyKey: 'k' });
      expect(a.allowed && b.allowed && a.spendId === b.spendId).toBe(true);
      // 2 used + 5 leased: a reservation of 4 fits only once the guard gives its own slice back.
      const r = await guard.reserve({}, 4);
      expect(r.allowed).toBe(true);
      expect((await guard.check({}, 2)).allowed).toBe(true);
      await guard.close();
      const s = await f.guard.status('monthly');
      expect({ used: micros(s.used), reserved: micros(s.reserved), leased: s.leased }).toEqual({
        used: micros(3),
        reserved: micros(4),
        leased: 0,
      });
    });

    it('a lease step sent again counts nothing twice: what a slice spent is sent whole', { timeout }, async () => {
      const budgets = [{ id: 'm', limit: 100 }];
      const f = await fixture(options, budgets);
      const lease = f.store.lease?.bind(f.store);
      if (!lease) throw new Error('the adapter has no lease step');
      const ref: InstanceRef = {
        name: 'm',
        rule: 'm',
        period: '2026-11',
        day: '2026-11-10',
        periodEnd: Date.parse('2026-12-01T00:00:00Z'),
        limit: micros(100),
        limitKeys: ['m'],
        hard: true,
      };
      const step = (spent: number, want: number) =>
        lease({ now: f.clock.now(), expireMs: 60_000, items: [{ id: 'h.0', ref, spent: micros(spent), want: micros(want), min: 0 }] });
      expect((await step(0, 10)).slices).toEqual([micros(10)]);
      const first = await step(3, 10); // records 3, renews the slice
      const again = await step(3, 10); // the same step once more (its answer was lost): records nothing
      expect(first.slices).toEqual([micros(10)]);
      expect(again.totals[0]).toMatchObject({ used: micros(3), usedBefore: micros(3), reserved: micros(10), leased: micros(10) });
      const back = await step(4, 0); // one more spent, the slice given back
      expect(back).toMatchObject({ slices: [0], totals: [{ used: micros(4), reserved: 0 }] });
      const s = await f.guard.status('m');
      expect({ used: micros(s.used), leased: s.leased, reserved: s.reserved }).toEqual({ used: micros(4), leased: 0, reserved: 0 });
      // Slices shrink near the limit: at most half of what is free, at least the call's amount.
      const near = await lease({
        now: f.clock.now(),
        expireMs: 60_000,
        items: [{ id: 'h.1', ref, spent: micros(90), want: micros(10), min: micros(1) }],
      });
      expect(near.slices).toEqual([micros(3)]); // 6 free: half of it
      const exact = await lease({
        now: f.clock.now(),
        expireMs: 60_000,
        items: [{ id: 'h.2', ref, spent: 0, want: micros(5), min: micros(5) }],
      });
      expect(exact.slices).toEqual([0]); // 3 free beside the other slice: less than the 5 asked for
    });

    it("a dead holder's slice charged after its period ended: its crossing is in the feed, in its period", { timeout }, async () => {
      const probe = await options.create();
      const serverClock = probe.capabilities.serverClock;
      await probe.close();
      if (serverClock) return; // the store's own clock decides expiry there: the adapter's tests cover it
      const budgets: BudgetDefinition[] = [{ id: 'monthly', limit: 100 }];
      const f = await fixture(options, budgets);
      f.clock.set('2026-11-30T23:00:00Z');
      const [dead] = leased(f, budgets, 1, { fraction: 0.5, maxHoldMs: 100 }) as [SpendGuard];
      expect((await dead.spend({}, 1)).allowed).toBe(true); // a slice of 50
      (dead as unknown as { leases: { stopTimer(): void } }).leases.stopTimer(); // as if its process died
      f.clock.set('2026-12-01T01:00:00Z'); // November is over; nothing touches it again
      await f.guard.spend({}, 0.5); // any step charges the expired slice
      const events = (await f.guard.events()).events;
      expect(
        events.filter((e) => e.type === 'transition').map((e) => [(e as { period: string }).period, (e as { to: string }).to]),
      ).toContainEqual(['2026-11', 'info']);
      expect(events.filter((e) => e.type === 'alert').map((e) => (e as { level: string }).level)).toEqual(['info']);
    });

    it('charges a slice in full when its holder stops settling, and its crossing alerts once', { timeout }, async () => {
      const budgets: BudgetDefinition[] = [{ id: 'credits', limit: 100, period: 'never' }];
      const f = await fixture(options, budgets);
      const [dead] = leased(f, budgets, 1, { fraction: 0.5, maxHoldMs: 100 }) as [SpendGuard];
      expect((await dead.spend({}, 1)).allowed).toBe(true); // a slice of 50, never settled by its holder
      (dead as unknown as { leases: { stopTimer(): void } }).leases.stopTimer(); // as if its process died
      // 10 × maxHoldMs without a settlement, by the caller's clock and by a store's own.
      f.clock.advance(10 * 100 + 1);
      if (f.store.capabilities.serverClock) await new Promise((r) => setTimeout(r, 10 * 100 + 50));
      const alerts: AlertEvent[] = [];
      f.guard.on('alert', (a: AlertEvent) => alerts.push(a));
      await f.guard.spend({}, 0.5);
      const s = await f.guard.status('credits');
      expect({ used: micros(s.used), leased: s.leased }).toEqual({ used: micros(50.5), leased: 0 });
      // The charge reached 50 % by itself: the next step, whichever guard makes it, sees that crossing.
      expect(alerts.map((a) => a.level)).toEqual(['info']);
      // The holder was alive after all: its late settlement counts nothing twice.
      await dead.close();
      expect(micros((await f.guard.status('credits')).used)).toBe(micros(50.5));
    });
  });
}
