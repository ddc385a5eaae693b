import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PeriodClock, type PeriodSpec, periodAt, previousPeriod } from './period.js';

const spec = (unit: PeriodSpec['unit'], timezone = 'UTC', anchorDay = 1): PeriodSpec => ({ unit, timezone, anchorDay });
const iso = (ms: number) => new Date(ms).toISOString();

describe('periods', () => {
  it('month in UTC, December into January', () => {
    const p = periodAt(spec('month'), Date.parse('2026-12-31T23:59:59.999Z'));
    expect([p.key, iso(p.start), iso(p.end)]).toEqual(['2026-12', '2026-12-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z']);
    expect(periodAt(spec('month'), p.end).key).toBe('2027-01');
    expect(previousPeriod(spec('month'), periodAt(spec('month'), Date.parse('2027-01-05T00:00:00Z'))).key).toBe('2026-12');
  });

  it('days across DST are 23 and 25 hours long in Europe/Berlin', () => {
    const spring = periodAt(spec('day', 'Europe/Berlin'), Date.parse('2027-03-28T12:00:00Z'));
    expect((spring.end - spring.start) / 3_600_000).toBe(23);
    const autumn = periodAt(spec('day', 'Europe/Berlin'), Date.parse('2026-10-25T12:00:00Z'));
    expect((autumn.end - autumn.start) / 3_600_000).toBe(25);
  });

  it('a day whose midnight is skipped starts at the jump; a repeated midnight counts from its first occurrence', () => {
    // America/Havana springs forward at 00:00 → 01:00 and falls back at 01:00 → 00:00.
    const spring = periodAt(spec('day', 'America/Havana'), Date.parse('2026-03-08T17:00:00Z'));
    expect([spring.key, iso(spring.start), iso(spring.end)]).toEqual([
      '2026-03-08',
      '2026-03-08T05:00:00.000Z',
      '2026-03-09T04:00:00.000Z',
    ]);
    const autumn = periodAt(spec('day', 'America/Havana'), Date.parse('2026-11-01T17:00:00Z'));
    expect([autumn.key, iso(autumn.start), iso(autumn.end)]).toEqual([
      '2026-11-01',
      '2026-11-01T04:00:00.000Z',
      '2026-11-02T05:00:00.000Z',
    ]);
    expect(periodAt(spec('day', 'America/Havana'), Date.parse('2026-11-01T05:30:00Z')).key).toBe('2026-11-01'); // 00:30 again
  });

  it('half-hour and quarter-hour zones', () => {
    expect(iso(periodAt(spec('day', 'Asia/Kolkata'), Date.parse('2026-11-24T20:00:00Z')).start)).toBe('2026-11-24T18:30:00.000Z');
    expect(iso(periodAt(spec('day', 'Asia/Kathmandu'), Date.parse('2026-11-24T20:00:00Z')).start)).toBe('2026-11-24T18:15:00.000Z');
  });

  it('anchored billing cycles', () => {
    const p = periodAt(spec('month', 'UTC', 28), Date.parse('2026-03-01T00:00:00Z'));
    expect([p.key, iso(p.start), iso(p.end)]).toEqual(['2026-02-28', '2026-02-28T00:00:00.000Z', '2026-03-28T00:00:00.000Z']);
  });

  it('ISO weeks start on Monday', () => {
    const p = periodAt(spec('week'), Date.parse('2027-01-03T12:00:00Z')); // a Sunday
    expect([p.key, iso(p.start)]).toEqual(['2026-W53', '2026-12-28T00:00:00.000Z']);
  });

  it('every instant lies in exactly one period, and consecutive periods tile the timeline', () => {
    const zones = [
      'UTC',
      'Europe/Berlin',
      'America/New_York',
      'Australia/Lord_Howe',
      'Asia/Kolkata',
      'America/Santiago',
      'Pacific/Chatham',
    ];
    fc.assert(
      fc.property(
        fc.constantFrom('day', 'week', 'month', 'year') as fc.Arbitrary<PeriodSpec['unit']>,
        fc.constantFrom(...zones),
        fc.integer({ min: 1, max: 28 }),
        fc.integer({ min: Date.parse('2000-01-01'), max: Date.parse('2060-01-01') }),
        (unit, zone, anchor, now) => {
          const s = spec(unit, zone, unit === 'month' ? anchor : 1);
          const p = periodAt(s, now);
          expect(p.start).toBeLessThanOrEqual(now);
          expect(now).toBeLessThan(p.end);
          expect(periodAt(s, p.end).start).toBe(p.end);
          expect(periodAt(s, p.start).key).toBe(p.key);
          expect(periodAt(s, p.end - 1).key).toBe(p.key);
          expect(previousPeriod(s, p).end).toBe(p.start);
          expect(previousPeriod(s, p).key < p.key).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('PeriodClock recomputes only when now leaves the period', () => {
    const clock = new PeriodClock(spec('day'));
    const a = clock.at(Date.parse('2026-11-24T01:00:00Z'));
    expect(clock.at(Date.parse('2026-11-24T23:00:00Z'))).toBe(a);
    expect(clock.at(Date.parse('2026-11-25T00:00:00Z')).key).toBe('2026-11-25');
  });
});
