// Forecast alerts (forecast: true): one `alert` with level 'forecast' per instance and period, when the
// linear projection of the period's spend to its end passes the limit. The projection is only trusted
// once a quarter of the period has passed: earlier, one large call would project a year's budget gone.
// A step's totals tell each guard when its own call made the projection pass; which guard alerts is
// decided in the store, by a reservation of nothing on the instance whose idempotency key names the
// instance and period and which is held until the period ends: the first guard to take it alerts, and
// that step writes the alert into the durable feed (ChargeRequest.forecast).
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
      const claimed = await this.claim(key, ref, period, now);
      if (!claimed) continue;
      out ??= [];
      out.push(forecastAlert(ref, period, claimed, now));
    }
    return out ?? [];
  }

  /**
   * The instance's totals as the claiming step left them when this guard is the first to claim the
   * instance-period (the feed's copy of the alert is derived from the same figures); else undefined.
   * A failing store is asked again next time.
   */
  private async claim(key: string, ref: InstanceRef, period: Period, now: number): Promise<InstanceTotals | undefined> {
    try {
      const outcome = await this.store.charge({
        kind: 'reserve',
        callId: this.ids.next('rs'), // a reservation, of nothing
        instances: [ref],
        amount: 0,
        ttlMs: Math.max(1, period.end - now),
        idempotencyKey: `spendguard:forecast:${key}`,
        forecast: true,
        now,
      });
      if (!outcome.ok) return undefined;
      this.settled.add(key);
      return outcome.replayed ? undefined : (outcome.totals[0] ?? undefined);
    } catch {
      return undefined;
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
