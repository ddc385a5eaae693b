// Conformance: reserve, commit, release, overage, expiry and late commits.
import { describe, expect, it } from 'vitest';
import { isSpendGuardError } from '../errors.js';
import type { OverageEvent } from '../events.js';
import { type ConformanceOptions, fixture } from './harness.js';

const BUDGETS = [
  { id: 'monthly', limit: 100 },
  { id: 'user', per: 'user', limit: 10, period: 'day' as const },
];

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return isSpendGuardError(err) ? err.code : String(err);
  }
}

export function reservationsSuite(options: ConformanceOptions): void {
  const timeout = options.timeout ?? 60_000;

  describe('reservations', () => {
    it('holds the estimate, commits the actual cost and frees the rest', { timeout }, async () => {
      const f = await fixture(options, BUDGETS);
      const r = await f.guard.reserve({ user: 'u1' }, 8);
      expect(r).toMatchObject({ allowed: true, remaining: { monthly: 92, 'user:u1': 2 } });
      if (!r.allowed) return;
      expect(await f.guard.spend({ user: 'u1' }, 3)).toMatchObject({ allowed: false, budget: 'user:u1', remaining: 2 });
      const c = await f.guard.commit(r.reservationId, 5.5);
      expect(c).toEqual({ spendId: expect.any(String), actual: 5.5, reserved: 8, overage: 0, expired: false });
      expect(await f.guard.status('user:u1')).toMatchObject({ used: 5.5, reserved: 0, remaining: 4.5 });
      expect(await f.guard.commit(r.reservationId, 5.5)).toEqual(c);
      expect((await f.guard.status('monthly')).used).toBe(5.5);
    });

    it('records an actual above the reservation in full and reports the overage', { timeout }, async () => {
      const f = await fixture(options, BUDGETS);
      const overages: OverageEvent[] = [];
      f.guard.on('overage', (o) => overages.push(o));
      const r = await f.guard.reserve({ user: 'u1' }, 9);
      if (!r.allowed) throw new Error('reserve refused');
      const c = await f.guard.commit(r.reservationId, 12);
      expect(c).toMatchObject({ actual: 12, reserved: 9, overage: 3 });
      expect(overages.map((o) => o.budget).sort()).toEqual(['monthly', 'user:u1']);
      expect(overages[0]).toMatchObject({ reservationId: r.reservationId, reserved: 9, actual: 12 });
      expect(await f.guard.status('user:u1')).toMatchObject({ used: 12, reserved: 0, remaining: 0, level: 'exhausted' });
    });

    it('release gives the hold back; a released reservation cannot be committed', { timeout }, async () => {
      const f = await fixture(options, BUDGETS);
      const r = await f.guard.reserve({ user: 'u1' }, 10);
      if (!r.allowed) throw new Error('reserve refused');
      await f.guard.release(r.reservationId);
      await f.guard.release(r.reservationId);
      expect(await f.guard.status('user:u1')).toMatchObject({ used: 0, reserved: 0, remaining: 10 });
      expect(await code(f.guard.commit(r.reservationId, 1))).toBe('UNKNOWN_RESERVATION');
      expect(await code(f.guard.commit('rs_nope', 1))).toBe('UNKNOWN_RESERVATION');
      expect(await code(f.guard.release('rs_nope'))).toBe('UNKNOWN_RESERVATION');
      expect((await f.guard.status('monthly')).used).toBe(0);
    });

    it('an expired reservation frees its amount; a late commit still records and says expired', { timeout }, async () => {
      const f = await fixture(options, BUDGETS);
      const r = await f.guard.reserve({ user: 'u1' }, 10, { ttlMs: 100 });
      if (!r.allowed) throw new Error('reserve refused');
      // An adapter that expires by the caller's clock sees the injected clock move; one that keeps
      // its own (a server's) needs real time to pass.
      f.clock.advance(1000);
      if (f.store.capabilities.serverClock) await new Promise((resolve) => setTimeout(resolve, 150));
      expect(await f.guard.status('user:u1')).toMatchObject({ reserved: 0, remaining: 10 });
      expect((await f.guard.spend({ user: 'u1' }, 10)).allowed).toBe(true);
      const c = await f.guard.commit(r.reservationId, 4);
      expect(c).toMatchObject({ actual: 4, reserved: 10, expired: true });
      expect(await f.guard.status('user:u1')).toMatchObject({ used: 14, reserved: 0 });
    });

    it('a reservation keeps its idempotency key while it can still be settled, beyond retentionMs', { timeout }, async () => {
      const f = await fixture(options, BUDGETS, 1, { retentionMs: 60_000 });
      // Keys outlive retentionMs here only by the caller's clock; a store with its own clock is held to
      // the same rule by its own adapter tests.
      if (f.store.capabilities.serverClock) return;
      const first = await f.guard.reserve({ user: 'u1' }, 4, { idempotencyKey: 'r1', ttlMs: 600_000 });
      f.clock.advance(120_000);
      const again = await f.guard.reserve({ user: 'u1' }, 4, { idempotencyKey: 'r1', ttlMs: 600_000 });
      expect(again.allowed && first.allowed && again.reservationId).toBe(first.allowed && first.reservationId);
      expect(await f.guard.status('user:u1')).toMatchObject({ reserved: 4 });
    });

    it('a commit counts in the period its reservation was taken in', { timeout }, async () => {
      const f = await fixture(options, BUDGETS);
      f.clock.set('2026-11-10T23:59:00Z');
      const r = await f.guard.reserve({ user: 'u1' }, 5);
      if (!r.allowed) throw new Error('reserve refused');
      f.clock.set('2026-11-11T00:01:00Z');
      await f.guard.commit(r.reservationId, 4);
      expect(await f.guard.status('user:u1')).toMatchObject({ used: 0, reserved: 0, period: { key: '2026-11-11' } });
      const h = await f.guard.history('user:u1', { periods: 2 });
      expect(h.map((e) => [e.period, e.used])).toEqual([
        ['2026-11-10', 4],
        ['2026-11-11', 0],
      ]);
    });
  });
}
