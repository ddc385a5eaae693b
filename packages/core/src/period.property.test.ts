import fc from 'fast-check';
import { DateTime, IANAZone } from 'luxon';
import { describe, expect, it } from 'vitest';
import { type Period, type PeriodSpec, periodAt, previousPeriod } from './period.js';

const ZONES = [
  'America/Nuuk',
  'America/Santiago',
  'Asia/Tehran',
  'Australia/Lord_Howe',
  'Pacific/Chatham',
  'Europe/Berlin',
  'America/St_Johns',
  'Asia/Kolkata',
  'America/Havana', // DST at midnight: some days have no 00:00
  'Asia/Beirut',
  'America/Scoresbysund',
  'UTC',
];

const HOUR = 3_600_000;
const FROM = Date.parse('2020-01-01T00:00:00Z');
const TO = Date.parse('2030-12-31T00:00:00Z');

const specs = fc.oneof(
  fc.record({
    unit: fc.constantFrom<PeriodSpec['unit']>('day', 'week', 'year'),
    timezone: fc.constantFrom(...ZONES),
    anchorDay: fc.constant(1),
  }),
  fc.record({
    unit: fc.constant<PeriodSpec['unit']>('month'),
    timezone: fc.constantFrom(...ZONES),
    anchorDay: fc.integer({ min: 1, max: 28 }),
  }),
);

const DAY = 24 * HOUR;

/** The instants 2020–2030 at which a zone's UTC offset changes (daily scan, then bisection to the ms). */
function transitionsOf(zone: string): number[] {
  const z = IANAZone.create(zone);
  const found: number[] = [];
  for (let t = FROM; t < TO; t += DAY) {
    if (z.offset(t) === z.offset(t + DAY)) continue;
    let [lo, hi] = [t, t + DAY];
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (z.offset(mid) === z.offset(t)) lo = mid;
      else hi = mid;
    }
    found.push(hi);
  }
  return found;
}
const TRANSITIONS = new Map(ZONES.map((zone) => [zone, transitionsOf(zone)]));
const DST_ZONES = ZONES.filter((zone) => (TRANSITIONS.get(zone) ?? []).length > 0);

/**
 * An instant near a DST change of `zone`: from a few days before to six weeks after it, within 90
 * minutes of the local time of day of the change, so a cycle anchored on the day of the change is
 * asked about from times of day that did not exist (or existed twice) on that day.
 */
const nearTransition = (zone: string) =>
  fc.tuple(fc.nat(), fc.integer({ min: -3, max: 45 }), fc.integer({ min: -90, max: 90 })).map(([i, days, minutes]) => {
    const list = TRANSITIONS.get(zone) ?? [];
    const at = list[i % list.length] as number;
    return { at, t: at + days * DAY + minutes * 60_000 };
  });

/** A monthly cycle anchored on the local day a DST change happens (the day before or after it), and an instant near it. */
const anchoredNearTransitions = fc.constantFrom(...DST_ZONES).chain((zone) =>
  fc.tuple(nearTransition(zone), fc.constantFrom(-1, 0)).map(([{ at, t }, side]): [PeriodSpec, number] => {
    const anchorDay = Math.min(28, DateTime.fromMillis(at + side, { zone }).day);
    return [{ unit: 'month', timezone: zone, anchorDay }, t];
  }),
);

/** Any spec in a zone with DST changes, and an instant near one. */
const anyNearTransitions = fc.constantFrom(...DST_ZONES).chain((zone) =>
  fc.tuple(
    specs.map((s): PeriodSpec => ({ ...s, timezone: zone })),
    nearTransition(zone).map(({ t }) => t),
  ),
);

/** Any instant; half of them within two hours of a turn of the hour, where DST changes happen. */
const instants = fc.oneof(
  fc.integer({ min: FROM, max: TO }),
  fc.tuple(fc.integer({ min: FROM / HOUR, max: TO / HOUR }), fc.integer({ min: -2 * HOUR, max: 2 * HOUR })).map(([h, d]) => h * HOUR + d),
);

const same = (a: Period, b: Period) => expect([a.key, a.start, a.end]).toEqual([b.key, b.start, b.end]);

/** The period of `t` contains it; its first and last instants give it back; the next one starts at its end. */
function assertTiles(spec: PeriodSpec, t: number): void {
  const p = periodAt(spec, t);
  expect(p.start).toBeLessThanOrEqual(t);
  expect(t).toBeLessThan(p.end);
  same(periodAt(spec, p.start), p);
  same(periodAt(spec, p.end - 1), p);
  const next = periodAt(spec, p.end);
  expect(next.start).toBe(p.end);
  expect(next.key > p.key).toBe(true);
  same(previousPeriod(spec, next), p);
  const previous = previousPeriod(spec, p);
  expect(previous.end).toBe(p.start);
  expect(previous.key < p.key).toBe(true);
}

describe('periods tile time in every time zone (properties)', () => {
  it('any unit, zone and instant 2020–2030', () => {
    fc.assert(
      fc.property(fc.oneof(fc.tuple(specs, instants), anyNearTransitions), ([spec, t]) => assertTiles(spec, t)),
      { numRuns: 600 },
    );
  });

  it('billing cycles anchored on the day of a DST change are one period, whenever a guard asks', () => {
    fc.assert(
      fc.property(anchoredNearTransitions, ([spec, t]) => assertTiles(spec, t)),
      { numRuns: 600 },
    );
  });

  it('America/Nuuk, anchorDay 24: a guard that first asks at 23:30 local sees the one cycle every guard sees', () => {
    // Nuuk's clocks jump from 2029-03-24 23:00 (-02) to 2029-03-25 00:00 (-01): 23:30 on the 24th never happens.
    const spec: PeriodSpec = { unit: 'month', timezone: 'America/Nuuk', anchorDay: 24 };
    const at = (iso: string) => periodAt(spec, DateTime.fromISO(iso, { zone: 'America/Nuuk' }).toMillis());
    const cycle = at('2029-03-26T12:00');
    expect([cycle.key, new Date(cycle.start).toISOString(), new Date(cycle.end).toISOString()]).toEqual([
      '2029-03-24',
      '2029-03-24T02:00:00.000Z',
      '2029-04-24T01:00:00.000Z',
    ]);
    for (const iso of ['2029-03-26T23:30', '2029-04-20T23:30', '2029-03-24T00:00', '2029-04-23T23:59:59.999']) same(at(iso), cycle);
  });
});
