// Forecast alerts (forecast: true): one `alert` with level 'forecast' per instance and period, when the
// linear projection of the period's spend to its end passes the limit (forecast-projection.ts).
// A step's totals tell each guard when its own call made the projection pass; which guard alerts is
// decided in the store, by a reservation of nothing on the instance whose idempotency key names the
// instance and period and which is held until the period ends: the first guard to take it alerts, and
// that step writes the alert into the durable feed (ChargeRequest.forecast).
import type { InstanceRef, InstanceTotals, StorageAdapter } from './adapter/spi.js';
import { RESERVED_KEY_PREFIX } from './call-validation.js';
import type { EventDeriver } from './event-derivation.js';
import type { GuardEvent } from './events.js';
import { forecastAlert, projectionPasses } from './forecast-projection.js';
import type { IdSource } from './ids.js';
import type { Period } from './period.js';
import type { Rule } from './rules.js';

export class ForecastAlerts {
  /** Instance-periods this guard alerted or saw claimed: asked about once per guard. */
  private readonly settled = new Set<string>();
  /**
   * Claims that threw, by instance-period: sent again with the same id, since the store may have taken
   * one (a Redis batch whose answer was lost is left standing, fact and all); a replay that answers with
   * this guard's own id means it was the first.
   */
  private readonly unanswered = new Map<string, string>();

  constructor(
    private readonly store: StorageAdapter,
    private readonly ids: IdSource,
    private readonly deriver: EventDeriver,
  ) {}

  /**
   * The events of the forecast claims a step's totals call for (at most one alert per instance and
   * period), in the order the feed has them: the claim is a step on the instance, so a level change
   * it is the first to see (a limit changed, a dead holder's slice charged) comes first, then the alert.
   */
  async after(
    rules: ReadonlyArray<Rule | undefined>,
    refs: readonly InstanceRef[],
    totals: ReadonlyArray<InstanceTotals | null>,
    now: number,
  ): Promise<GuardEvent[]> {
    let out: GuardEvent[] | undefined;
    for (let i = 0; i < refs.length; i++) {
      const rule = rules[i];
      const t = totals[i];
      if (rule?.definition.forecast !== true || !t) continue;
      const ref = refs[i] as InstanceRef;
      const period = rule.period.at(now);
      if (period.key !== ref.period || !projectionPasses(period, t, now)) continue;
      const key = JSON.stringify([ref.name, ref.period]);
      if (this.settled.has(key)) continue;
      const claimed = await this.claim(key, ref, period, now);
      if (!claimed) continue;
      out ??= [];
      if (!claimed.replayed) this.deriver.derive(rule, ref, claimed.totals, now, out);
      out.push({ type: 'alert', payload: forecastAlert(ref, period, claimed.totals, now) });
    }
    return out ?? [];
  }

  /**
   * The instance's totals as the claiming step left them when this guard is the first to claim the
   * instance-period (the feed's copy of the alert is derived from the same figures); else undefined.
   * A failing store is asked again next time.
   */
  private async claim(
    key: string,
    ref: InstanceRef,
    period: Period,
    now: number,
  ): Promise<{ totals: InstanceTotals; replayed: boolean } | undefined> {
    const callId = this.unanswered.get(key) ?? this.ids.next('rs'); // a reservation, of nothing
    try {
      const outcome = await this.store.charge({
        kind: 'reserve',
        callId,
        instances: [ref],
        amount: 0,
        ttlMs: Math.max(1, period.end - now),
        idempotencyKey: `${RESERVED_KEY_PREFIX}forecast:${key}`,
        forecast: true,
        now,
      });
      this.unanswered.delete(key);
      if (!outcome.ok) return undefined;
      this.settled.add(key);
      const totals = outcome.totals[0];
      if (!totals || (outcome.replayed && outcome.callId !== callId)) return undefined;
      return { totals, replayed: outcome.replayed };
    } catch {
      this.unanswered.set(key, callId);
      return undefined;
    }
  }
}
