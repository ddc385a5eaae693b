// A period's spend projected linearly to its end: when it passes the limit, and the forecast alert that
// says so. Pure: the guard checks it after its steps, and the feed derives the alert from the claim's fact.
import type { InstanceRef, InstanceTotals } from './adapter/spi.js';
import type { AlertEvent } from './events.js';
import { fromMicros, percentText, percentUsed } from './money.js';
import type { Period } from './period.js';

/** The share of a period that must have passed before its projection is trusted. */
export const FORECAST_AFTER = 0.25;

/** Whether the period's spend, projected linearly to its end, passes the limit (compared exactly). */
export function projectionPasses(period: Period, t: Pick<InstanceTotals, 'used' | 'limit'>, now: number): boolean {
  const length = period.end - period.start;
  const elapsed = now - period.start;
  if (length <= 0 || elapsed <= 0 || elapsed < length * FORECAST_AFTER || t.used >= t.limit || t.used === 0) return false;
  return BigInt(t.used) * BigInt(length) > BigInt(t.limit) * BigInt(elapsed);
}

/** The forecast alert of an instance-period at `now` (live, or derived from the fact the claim wrote). */
export function forecastAlert(
  ref: Pick<InstanceRef, 'name' | 'period'>,
  period: Period,
  t: Pick<InstanceTotals, 'used' | 'limit'>,
  now: number,
): AlertEvent {
  const length = period.end - period.start;
  const elapsed = Math.max(1, now - period.start); // a fact on another clock may stand at the very start
  // Micro-units: the projection is a whole number of them, rounded up (a forecast, not a sum).
  const projected = Number((BigInt(t.used) * BigInt(length) + BigInt(elapsed) - 1n) / BigInt(elapsed));
  return {
    budget: ref.name,
    level: 'forecast',
    used: fromMicros(t.used),
    limit: fromMicros(t.limit),
    percentUsed: percentUsed(t.used, t.limit),
    message: `Budget '${ref.name}' is on pace to pass its limit in period ${ref.period}: ${fromMicros(t.used)} of ${fromMicros(t.limit)} used with ${percentText(elapsed, length, 0)}% of the period gone, about ${fromMicros(projected)} by its end.`,
  };
}
