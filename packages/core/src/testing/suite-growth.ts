// Conformance: nothing a store keeps grows without bound (every record is forgotten after its
// retention, not before), and whole-rule operations go through the store in bounded pages.
import fc from 'fast-check';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { StorageAdapter } from '../adapter/spi.js';
import type { AlertEvent, TransitionEvent } from '../events.js';
import { createSpendGuard, type SpendGuard } from '../guard.js';
import { PAGE_SIZE } from '../reads.js';
import { Resolver } from '../resolver.js';
import { type BudgetDefinition, compileRules } from '../rules.js';
import { LEVELS } from '../thresholds.js';
import { type ConformanceOptions, fixture, micros, NOV_2026 } from './harness.js';
import { ManualClock } from './manual-clock.js';
import { metered, newStepLog } from './metered-store.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** The adapter's history retention in these tests: a day, so that simulated days cross it often. */
const HISTORY_MS = DAY;
/** The guard's retention of idempotency keys and settled reservations. */
const RETENTION_MS = HOUR;
const TTL_MS = 10 * MINUTE;
const DAYS = 10;
/** Records a store may keep per key active within the retention windows (totals, listing, queues…). */
const PER_ACTIVE_KEY = 8;

const DAILY: BudgetDefinition[] = [
  { id: 'user', per: 'user', limit: 10, period: 'day' },
  { id: 'total', limit: 1e9, period: 'day' },
];

/** One key's day: a mix of spends, keyed spends and reservations committed, released or abandoned. */
async function act(g: SpendGuard, user: string, k: number): Promise<void> {
  const kind = k % 8;
  if (kind <= 2) {
    const r = await g.reserve({ user }, 2, { ttlMs: TTL_MS });
    if (!r.allowed) throw new Error(`reserve for ${user} refused: ${r.reason}`);
    if (kind === 1) await g.commit(r.reservationId, 1);
    if (kind === 2) await g.release(r.reservationId);
    return; // kind 0: abandoned, it expires
  }
  const r = await g.spend({ user }, 1, kind <= 4 ? { idempotencyKey: `key-${user}` } : undefined);
  if (!r.allowed) throw new Error(`spend for ${user} refused: ${r.reason}`);
}

/** Builds store refs exactly as a guard does, to fill a store with many instances in few steps. */
async function seed(store: StorageAdapter, budgets: BudgetDefinition[], keys: string[], amount: number, now: number): Promise<void> {
  const resolver = new Resolver(compileRules(budgets), { strict: false, required: [] });
  const rule = resolver.ruleOf('user');
  for (let at = 0; at < keys.length; at += PAGE_SIZE) {
    const refs = keys.slice(at, at + PAGE_SIZE).map((k) => resolver.refFor(rule, k, now));
    const out = await store.charge({ kind: 'spend', callId: `seed-${now}-${at}`, instances: refs, amount: micros(amount), now });
    if (!out.ok) throw new Error('seeding refused');
  }
}

function collect(guards: SpendGuard[]) {
  const transitions: TransitionEvent[] = [];
  const alerts: AlertEvent[] = [];
  for (const g of guards) {
    g.on('transition', (t) => transitions.push(t));
    g.on('alert', (a) => alerts.push(a));
  }
  return { transitions, alerts };
}

/** Two guards on one store (two connections where the adapter has them), each through a metered wrapper. */
async function meteredPair(options: ConformanceOptions, budgets: BudgetDefinition[], historyRetentionMs?: number) {
  const store = await options.create(historyRetentionMs === undefined ? undefined : { historyRetentionMs });
  const other = options.connect ? await options.connect(store) : store;
  onTestFinished(async () => {
    for (const s of new Set([store, other])) await s.close();
  });
  const log = newStepLog();
  const ma = metered(store, log, 'a');
  const mb = metered(other, log, 'b');
  const clock = new ManualClock(NOV_2026);
  const a = createSpendGuard({ store: ma.store, budgets, clock: clock.now });
  const b = createSpendGuard({ store: mb.store, budgets, clock: clock.now });
  return { store, clock, a, b, ma, log };
}

export function growthSuite(options: ConformanceOptions): void {
  const footprint = options.footprint;
  if (!footprint) return;
  const timeout = options.timeout ?? 60_000;
  const keys = options.scale?.keys ?? 20_000;
  const instances = options.scale?.instances ?? 5_000;

  describe('growth', () => {
    it(`${keys} distinct keys over ${DAYS} simulated days: every record is forgotten after its retention`, { timeout }, async (ctx) => {
      const start = Date.parse('2026-11-01T00:00:00Z');
      const f = await fixture(options, DAILY, 1, { retentionMs: RETENTION_MS, eventRetentionMs: RETENTION_MS }, new ManualClock(start), {
        historyRetentionMs: HISTORY_MS,
      });
      if (f.store.capabilities.serverClock) ctx.skip();
      const perDay = Math.ceil(keys / DAYS);
      const sizes: number[] = [];
      let k = 0;
      for (let day = 0; day < DAYS; day++) {
        for (let i = 0; i < perDay; i++, k++) {
          f.clock.set(start + day * DAY + Math.floor((i * DAY) / perDay));
          await act(f.guard, `u${k}`, k);
        }
        sizes.push(await footprint(f.store));
      }
      // Totals and listings are kept for today and yesterday (a day's history); keys and reservations an hour.
      const active = (day: number) => perDay * Math.min(day + 1, 2) + 1;
      const over = sizes.flatMap((size, day) => (size > PER_ACTIVE_KEY * active(day) ? [`day ${day}: ${size} records`] : []));
      expect(over).toEqual([]);
      // A steady state: the last day holds no more than the second did.
      expect(sizes.at(-1)).toBeLessThanOrEqual(Math.ceil(1.25 * (sizes[1] as number)));

      // After the last day and every retention, a quiet hour of few keys; what was kept before goes.
      const before = await footprint(f.store);
      const quiet = Math.max(200, Math.ceil(before / 50));
      const end = start + DAYS * DAY + HISTORY_MS + DAY;
      for (let q = 0; q < quiet; q++) {
        f.clock.set(end + Math.floor((q * HOUR) / quiet));
        expect((await f.guard.spend({ user: `q${q}` }, 1)).allowed).toBe(true);
      }
      expect(await footprint(f.store)).toBeLessThanOrEqual(PER_ACTIVE_KEY * (quiet + 1));
      const listed = await f.guard.status();
      expect(listed.length).toBe(quiet + 1);
      expect(listed.filter((s) => s.budget.startsWith('user:u'))).toEqual([]);
      expect((await f.guard.history('user:u0', { periods: DAYS + 5 })).filter((e) => e.used !== 0)).toEqual([]);
    });

    it('keeps keys, settled reservations, totals and listings until their retention', { timeout }, async (ctx) => {
      const f = await fixture(options, DAILY, 1, { retentionMs: RETENTION_MS, eventRetentionMs: RETENTION_MS }, undefined, {
        historyRetentionMs: HISTORY_MS,
      });
      if (f.store.capabilities.serverClock) ctx.skip();
      const g = f.guard;
      const touch = () => g.spend({ user: 'other' }, 0.01); // a writing step: whatever is due may go now
      const first = await g.spend({ user: 'a' }, 1, { idempotencyKey: 'once' });
      const r = await g.reserve({ user: 'a' }, 2, { ttlMs: TTL_MS });
      if (!first.allowed || !r.allowed) throw new Error('refused');
      const committed = await g.commit(r.reservationId, 2);

      f.clock.advance(RETENTION_MS - 1000);
      await touch();
      expect(await g.spend({ user: 'a' }, 1, { idempotencyKey: 'once' })).toMatchObject({ allowed: true, spendId: first.spendId });
      expect(await g.commit(r.reservationId, 2)).toEqual(committed);
      expect((await g.status('user:a')).used).toBe(3);

      f.clock.advance(2000);
      await touch();
      await expect(g.commit(r.reservationId, 2)).rejects.toMatchObject({ code: 'UNKNOWN_RESERVATION' });
      const again = await g.spend({ user: 'a' }, 1, { idempotencyKey: 'once' });
      expect(again).toMatchObject({ allowed: true });
      expect(again.allowed && again.spendId).not.toBe(first.spendId);
      expect((await g.status('user:a')).used).toBe(4);

      // 2026-11-10 ends at midnight UTC; its totals stay readable for HISTORY_MS after that.
      f.clock.set(Date.parse('2026-11-11T00:00:00Z') + HISTORY_MS - MINUTE);
      await touch();
      const day = async () => (await g.history('user:a', { periods: 3 })).find((e) => e.period === '2026-11-10')?.used;
      expect(await day()).toBe(4);
      expect((await g.status()).map((s) => s.budget)).toContain('user:a');
      f.clock.advance(2 * MINUTE);
      await touch();
      expect(await day()).toBe(0);
      expect((await g.status()).map((s) => s.budget)).not.toContain('user:a');
    });

    it('keeps grants until they expire, then forgets them', { timeout }, async (ctx) => {
      const f = await fixture(options, [{ id: 'user', per: 'user', limit: 10 }], 1, {
        retentionMs: RETENTION_MS,
        eventRetentionMs: RETENTION_MS,
      });
      // A store on its own clock keeps other records (answers to lost calls) by real time; its own tests cover grants.
      if (f.store.capabilities.serverClock) ctx.skip();
      const g = f.guard;
      const touch = () => g.spend({ user: 'other' }, 0.000001); // a writing step: whatever is due may go now
      await touch();
      const before = await footprint(f.store);
      const expiresAt = f.clock.now() + HOUR;
      for (let i = 0; i < 100; i++) await g.grant(`user:u${i % 10}`, 0.5, { expiresAt });
      expect(await footprint(f.store)).toBeGreaterThanOrEqual(before + 100);
      expect((await g.status('user:u3')).limit).toBe(15);
      f.clock.advance(HOUR - MINUTE);
      await touch();
      expect((await g.status('user:u3')).grants).toHaveLength(10);
      expect(await footprint(f.store)).toBeGreaterThanOrEqual(before + 100);
      f.clock.advance(2 * MINUTE);
      await touch();
      expect(await footprint(f.store)).toBeLessThanOrEqual(before + 10);
      expect(await g.status('user:u3')).toMatchObject({ limit: 10, grants: [] });
    });

    it(`status() and setLimit(rule) over ${instances} instances: pages of ≤ ${PAGE_SIZE}, each level change once`, {
      timeout,
    }, async () => {
      const budgets: BudgetDefinition[] = [{ id: 'user', per: 'user', limit: 10 }];
      const { store, clock, a, b, ma, log } = await meteredPair(options, budgets);
      const cold = Array.from({ length: instances }, (_, i) => `s${i}`);
      const hot = Array.from({ length: 50 }, (_, i) => `h${i}`);
      await seed(store, budgets, cold, 0.001, clock.now());
      for (const h of hot) expect((await a.spend({ user: h }, 5)).allowed).toBe(true); // 50 %: info

      const all = await a.status();
      expect(all.length).toBe(instances + hot.length);
      expect(all.filter((s) => s.used === 5 && s.level === 'info').length).toBe(hot.length);
      expect(log.largest.read).toBeLessThanOrEqual(PAGE_SIZE);
      expect(log.largest.instancesAsked).toBeLessThanOrEqual(PAGE_SIZE);
      expect(log.largest.instancesReturned).toBeLessThanOrEqual(PAGE_SIZE);
      expect(log.steps.filter((s) => s.method === 'read').length).toBeGreaterThanOrEqual(Math.ceil(all.length / PAGE_SIZE));

      // 5 of 6 is warning; b's concurrent spend of 1 makes it exhausted. Half of the hot instances are
      // spent on just before the page that observes them, half just after.
      const events = collect([a, b]);
      const observed = new Map<string, number>();
      const isHot = (name: string) => name.startsWith('user:h');
      ma.aroundObserve = async (refs, when) => {
        for (const ref of refs) {
          if (when === 'before') observed.set(ref.name, (observed.get(ref.name) ?? 0) + 1);
          if (!isHot(ref.name) || (Number(ref.name.slice('user:h'.length)) % 2 === 0) !== (when === 'before')) continue;
          expect((await b.spend({ user: ref.name.slice('user:'.length) }, 1)).allowed).toBe(true);
        }
      };
      await a.setLimit('user', 6);
      expect(log.largest.observe).toBeLessThanOrEqual(PAGE_SIZE);
      expect(log.largest.instancesReturned).toBeLessThanOrEqual(PAGE_SIZE);
      expect(log.largest.instancesAsked).toBeLessThanOrEqual(PAGE_SIZE);
      const observeSteps = log.steps.flatMap((s, i) => (s.store === 'a' && s.method === 'observe' ? [i] : []));
      expect(observeSteps.length).toBeGreaterThanOrEqual(Math.ceil((instances + hot.length) / PAGE_SIZE));
      const spends = log.steps.flatMap((s, i) => (s.store === 'b' && s.method === 'charge' ? [i] : []));
      expect(spends.length).toBe(hot.length);
      // b's spends ran while a's pages were being observed.
      expect(spends[0]).toBeLessThan(observeSteps.at(-1) as number);
      expect(spends.at(-1)).toBeGreaterThan(observeSteps[0] as number);
      // Every instance observed exactly once.
      expect(observed.size).toBe(instances + hot.length);
      expect([...observed.values()].every((n) => n === 1)).toBe(true);

      // Each hot instance went info → … → exhausted once, whichever step saw the new limit first.
      expect(events.transitions.filter((t) => !isHot(t.budget))).toEqual([]);
      expect(events.alerts.filter((x) => !isHot(x.budget))).toEqual([]);
      for (const h of hot) {
        const name = `user:${h}`;
        // Two guards emit in their own order; the levels only rise here, so rank orders the chain.
        const chain = events.transitions.filter((t) => t.budget === name).sort((x, y) => LEVELS.indexOf(x.to) - LEVELS.indexOf(y.to));
        let at = 'info';
        for (const t of chain) {
          expect([name, t.from]).toEqual([name, at]);
          at = t.to;
        }
        expect([name, at]).toEqual([name, 'exhausted']);
        const levels = events.alerts.filter((x) => x.budget === name).map((x) => x.level);
        expect([name, levels.sort()]).toEqual([name, ['critical', 'exhausted', 'warning']]);
      }
      expect(await a.status('user:h0')).toMatchObject({ used: 6, limit: 6, level: 'exhausted' });
    });

    it('setLimit(rule) observes every current instance once while old ones are being forgotten', { timeout }, async () => {
      const budgets: BudgetDefinition[] = [{ id: 'user', per: 'user', limit: 10, period: 'day' }];
      const { store, clock, a, b, ma } = await meteredPair(options, budgets, HISTORY_MS);
      if (store.capabilities.serverClock) return;
      const old = Array.from({ length: 4000 }, (_, i) => `o${i}`);
      const current = Array.from({ length: 1000 }, (_, i) => `c${i}`);
      await seed(store, budgets, old, 1, clock.now() - 3 * DAY); // listed, but past their history
      await seed(store, budgets, current, 5, clock.now());
      const events = collect([a]);
      // Other writing steps between the pages forget the old instances meanwhile.
      ma.aroundObserve = async (_refs, when) => {
        if (when === 'before') for (let i = 0; i < 20; i++) await b.spend({ user: 'busy' }, 0.01);
      };
      await a.setLimit('user', 6);
      const moved = events.transitions.map((t) => t.budget);
      expect(moved.length).toBe(current.length);
      expect(new Set(moved).size).toBe(current.length);
      expect(new Set(events.transitions.map((t) => `${t.from}→${t.to}`))).toEqual(new Set(['info→warning']));
    });

    it('after every retention, a store holds only what the latest activity left (property)', { timeout }, async () => {
      const opArb = fc.record({
        kind: fc.constantFrom('spend', 'keyed', 'abandon', 'commit', 'release'),
        user: fc.constantFrom('u0', 'u1', 'u2'),
        minutes: fc.integer({ min: 0, max: 36 * 60 }),
      });
      const quietOps = (g: SpendGuard, clock: ManualClock, from: number) => async () => {
        for (let i = 0; i < 5; i++) {
          clock.set(from + i * 2000);
          await g.spend({ user: `u${i % 2}` }, 0.5);
        }
      };
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { maxLength: 30 }), async (ops) => {
          const mk = () =>
            fixture(options, DAILY, 1, { retentionMs: RETENTION_MS, eventRetentionMs: RETENTION_MS }, new ManualClock(NOV_2026), {
              historyRetentionMs: HISTORY_MS,
            });
          const lived = await mk();
          const fresh = await mk();
          try {
            if (lived.store.capabilities.serverClock) return;
            let n = 0;
            for (const op of ops) {
              lived.clock.advance(op.minutes * MINUTE);
              const g = lived.guard;
              if (op.kind === 'spend' || op.kind === 'keyed') {
                await g.spend({ user: op.user }, 0.25, op.kind === 'keyed' ? { idempotencyKey: `k${n++ % 3}` } : undefined);
                continue;
              }
              const r = await g.reserve({ user: op.user }, 0.5, { ttlMs: TTL_MS });
              if (!r.allowed || op.kind === 'abandon') continue;
              if (op.kind === 'commit') await g.commit(r.reservationId, 0.25);
              else await g.release(r.reservationId);
            }
            const after = lived.clock.now() + HISTORY_MS + 2 * DAY + RETENTION_MS + TTL_MS;
            await quietOps(lived.guard, lived.clock, after)();
            await quietOps(fresh.guard, fresh.clock, after)();
            expect(await footprint(lived.store)).toBe(await footprint(fresh.store));
          } finally {
            await lived.close();
            await fresh.close();
          }
        }),
        { numRuns: options.numRuns ?? 60 },
      );
    });
  });
}
