// BudgetStatus: one instance's totals with its level, daily pacing and end-of-period forecast.
import type { InstanceTotals } from './adapter/spi.js';
import type { GrantInfo } from './grants.js';
import { fromMicros, percentUsed } from './money.js';
import { type Period, toIso } from './period.js';
import type { Rule } from './rules.js';
import { type Level, levelFor } from './thresholds.js';

export interface Pacing {
  dailyBudget: number;
  todayUsed: number;
  overPace: boolean;
}

export interface BudgetStatus {
  budget: string;
  rule: string;
  key?: string;
  enforce: 'hard' | 'soft' | 'shadow';
  limit: number;
  softLimit?: number;
  used: number;
  /** Held by reservations. */
  reserved: number;
  /** Held as leased slices by guards created with `lease` (what they admitted is recorded when they settle). */
  leased: number;
  remaining: number;
  percentUsed: number;
  level: Level;
  period: { key: string; start: string; end: string };
  pacing: Pacing;
  forecast: { endOfPeriod: number; exhaustsOn?: string };
  /** Active grants on this instance (their amounts are part of `limit`), earliest expiry first. */
  grants: GrantInfo[];
  /** Budgets with rollover: the part of `limit` carried in from the previous period. */
  carriedOver?: number;
}

const DAY_MS = 86_400_000;
/** A day's spend over 1.5 × the even daily share is "over pace". */
export const OVER_PACE_FACTOR = 1.5;

export function remainingOf(t: InstanceTotals): number {
  return Math.max(0, t.limit - t.used - t.reserved);
}

export function pacingOf(rule: Rule, period: Period, t: InstanceTotals, now: number): Pacing {
  const remaining = remainingOf(t);
  let daysLeft = 1;
  if (rule.period.spec.unit !== 'never') {
    const today = rule.day.at(now);
    daysLeft = Math.max(1, Math.round((period.end - today.start) / DAY_MS));
  }
  const daily = Math.floor(remaining / daysLeft);
  return {
    dailyBudget: fromMicros(daily),
    todayUsed: fromMicros(t.dayUsed),
    overPace: t.dayUsed > daily * OVER_PACE_FACTOR,
  };
}

export function forecastOf(period: Period, t: InstanceTotals, now: number): BudgetStatus['forecast'] {
  const elapsed = now - period.start;
  const length = period.end - period.start;
  if (period.key === 'all' || elapsed <= 0 || t.used === 0) return { endOfPeriod: fromMicros(t.used) };
  const projected = Math.round((t.used * length) / elapsed);
  const forecast: BudgetStatus['forecast'] = { endOfPeriod: fromMicros(projected) };
  if (t.used >= t.limit) forecast.exhaustsOn = toIso(now);
  else if (projected > t.limit) forecast.exhaustsOn = toIso(period.start + Math.floor((t.limit / t.used) * elapsed));
  return forecast;
}

export function statusOf(
  rule: Rule,
  budget: string,
  key: string | undefined,
  softLimit: number | null,
  period: Period,
  t: InstanceTotals,
  now: number,
  grants: GrantInfo[] = [],
): BudgetStatus {
  const status: BudgetStatus = {
    budget,
    rule: rule.id,
    enforce: rule.hard ? 'hard' : rule.shadow ? 'shadow' : 'soft',
    limit: fromMicros(t.limit),
    used: fromMicros(t.used),
    reserved: fromMicros(t.reserved - (t.leased ?? 0)),
    leased: fromMicros(t.leased ?? 0),
    remaining: fromMicros(remainingOf(t)),
    percentUsed: percentUsed(t.used, t.limit),
    level: levelFor(t.used, t.limit, rule.thresholds),
    period: { key: period.key, start: toIso(period.start), end: toIso(period.end) },
    pacing: pacingOf(rule, period, t, now),
    forecast: forecastOf(period, t, now),
    grants,
  };
  if (rule.rollover) status.carriedOver = fromMicros(t.carried ?? 0);
  if (key !== undefined) status.key = key;
  if (softLimit !== null) status.softLimit = fromMicros(softLimit);
  return status;
}
