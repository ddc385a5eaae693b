// Calendar periods in a budget's time zone: which period an instant falls in, and its neighbours.
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

export function isValidTimezone(zone: string): boolean {
  return typeof zone === 'string' && IANAZone.isValidZone(zone);
}

function startOf(spec: PeriodSpec, local: DateTime): DateTime {
  switch (spec.unit) {
    case 'day':
      return local.startOf('day');
    case 'week':
      return local.startOf('week'); // ISO weeks: Monday
    case 'year':
      return local.startOf('year');
    default: {
      const anchored = local.day >= spec.anchorDay ? local : local.minus({ months: 1 });
      return anchored.set({ day: spec.anchorDay }).startOf('day');
    }
  }
}

function keyOf(spec: PeriodSpec, start: DateTime): string {
  switch (spec.unit) {
    case 'day':
      return start.toFormat('yyyy-LL-dd');
    case 'week':
      return start.toFormat("kkkk-'W'WW");
    case 'year':
      return start.toFormat('yyyy');
    default:
      return spec.anchorDay === 1 ? start.toFormat('yyyy-LL') : start.toFormat('yyyy-LL-dd');
  }
}

function unitDuration(unit: PeriodUnit): { days?: number; weeks?: number; months?: number; years?: number } {
  if (unit === 'day') return { days: 1 };
  if (unit === 'week') return { weeks: 1 };
  if (unit === 'year') return { years: 1 };
  return { months: 1 };
}

/** The period that contains `now`. Costs microseconds: callers cache it (see PeriodClock). */
export function periodAt(spec: PeriodSpec, now: number): Period {
  if (spec.unit === 'never') return NEVER;
  const start = startOf(spec, DateTime.fromMillis(now, { zone: spec.timezone }));
  const end = startOf(spec, start.plus(unitDuration(spec.unit)));
  return { key: keyOf(spec, start), start: start.toMillis(), end: end.toMillis() };
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
