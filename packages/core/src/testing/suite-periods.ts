// Conformance: period boundaries in time zones (DST and half-hour zones), resets, history.
import { describe, expect, it } from 'vitest';
import type { ResetEvent, TransitionEvent } from '../events.js';
import { type ConformanceOptions, fixture } from './harness.js';

export function periodsSuite(options: ConformanceOptions): void {
  const timeout = options.timeout ?? 60_000;

  describe('periods', () => {
    it('starts a new total at the month boundary in the budget time zone; the old one stays readable', { timeout }, async () => {
      const f = await fixture(options, [{ id: 'm', limit: 100, timezone: 'America/New_York' }], 2);
      const resets: ResetEvent[] = [];
      const transitions: TransitionEvent[] = [];
      for (const g of f.guards) {
        g.on('reset', (r) => resets.push(r));
        g.on('transition', (t) => transitions.push(t));
      }
      f.clock.set('2026-12-01T04:59:59Z'); // 23:59:59 on Nov 30 in New York
      await f.guards[0]?.spend({}, 95);
      f.clock.set('2026-12-01T05:00:00Z'); // midnight, Dec 1
      expect((await f.guards[1]?.status('m'))?.used).toBe(0);
      await Promise.all([f.guards[0]?.spend({}, 1), f.guards[1]?.spend({}, 2)]);
      const s = await f.guard.status('m');
      expect(s).toMatchObject({
        used: 3,
        period: { key: '2026-12', start: '2026-12-01T05:00:00.000Z', end: '2027-01-01T05:00:00.000Z' },
      });
      expect(resets).toEqual([{ budget: 'm', period: '2026-12', previous: { key: '2026-11', used: 95 } }]);
      expect(transitions.map((t) => [t.from, t.to, t.period])).toEqual([
        ['ok', 'critical', '2026-11'],
        ['critical', 'ok', '2026-12'],
      ]);
      expect((await f.guard.history('m', { periods: 2 })).map((h) => h.used)).toEqual([95, 3]);
    });

    it('handles days across DST changes and in half-hour zones', { timeout }, async () => {
      const f = await fixture(options, [
        { id: 'berlin', limit: 10, period: 'day', timezone: 'Europe/Berlin' },
        { id: 'kolkata', limit: 10, period: 'day', timezone: 'Asia/Kolkata' },
        { id: 'lordhowe', limit: 10, period: 'day', timezone: 'Australia/Lord_Howe' },
      ]);
      // 2027-03-28: Berlin springs forward (a 23-hour day). Lord Howe moves by half an hour in April.
      f.clock.set('2027-03-27T22:59:59Z'); // 23:59:59 CET on Mar 27
      await f.guard.spend({}, 1);
      f.clock.set('2027-03-27T23:00:00Z'); // 00:00 CET on Mar 28
      await f.guard.spend({}, 2);
      const b = await f.guard.status('berlin');
      expect(b).toMatchObject({
        used: 2,
        period: { key: '2027-03-28', start: '2027-03-27T23:00:00.000Z', end: '2027-03-28T22:00:00.000Z' },
      });
      const k = await f.guard.status('kolkata');
      expect(k.period).toEqual({ key: '2027-03-28', start: '2027-03-27T18:30:00.000Z', end: '2027-03-28T18:30:00.000Z' });
      expect(k.used).toBe(3);
      f.clock.set('2027-03-28T18:29:59Z');
      await f.guard.spend({}, 4);
      f.clock.set('2027-03-28T18:30:00Z');
      expect((await f.guard.status('kolkata')).used).toBe(0);
      expect((await f.guard.history('kolkata', { periods: 2 })).map((h) => h.used)).toEqual([7, 0]);
      // Lord Howe leaves daylight time on 2027-04-04 at 02:00 (+11 → +10:30): a 24.5-hour day.
      f.clock.set('2027-04-03T13:00:00Z'); // 00:00 on Apr 4 at +11
      const lh = await f.guard.status('lordhowe');
      expect(lh.period).toEqual({ key: '2027-04-04', start: '2027-04-03T13:00:00.000Z', end: '2027-04-04T13:30:00.000Z' });
    });

    it('weeks start on Monday; anchored months start on their anchor day; never is one lifetime period', { timeout }, async () => {
      const f = await fixture(options, [
        { id: 'w', limit: 10, period: 'week' },
        { id: 'cycle', limit: 10, anchorDay: 15, timezone: 'Europe/London' },
        { id: 'credits', limit: 10, period: 'never' },
        { id: 'y', limit: 10, period: 'year', timezone: 'Pacific/Auckland' },
      ]);
      f.clock.set('2026-12-31T12:00:00Z'); // a Thursday
      await f.guard.spend({}, 1);
      expect((await f.guard.status('w')).period).toEqual({
        key: '2026-W53',
        start: '2026-12-28T00:00:00.000Z',
        end: '2027-01-04T00:00:00.000Z',
      });
      expect((await f.guard.status('cycle')).period).toEqual({
        key: '2026-12-15',
        start: '2026-12-15T00:00:00.000Z',
        end: '2027-01-15T00:00:00.000Z',
      });
      expect((await f.guard.status('y')).period.key).toBe('2027'); // already Jan 1 in Auckland
      f.clock.set('2027-01-15T00:00:00Z');
      await f.guard.spend({}, 2);
      expect((await f.guard.status('cycle')).used).toBe(2);
      expect((await f.guard.status('credits')).used).toBe(3);
      expect((await f.guard.history('credits', { periods: 5 })).map((h) => h.period)).toEqual(['all']);
    });
  });
}
