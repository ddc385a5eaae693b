// Events from a store step's totals: pure. A reset when the step opened a new period, a transition and
// its alerts when (used, limit) moved across a threshold or the soft limit. The guard only emits them.
import type { FeedFact, InstanceRef, InstanceTotals, SettleOutcome } from './adapter/spi.js';
import type { GuardEvent } from './events.js';
import { forecastAlert } from './forecast-projection.js';
import { type LevelChange, type LevelContext, levelChange, resetTransition } from './level-changes.js';
import { LevelStepper } from './machine.js';
import { fromMicros } from './money.js';
import { keyOfRef } from './resolver.js';
import { configuredLimit, type Rule } from './rules.js';
import { levelFor } from './thresholds.js';

/** The shared empty event list: never pushed to (derive allocates a list when a step has events). */
export const NO_EVENTS: GuardEvent[] = [];

export class EventDeriver {
  private readonly steppers = new Map<Rule, LevelStepper>();

  /** `ruleOf` finds the rule of a ref the store gave back (a reservation's instances). */
  constructor(private readonly ruleOf: (ref: InstanceRef) => Rule | undefined) {}

  private context(rule: Rule, ref: InstanceRef, now: number): LevelContext {
    let stepper = this.steppers.get(rule);
    if (!stepper) {
      stepper = new LevelStepper(rule.thresholds);
      this.steppers.set(rule, stepper);
    }
    return {
      budget: ref.name,
      period: ref.period,
      thresholds: rule.thresholds,
      stepper,
      softLimit: rule.softLimit ? configuredLimit(rule.softLimit, keyOfRef(ref)) : null,
      at: now,
    };
  }

  /**
   * Appends the events of one instance's step to `out`, in the order they happened, and returns `out`;
   * when `out` is the shared empty list and there are events, a new list is returned instead, so that
   * the many steps that cause no event allocate nothing.
   */
  derive(rule: Rule, ref: InstanceRef, t: InstanceTotals, now: number, out: GuardEvent[]): GuardEvent[] {
    if (!t.previous && t.used === t.usedBefore && t.limit === t.limitBefore) return out;
    // Fast path: most steps move no level and pass no soft limit.
    if (
      !t.previous &&
      !rule.softLimit &&
      levelFor(t.usedBefore, t.limitBefore, rule.thresholds) === levelFor(t.used, t.limit, rule.thresholds)
    ) {
      return out;
    }
    const events = out === NO_EVENTS ? [] : out;
    if (t.previous) {
      events.push({
        type: 'reset',
        payload: { budget: ref.name, period: ref.period, previous: { key: t.previous.period, used: fromMicros(t.previous.used) } },
      });
      const back = resetTransition(this.context(rule, ref, now), t.previous.used, t.previous.limit ?? t.limit, t.limit);
      if (back) events.push({ type: 'transition', payload: back });
    }
    if (t.used !== t.usedBefore || t.limit !== t.limitBefore) {
      pushChange(levelChange(this.context(rule, ref, now), t.usedBefore, t.limitBefore, t.used, t.limit), events);
    }
    return events;
  }

  /** The events of an applied commit (`actual` > 0) or release: level changes, and an overage per instance. */
  deriveSettle(reservationId: string, actual: number, outcome: SettleOutcome & { status: 'applied' }, now: number): GuardEvent[] {
    const events: GuardEvent[] = [];
    outcome.instances.forEach((ref, i) => {
      const t = outcome.totals[i];
      const rule = this.ruleOf(ref);
      if (!t || !rule) return;
      this.derive(rule, ref, t, now, events);
      if (actual > outcome.reserved) {
        events.push({
          type: 'overage',
          payload: { budget: ref.name, reservationId, reserved: fromMicros(outcome.reserved), actual: fromMicros(actual) },
        });
      }
    });
    return events;
  }

  /** The events a feed fact stands for, in the order the step caused them (as the step's own guard emitted them). */
  deriveFact(fact: FeedFact): GuardEvent[] {
    const ref = { name: fact.name, rule: fact.rule, period: fact.period } as InstanceRef;
    const rule = this.ruleOf(ref);
    if (!rule) return [];
    const totals: InstanceTotals = {
      limit: fact.limit,
      limitBefore: fact.limitBefore,
      used: fact.used,
      usedBefore: fact.usedBefore,
      reserved: 0,
      dayUsed: 0,
    };
    if (fact.previous) totals.previous = fact.previous;
    const events = this.derive(rule, ref, totals, fact.at, []);
    if (fact.forecast) {
      const at = fact.forecast.at;
      events.push({ type: 'alert', payload: forecastAlert(ref, rule.period.at(at), fact, at) });
    }
    if (fact.overage) {
      const o = fact.overage;
      events.push({
        type: 'overage',
        payload: { budget: fact.name, reservationId: o.reservationId, reserved: fromMicros(o.reserved), actual: fromMicros(o.actual) },
      });
    }
    return events;
  }

  /** The events of a forced spend the store applied (a journal replay). */
  deriveAll(refs: readonly InstanceRef[], totals: ReadonlyArray<InstanceTotals | null>, now: number): GuardEvent[] {
    const events: GuardEvent[] = [];
    refs.forEach((ref, i) => {
      const t = totals[i];
      const rule = this.ruleOf(ref);
      if (t && rule) this.derive(rule, ref, t, now, events);
    });
    return events;
  }
}

function pushChange(change: LevelChange | undefined, out: GuardEvent[]): void {
  if (!change) return;
  if (change.transition) out.push({ type: 'transition', payload: change.transition });
  for (const alert of change.alerts) out.push({ type: 'alert', payload: alert });
}
