// Calendar periods in a budget's time zone: which period an instant falls in, and its neighbours.
// A cycle is a run of calendar dates; its bounds are the first instants of its first date and of the
// next cycle's first date, so periods tile time whatever the zone's DST rules and whenever one asks.
import { DateTime, IANAZone } from 'luxon';

export type PeriodUnit = 'day' | 'week' | 'month' | 'year' | 'never';

export interface PeriodSpec {
  unit: PeriodUnit;
  timezone: string;
  /** Day of the month a monthly cycle starts on, 1–28. */
  anchorDay: number;
}

export interface Period {
  /** Stable name of the period, sortable within one spec: '2026-11-24', '2026-W48', '2026-11', '2026', 'all'. */
  key: string;
  /** First instant of the period (ms since epoch, inclusive). */
  start: number;
  /** First instant after the period (ms since epoch, exclusive). */
  end: number;
}

export const PERIOD_UNITS: readonly PeriodUnit[] = ['day', 'week', 'month', 'year', 'never'];

const NEVER: Period = { key: 'all', start: 0, end: Date.UTC(9999, 11, 31, 23, 59, 59, 999) };
const MINUTE = 60_000;
const DAY = 86_400_000;

export function isValidTimezone(zone: string): boolean {
  return typeof zone === 'string' && IANAZone.isValidZone(zone);
}

/** Wall-clock time in the zone at an instant, as ms on a UTC time line (offsets are in minutes). */
function wallAt(zone: IANAZone, t: number): number {
  return t + zone.offset(t) * MINUTE;
}

/**
 * The first instant whose wall clock reads `wall` (a local midnight) or later. A repeated midnight
 * counts from its first occurrence; a midnight skipped by a DST jump starts the day at the jump.
 */
function firstInstantAt(zone: IANAZone, wall: number): number {
  // The offsets in force around that wall time (±14 h at most, so a day either side holds them all).
  const a = zone.offset(wall - DAY);
  const c = zone.offset(wall + DAY);
  if (a === c && zone.offset(wall - a * MINUTE) === a) return wall - a * MINUTE; // no change nearby
  const b = zone.offset(wall);
  let first = Number.POSITIVE_INFINITY;
  for (const offset of [a, b, c]) {
    const t = wall - offset * MINUTE;
    if (t < first && zone.offset(t) === offset) first = t;
  }
  if (first !== Number.POSITIVE_INFINITY) return first;
  // The clock jumped over that wall time: the day starts at the jump, the first instant past it.
  let lo = wall - Math.max(a, b, c) * MINUTE; // still before `wall` on the clock
  let hi = wall - Math.min(a, b, c) * MINUTE; // already past it
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (wallAt(zone, mid) >= wall) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The calendar date (a UTC midnight) on which the cycle holding local date `date` begins. */
function cycleStart(spec: PeriodSpec, date: DateTime): DateTime {
  switch (spec.unit) {
    case 'day':
      return date;
    case 'week':
      return date.startOf('week'); // ISO weeks: Monday
    case 'year':
      return date.startOf('year');
    default:
      return (date.day >= spec.anchorDay ? date : date.minus({ months: 1 })).set({ day: spec.anchorDay });
  }
}

function cycleLength(unit: PeriodUnit): { days?: number; weeks?: number; months?: number; years?: number } {
  if (unit === 'day') return { days: 1 };
  if (unit === 'week') return { weeks: 1 };
  if (unit === 'year') return { years: 1 };
  return { months: 1 }; // the anchor day is at most 28, so it exists in every month
}

function keyOf(spec: PeriodSpec, first: DateTime): string {
  switch (spec.unit) {
    case 'day':
      return first.toFormat('yyyy-LL-dd');
    case 'week':
      return first.toFormat("kkkk-'W'WW");
    case 'year':
      return first.toFormat('yyyy');
    default:
      return spec.anchorDay === 1 ? first.toFormat('yyyy-LL') : first.toFormat('yyyy-LL-dd');
  }
}

/** The period that contains `now`. Costs microseconds: callers cache it (see PeriodClock). */
export function periodAt(spec: PeriodSpec, now: number): Period {
  if (spec.unit === 'never') return NEVER;
  const zone = IANAZone.create(spec.timezone); // cached by luxon
  const step = cycleLength(spec.unit);
  // Calendar dates first, as UTC midnights (no DST there); then each bound resolved once.
  const today = DateTime.fromMillis(Math.floor(wallAt(zone, now) / DAY) * DAY, { zone: 'utc' });
  let first = cycleStart(spec, today);
  let start = firstInstantAt(zone, first.toMillis());
  // The clock's date is only a guess: a clock set back across midnight shows yesterday's date for a
  // while after today began (now ≥ end). Step to the cycle whose bounds hold `now`, either way.
  while (now < start) {
    first = first.minus(step);
    start = firstInstantAt(zone, first.toMillis());
  }
  let next = first.plus(step);
  let end = firstInstantAt(zone, next.toMillis());
  while (now >= end) {
    first = next;
    start = end;
    next = first.plus(step);
    end = firstInstantAt(zone, next.toMillis());
  }
  return { key: keyOf(spec, first), start, end };
}

/** The period just before `period`. */
export function previousPeriod(spec: PeriodSpec, period: Period): Period {
  if (spec.unit === 'never') return NEVER;
  return periodAt(spec, period.start - 1);
}

/**
 * The current period of one spec, recomputed only when `now` leaves it,
 * so the hot path does no date arithmetic.
 */
export class PeriodClock {
  private current: Period = { key: '', start: 1, end: 0 };

  constructor(readonly spec: PeriodSpec) {}

  at(now: number): Period {
    const c = this.current;
    if (now >= c.start && now < c.end) return c;
    this.current = periodAt(this.spec, now);
    return this.current;
  }
}

export function toIso(ms: number): string {
  return new Date(ms).toISOString();
}
