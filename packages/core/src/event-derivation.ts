// Events from a store step's totals: pure. A reset when the step opened a new period, a transition and
// its alerts when (used, limit) moved across a threshold or the soft limit. The guard only emits them.
import type { InstanceRef, InstanceTotals, SettleOutcome } from './adapter/spi.js';
import type { GuardEvent } from './events.js';
import { type LevelChange, type LevelContext, levelChange, resetTransition } from './level-changes.js';
import { LevelStepper } from './machine.js';
import { fromMicros } from './money.js';
import { keyOfRef } from './resolver.js';
import { configuredLimit, type Rule } from './rules.js';
import { levelFor } from './thresholds.js';

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

  /** Appends to `out` the events of one instance's step, in the order they happened. */
  derive(rule: Rule, ref: InstanceRef, t: InstanceTotals, now: number, out: GuardEvent[]): void {
    if (t.previous) {
      out.push({
        type: 'reset',
        payload: { budget: ref.name, period: ref.period, previous: { key: t.previous.period, used: fromMicros(t.previous.used) } },
      });
      const back = resetTransition(this.context(rule, ref, now), t.previous.used, t.limit);
      if (back) out.push({ type: 'transition', payload: back });
    }
    if (t.used === t.usedBefore && t.limit === t.limitBefore) return;
    // Fast path: most steps move no level and pass no soft limit; build nothing for them.
    if (!rule.softLimit && levelFor(t.usedBefore, t.limitBefore, rule.thresholds) === levelFor(t.used, t.limit, rule.thresholds)) return;
    pushChange(levelChange(this.context(rule, ref, now), t.usedBefore, t.limitBefore, t.used, t.limit), out);
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
