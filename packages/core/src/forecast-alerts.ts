// Forecast alerts (forecast: true): one `alert` with level 'forecast' per instance and period, when the
// linear projection of the period's spend to its end passes the limit. The projection is only trusted
// once a quarter of the period has passed: earlier, one large call would project a year's budget gone.
// A step's totals tell each guard when its own call made the projection pass; which guard alerts is
// decided in the store, by a zero-amount reservation on no budget whose idempotency key names the
// instance and period and which is held until the period ends: the first guard to take it alerts.
import type { InstanceRef, InstanceTotals, StorageAdapter } from './adapter/spi.js';
import type { AlertEvent } from './events.js';
import type { IdSource } from './ids.js';
import { fromMicros, percentText, percentUsed } from './money.js';
import type { Period } from './period.js';
import type { Rule } from './rules.js';

/** The share of a period that must have passed before its projection is trusted. */
export const FORECAST_AFTER = 0.25;

export class ForecastAlerts {
  /** Instance-periods this guard alerted or saw claimed: asked about once per guard. */
  private readonly settled = new Set<string>();

  constructor(
    private readonly store: StorageAdapter,
    private readonly ids: IdSource,
  ) {}

  /** The forecast alerts a step's totals call for, each claimed in the store first (at most one per instance and period). */
  async after(
    rules: ReadonlyArray<Rule | undefined>,
    refs: readonly InstanceRef[],
    totals: ReadonlyArray<InstanceTotals | null>,
    now: number,
  ): Promise<AlertEvent[]> {
    let out: AlertEvent[] | undefined;
    for (let i = 0; i < refs.length; i++) {
      const rule = rules[i];
      const t = totals[i];
      if (rule?.definition.forecast !== true || !t) continue;
      const ref = refs[i] as InstanceRef;
      const period = rule.period.at(now);
      if (period.key !== ref.period || !passes(period, t, now)) continue;
      const key = JSON.stringify([ref.name, ref.period]);
      if (this.settled.has(key)) continue;
      if (!(await this.claim(key, period, now))) continue;
      out ??= [];
      out.push(alertOf(ref, period, t, now));
    }
    return out ?? [];
  }

  /** true when this guard is the first to claim the instance-period; a failing store is asked again next time. */
  private async claim(key: string, period: Period, now: number): Promise<boolean> {
    try {
      const outcome = await this.store.charge({
        kind: 'reserve',
        callId: this.ids.next('rs'), // a reservation, of nothing
        instances: [],
        amount: 0,
        ttlMs: Math.max(1, period.end - now),
        idempotencyKey: `spendguard:forecast:${key}`,
        now,
      });
      if (!outcome.ok) return false;
      this.settled.add(key);
      return !outcome.replayed;
    } catch {
      return false;
    }
  }
}

/** Whether the period's spend, projected linearly to its end, passes the limit (compared exactly). */
function passes(period: Period, t: InstanceTotals, now: number): boolean {
  const length = period.end - period.start;
  const elapsed = now - period.start;
  if (length <= 0 || elapsed <= 0 || elapsed < length * FORECAST_AFTER || t.used >= t.limit || t.used === 0) return false;
  return BigInt(t.used) * BigInt(length) > BigInt(t.limit) * BigInt(elapsed);
}

function alertOf(ref: InstanceRef, period: Period, t: InstanceTotals, now: number): AlertEvent {
  const length = period.end - period.start;
  const elapsed = now - period.start;
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
