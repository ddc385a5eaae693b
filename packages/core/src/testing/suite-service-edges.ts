// Conformance: where the engine meets the service. Listeners cannot break a call, attribute mistakes
// are refused, bad input is never a store failure, and the offline journal is bounded and loses nothing.
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { createSpendGuard, type SpendGuard, type SpendGuardOptions } from '../guard.js';
import type { BudgetDefinition } from '../rules.js';
import type { ConformanceOptions } from './harness.js';
import { ManualClock } from './manual-clock.js';
import { switchable } from './switchable-store.js';

const BUDGETS: BudgetDefinition[] = [
  { id: 'monthly', limit: 100 },
  { id: 'project', per: 'project', limit: { api: 50, '*': 20 } },
];

async function setup(options: ConformanceOptions, extra: Partial<SpendGuardOptions> = {}) {
  const store = await options.create();
  const sw = switchable(store);
  const clock = new ManualClock(Date.parse('2026-11-10T12:00:00Z'));
  const guard = createSpendGuard({ store: sw.adapter, budgets: BUDGETS, clock: clock.now, ...extra });
  onTestFinished(async () => {
    sw.up();
    await store.close();
  });
  return { store, sw, clock, guard };
}

const codeOf = async (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: { code?: string }) => e.code ?? String(e),
  );
const usedOf = async (g: SpendGuard, budget: string) => (await g.status(budget)).used;
const lone = 'a\uD800b';

export function serviceEdgesSuite(options: ConformanceOptions): void {
  const timeout = options.timeout ?? 60_000;

  describe('edges: listeners', () => {
    it('a throwing or rejecting listener changes neither the result nor what was recorded; it is reported as error', {
      timeout,
    }, async () => {
      const { guard } = await setup(options);
      const errors: Array<{ error: unknown; event: string }> = [];
      const seen: string[] = [];
      guard.on('error', (e) => errors.push(e));
      guard.on('alert', () => {
        throw new Error('listener bug');
      });
      guard.on('alert', (a) => seen.push(a.level));
      guard.on('transition', async () => {
        throw new Error('async listener bug');
      });
      const r = await guard.spend({ project: 'api' }, 30); // project:api at 60 %: one transition, one alert
      expect(r.allowed).toBe(true);
      await new Promise((resolve) => setImmediate(resolve));
      expect(seen).toEqual(['info']);
      expect(await usedOf(guard, 'monthly')).toBe(30);
      expect(errors.map((e) => [e.event, (e.error as Error).message]).sort()).toEqual([
        ['alert', 'listener bug'],
        ['transition', 'async listener bug'],
      ]);
    });

    it('without an error listener a failing listener becomes a process warning; off() and once() still work', { timeout }, async () => {
      const { guard } = await setup(options);
      const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
      onTestFinished(() => warn.mockRestore());
      const bad = () => {
        throw new Error('boom');
      };
      guard.on('alert', bad);
      let once = 0;
      guard.once('transition', () => {
        once++;
      });
      await guard.spend({ project: 'api' }, 30);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]?.[0])).toContain("'alert' listener failed: boom");
      guard.off('alert', bad);
      expect(guard.listeners('alert')).toEqual([]);
      await guard.spend({ project: 'x' }, 20); // project:x exhausted: alerts, but no listener fails now
      expect(warn).toHaveBeenCalledTimes(1);
      expect(once).toBe(1);
    });
  });

  describe('edges: attributes and bad input', () => {
    it('strictAttributes refuses a misspelt attribute; requiredAttributes a missing one; nothing is recorded', { timeout }, async () => {
      const { guard, clock } = await setup(options, { strictAttributes: true, requiredAttributes: ['project'] });
      expect(await codeOf(guard.spend({ projcet: 'api' } as Record<string, string>, 1))).toBe('INVALID_ATTRIBUTES');
      expect(await codeOf(guard.spend({}, 1))).toBe('INVALID_ATTRIBUTES');
      expect(await codeOf(guard.reserve({ project: 'api', user: 'u1' }, 1))).toBe('INVALID_ATTRIBUTES');
      expect(await codeOf(guard.check({ projcet: 'api' } as Record<string, string>, 1))).toBe('INVALID_ATTRIBUTES');
      expect((await guard.spend({ project: 'api' }, 1)).allowed).toBe(true);
      expect(await usedOf(guard, 'monthly')).toBe(1);
      expect(() => createSpendGuard({ store: guardStore(guard), budgets: BUDGETS, requiredAttributes: [''] })).toThrow(
        /requiredAttributes/,
      );
      // A required name no budget uses is known all the same: a call can carry it and pass.
      const tagged = createSpendGuard({
        store: guardStore(guard),
        budgets: BUDGETS,
        clock: clock.now,
        strictAttributes: true,
        requiredAttributes: ['tenant'],
      });
      expect((await tagged.spend({ tenant: 't1', project: 'api' }, 1)).allowed).toBe(true);
      expect(await codeOf(tagged.spend({ tenant: 't1', tenat: 'x' } as Record<string, string>, 1))).toBe('INVALID_ATTRIBUTES');
      expect(await usedOf(guard, 'monthly')).toBe(2);
    });

    it('bad input gets its own code, never STORE_UNAVAILABLE, and is never journalled, even with the store down', { timeout }, async () => {
      const { guard, sw } = await setup(options, { onStoreError: 'allow', offlineAllowance: 10 });
      sw.down();
      expect(await codeOf(guard.spend({ project: lone }, 1))).toBe('INVALID_ATTRIBUTES');
      expect(await codeOf(guard.spend({ [lone]: 'x' }, 1))).toBe('INVALID_ATTRIBUTES');
      expect(await codeOf(guard.spend({ project: 'api' }, 1, { idempotencyKey: lone }))).toBe('INVALID_CONFIG');
      const fn = (() => 1) as unknown as string;
      expect(await codeOf(guard.spend({ project: 'api' }, 1, { meta: { f: fn } }))).toBe('INVALID_CONFIG');
      expect(await codeOf(guard.spend({ project: 'api' }, 1, { meta: { n: Number.NaN } }))).toBe('INVALID_CONFIG');
      expect(await codeOf(guard.spend({ project: 'api' }, 1, { meta: { s: lone } }))).toBe('INVALID_CONFIG');
      expect(await codeOf(guard.spend({ project: 'api' }, Number.NaN))).toBe('INVALID_AMOUNT');
      expect(guard.pendingJournal).toBe(0);
      sw.up();
      expect(await usedOf(guard, 'monthly')).toBe(0);
    });
  });

  describe('edges: names that objects already have', () => {
    it('budgets, keys and attributes named __proto__, constructor or toString are plain names', { timeout }, async () => {
      const store = await options.create();
      onTestFinished(() => store.close());
      const guard = createSpendGuard({
        store,
        budgets: [
          { id: '__proto__', limit: 10 },
          { id: 'constructor', per: 'toString', limit: { constructor: 3, '*': 2 } },
          { id: 'hasOwnProperty', where: { ['__proto__']: 'x' }, limit: 1 }, // a computed key is an own property
        ],
      });
      const r = await guard.spend({ toString: 'constructor' }, 1);
      expect(r.allowed && Object.keys(r.remaining).sort()).toEqual(['__proto__', 'constructor:constructor']);
      expect(r.allowed && Object.getOwnPropertyDescriptor(r.remaining, '__proto__')?.value).toBe(9);
      const c = await guard.check({ toString: 'other' }, 1);
      expect(Object.keys(c.pacing).sort()).toEqual(['__proto__', 'constructor:other']);
      expect((await guard.spend({}, 9)).allowed).toBe(true); // no toString attribute: only __proto__, now at 10
      expect((await guard.spend({}, 0.5)).allowed).toBe(false);
      expect((await guard.status('__proto__')).used).toBe(10);
      expect((await guard.status('constructor:constructor')).used).toBe(1);
    });
  });

  describe('edges: the offline journal', () => {
    it("'allow' needs an offlineAllowance and admits at most that much money while the store is down", { timeout }, async () => {
      const store = await options.create();
      onTestFinished(() => store.close());
      expect(() => createSpendGuard({ store, budgets: BUDGETS, onStoreError: 'allow' })).toThrow(/offlineAllowance/);
      const { guard, sw } = await setup(options, { onStoreError: 'allow', offlineAllowance: 10 });
      sw.down();
      expect((await guard.spend({ project: 'api' }, 6)).allowed).toBe(true);
      expect((await guard.reserve({ project: 'api' }, 4)).allowed).toBe(true);
      expect(await codeOf(guard.spend({ project: 'api' }, 0.000001))).toBe('STORE_UNAVAILABLE');
      expect(await codeOf(guard.spend({ project: 'api' }, 1e9))).toBe('STORE_UNAVAILABLE');
      expect(guard.pendingJournal).toBe(2);
      sw.up();
      await guard.flush();
      expect(await usedOf(guard, 'monthly')).toBe(6);
    });

    it('offline reservations expire and free the allowance; a late commit is recorded and says expired', { timeout }, async () => {
      const { guard, sw, clock } = await setup(options, { onStoreError: 'allow', offlineAllowance: 10 });
      sw.down();
      const r = await guard.reserve({ project: 'api' }, 10, { ttlMs: 1000 });
      if (!r.allowed) throw new Error('refused');
      expect(await codeOf(guard.spend({ project: 'api' }, 1))).toBe('STORE_UNAVAILABLE');
      clock.advance(2000);
      expect((await guard.spend({ project: 'api' }, 1)).allowed).toBe(true);
      expect(await guard.commit(r.reservationId, 3)).toMatchObject({ actual: 3, reserved: 10, expired: true });
      sw.up();
      await guard.flush();
      expect(await usedOf(guard, 'project:api')).toBe(4);
    });

    it('close() flushes the journal; when it cannot, it hands the unwritten entries over and never writes them', { timeout }, async () => {
      const { guard, sw, store, clock } = await setup(options, { onStoreError: 'allow', offlineAllowance: 10 });
      sw.down();
      await guard.spend({ project: 'api' }, 2);
      await guard.spend({ project: 'x' }, 3);
      const [err, again] = await Promise.all(
        [guard.close(), guard.close()].map((p) =>
          p.then(
            () => undefined,
            (e: { code: string; unflushed: Array<{ amount: number }> }) => e,
          ),
        ),
      );
      expect(again).toBe(err); // concurrent closes share one
      expect(err?.code).toBe('STORE_UNAVAILABLE');
      expect(err?.unflushed.map((e) => e.amount)).toEqual([2_000_000, 3_000_000]);
      sw.up();
      expect(await codeOf(guard.spend({ project: 'api' }, 1))).toBe('INVALID_CONFIG'); // closed
      const other = options.connect ? await options.connect(store) : store;
      if (other !== store) onTestFinished(() => other.close());
      const reader = createSpendGuard({ store: other, budgets: BUDGETS, clock: clock.now });
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(await usedOf(reader, 'monthly')).toBe(0); // handed over: the caller records them, the guard does not
    });

    it('close() with a reachable store writes the journal first', { timeout }, async () => {
      const { guard, sw, store, clock } = await setup(options, { onStoreError: 'allow', offlineAllowance: 10 });
      sw.down();
      await guard.spend({ project: 'api' }, 2);
      sw.up();
      const other = options.connect ? await options.connect(store) : store;
      if (other !== store) onTestFinished(() => other.close());
      await guard.close();
      // The guard's manual clock: a reader on the real clock would look at another month.
      expect(await usedOf(createSpendGuard({ store: other, budgets: BUDGETS, clock: clock.now }), 'monthly')).toBe(2);
    });

    it('an idempotency key counts once offline; bogus settles and calls racing close() are not journalled', { timeout }, async () => {
      const { guard, sw } = await setup(options, { onStoreError: 'allow', offlineAllowance: 10, journalLimit: 5 });
      sw.down();
      const a = await guard.reserve({ project: 'api' }, 4, { idempotencyKey: 'k' });
      const b = await guard.reserve({ project: 'api' }, 4, { idempotencyKey: 'k' });
      expect(b).toEqual(a);
      const s1 = await guard.spend({ project: 'api' }, 3, { idempotencyKey: 'j' });
      expect(await guard.spend({ project: 'api' }, 3, { idempotencyKey: 'j' })).toEqual(s1);
      expect(await codeOf(guard.release('not-a-reservation'))).toBe('UNKNOWN_RESERVATION');
      if (!a.allowed) throw new Error('refused');
      await guard.commit(a.reservationId, 4);
      expect(guard.pendingJournal).toBe(2);
      sw.up();
      await guard.flush();
      expect(await usedOf(guard, 'monthly')).toBe(7);
    });
  });

  describe('edges: a broken clock and odd listeners', () => {
    it('a clock that returns NaN is INVALID_CONFIG and records nothing; a listener throwing an unprintable value changes nothing', {
      timeout,
    }, async () => {
      let t = Date.parse('2026-11-10T12:00:00Z');
      const store = await options.create();
      onTestFinished(() => store.close());
      const guard = createSpendGuard({ store, budgets: BUDGETS, clock: () => t });
      const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
      onTestFinished(() => warn.mockRestore());
      guard.on('alert', () => {
        throw Object.create(null);
      });
      expect((await guard.spend({ project: 'api' }, 30)).allowed).toBe(true);
      expect(warn).toHaveBeenCalledTimes(1);
      t = Number.NaN;
      expect(await codeOf(guard.spend({ project: 'api' }, 1))).toBe('INVALID_CONFIG');
      t = Date.parse('2026-11-10T12:00:00Z');
      expect(await usedOf(guard, 'monthly')).toBe(30);
    });
  });

  describe('edges: the offline journal, continued', () => {
    it('a replayed commit emits its transitions, alerts and overage', { timeout }, async () => {
      const { guard, sw } = await setup(options, { onStoreError: 'allow', offlineAllowance: 100 });
      const events: string[] = [];
      guard.on('alert', (a) => events.push(`alert ${a.budget} ${a.level}`));
      guard.on('overage', (o) => events.push(`overage ${o.budget} ${o.actual}`));
      const r = await guard.reserve({ project: 'api' }, 10);
      if (!r.allowed) throw new Error('refused');
      sw.down();
      await guard.commit(r.reservationId, 30);
      expect(events).toEqual([]);
      sw.up();
      await guard.flush();
      expect(events.sort()).toEqual(['alert project:api info', 'overage monthly 30', 'overage project:api 30']);
      expect(await usedOf(guard, 'project:api')).toBe(30);
    });
  });
}

/** The store a guard was made with (the tests reuse it for a second guard). */
function guardStore(guard: SpendGuard) {
  return (guard as unknown as { store: SpendGuardOptions['store'] }).store;
}
