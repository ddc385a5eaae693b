// Conformance: the durable event feed. Every transition, alert (forecasts too), reset and overage a step causes is in
// the store, written by that step: any guard reads each exactly once, in the store's order, even one
// that never saw it happen; pages join up; facts are forgotten after eventRetentionMs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FeedEvent, SpendGuardEventName } from '../events.js';
import { createSpendGuard, type SpendGuard } from '../guard.js';
import type { BudgetDefinition } from '../rules.js';
import { type ConformanceOptions, fixture } from './harness.js';
import { switchable } from './switchable-store.js';

const FEED_TYPES = ['transition', 'alert', 'reset', 'overage'] as const;

/** An event as a string whatever the order of its fields. */
const canon = (e: object): string => JSON.stringify(e, Object.keys(e).sort());

/** Every event a guard emits that the feed keeps, without its time (the store's clock stamps the feed). */
function record(guard: SpendGuard): string[] {
  const seen: string[] = [];
  for (const type of FEED_TYPES) {
    (guard.on as (t: SpendGuardEventName, l: (p: object) => void) => void)(type, (payload) => {
      const { at: _at, ...rest } = payload as { at?: string };
      seen.push(canon({ type, ...rest }));
    });
  }
  return seen;
}

/** The whole feed, read in pages of `pageSize`, without ids and times. */
async function readAll(guard: SpendGuard, pageSize = 100): Promise<{ events: FeedEvent[]; plain: string[] }> {
  const events: FeedEvent[] = [];
  let since: string | undefined;
  for (let i = 0; i < 10_000; i++) {
    const page = await guard.events(since === undefined ? { limit: pageSize } : { since, limit: pageSize });
    events.push(...page.events);
    if (!page.next) break;
    since = page.next;
  }
  const plain = events.map(({ id: _id, at: _at, ...rest }) => canon(rest));
  return { events, plain };
}

const sorted = (a: string[]) => [...a].sort();

export function feedSuite(options: ConformanceOptions): void {
  const timeout = options.timeout ?? 60_000;

  describe('durable event feed', () => {
    it('holds every event a step caused, in order, readable by a guard that saw none of them', { timeout }, async () => {
      const budgets: BudgetDefinition[] = [
        { id: 'monthly', limit: 100, softLimit: 60 },
        { id: 'model', per: 'model', limit: { '*': 50 } },
      ];
      const f = await fixture(options, budgets, 2);
      const [actor, reader] = f.guards as [SpendGuard, SpendGuard];
      const local = record(actor);
      await actor.spend({ model: 'a' }, 30);
      await actor.spend({ model: 'a' }, 19); // model:a 98 %: warning and critical at once
      const r = await actor.reserve({ model: 'b' }, 5);
      if (!r.allowed) throw new Error('reserve refused');
      await actor.commit(r.reservationId, 12); // an overage of 7
      f.clock.set('2026-12-02T00:00:00Z');
      await actor.spend({ model: 'a' }, 1); // a new period: resets
      const { events, plain } = await readAll(reader);
      expect(plain).toEqual(local.map((e) => e));
      expect(local.length).toBeGreaterThan(8);
      expect(events.map((e) => e.type)).toContain('overage');
      expect(events.map((e) => e.type)).toContain('reset');
      expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
      for (const e of events) expect(Number.isNaN(Date.parse(e.at))).toBe(false);
    });

    it('holds a forecast alert once, as the guard that claimed it emitted it, whichever of two guards did', { timeout }, async () => {
      const f = await fixture(options, [{ id: 'monthly', limit: 100, forecast: true }], 3);
      const [a, b, reader] = f.guards as [SpendGuard, SpendGuard, SpendGuard];
      const seen = [record(a), record(b)];
      f.clock.set('2026-11-10T00:00:00Z'); // 9 of 30 days
      await Promise.all([a.spend({}, 20), b.spend({}, 20)]); // 40: on pace for ~133
      await a.spend({}, 1);
      await b.spend({}, 1);
      const live = seen.flat().filter((e) => e.includes('"forecast"'));
      expect(live).toHaveLength(1);
      const { plain } = await readAll(reader);
      expect(plain.filter((e) => e.includes('"forecast"'))).toEqual(live);
      expect(sorted(plain)).toEqual(sorted(seen.flat())); // the threshold alerts and transitions beside it
    });

    it('pages join up: any page size gives the same events, and reading on from the last id gives nothing new', { timeout }, async () => {
      const budgets: BudgetDefinition[] = [{ id: 'u', per: 'user', limit: 10 }];
      const f = await fixture(options, budgets);
      for (let u = 0; u < 8; u++) for (const amount of [5, 2.5, 1.5, 1]) await f.guard.spend({ user: `u${u}` }, amount);
      const whole = await readAll(f.guard, 1000);
      expect(whole.events.length).toBe(8 * 8); // per user: 4 transitions and 4 alerts
      for (const size of [1, 3, 7]) expect((await readAll(f.guard, size)).plain).toEqual(whole.plain);
      const last = whole.events[whole.events.length - 1] as FeedEvent;
      expect((await f.guard.events({ since: last.id })).events).toEqual([]);
      await f.guard.spend({ user: 'u9' }, 6);
      const more = await f.guard.events({ since: last.id });
      expect(more.events.map((e) => e.type)).toEqual(['transition', 'alert']);
      expect(more.next).toBeUndefined();
    });

    it('under concurrency across guards, every crossing is in the feed exactly once (property)', { timeout }, async () => {
      const budgets: BudgetDefinition[] = [
        { id: 'monthly', limit: 40, softLimit: 30 },
        { id: 'project', per: 'project', limit: { a: 20, b: 20 } },
      ];
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.constantFrom('a', 'b'), fc.integer({ min: 1, max: 3_000_000 })), {
            minLength: 5,
            maxLength: 40,
          }),
          async (calls) => {
            const f = await fixture(options, budgets, 3);
            const locals = f.guards.map(record);
            await Promise.all(calls.map(([g, project, micros]) => (f.guards[g] as SpendGuard).spend({ project }, micros / 1e6)));
            const { plain } = await readAll(f.guards[0] as SpendGuard, 50);
            expect(sorted(plain)).toEqual(sorted(locals.flat()));
            const alerts = plain.filter((e) => e.includes('"type":"alert"'));
            expect(new Set(alerts).size).toBe(alerts.length);
            await f.close();
          },
        ),
        { numRuns: Math.max(3, Math.floor((options.numRuns ?? 60) / 6)) },
      );
    });

    it('refuses a since that is no event id, and a limit out of range, with INVALID_CONFIG', { timeout }, async () => {
      const f = await fixture(options, [{ id: 'm', limit: 1 }]);
      await f.guard.spend({}, 0.6); // something in the feed, so that a garbled cursor is not just an empty read
      const bad = [
        { since: 'nope' },
        { since: 42 as unknown as string },
        { since: 'abc:0' },
        { since: 'x:' },
        { since: '1abc:0' },
        { since: '-:0' },
        { since: '1: 0' },
        { since: '1:0x1' },
        { limit: 0 },
        { limit: 1001 },
        { limit: 1.5 },
        { limit: null as unknown as number },
      ];
      for (const options of bad) {
        await expect(f.guard.events(options)).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
      }
    });

    it("puts an offline reservation's overage into the feed when its commit is replayed", { timeout }, async () => {
      const budgets: BudgetDefinition[] = [{ id: 'm', limit: 100 }];
      const f = await fixture(options, budgets);
      const sw = switchable(f.store);
      const guard = createSpendGuard({ store: sw.adapter, budgets, clock: f.clock.now, onStoreError: 'allow', offlineAllowance: 50 });
      const local = record(guard);
      sw.down();
      const r = await guard.reserve({}, 5);
      if (!r.allowed) throw new Error('refused');
      await guard.commit(r.reservationId, 12);
      sw.up();
      await guard.flush();
      expect((await readAll(f.guard)).plain).toEqual(local);
      expect(local.map((e) => JSON.parse(e).type)).toEqual(['overage']);
      await guard.close();
    });

    it('forgets facts eventRetentionMs after the step', { timeout }, async () => {
      const probe = await options.create();
      const serverClock = probe.capabilities.serverClock;
      await probe.close();
      const retention = serverClock ? 1000 : 60_000;
      const f = await fixture(options, [{ id: 'm', limit: 10 }], 1, { eventRetentionMs: retention });
      await f.guard.spend({}, 6);
      expect((await f.guard.events()).events).toHaveLength(2);
      f.clock.advance(retention + 1);
      if (serverClock) await new Promise((r) => setTimeout(r, retention + 100));
      await f.guard.spend({}, 2); // a step, which forgets what is due, and crosses 75 %
      const left = (await f.guard.events()).events;
      expect(left.map((e) => [e.type, 'level' in e ? e.level : e.type === 'transition' ? e.to : ''])).toEqual([
        ['transition', 'warning'],
        ['alert', 'warning'],
      ]);
    });
  });
}
