// Shadow budgets (enforce: 'shadow'): counted like soft budgets, never refusing, and checked like hard
// ones after the step, so that a team can watch what a new cap would refuse before it enforces it.
import type { ChargeOutcome, InstanceRef, InstanceTotals } from './adapter/spi.js';
import type { DeniedEvent } from './events.js';
import { fromMicros } from './money.js';
import type { Rule } from './rules.js';

/**
 * The refusals a hard budget in place of each shadow budget would have made of a charge that was
 * applied: its totals after the step hold the call, so it would have passed the limit when they do
 * (or when the instance has no limit at all).
 */
export function shadowDenials(
  rules: readonly Rule[],
  refs: readonly InstanceRef[],
  outcome: ChargeOutcome & { ok: true },
  micros: number,
  requested: number,
  attrs: Record<string, string>,
): readonly DeniedEvent[] {
  let out: DeniedEvent[] | undefined;
  for (let i = 0; i < refs.length; i++) {
    if (!(rules[i] as Rule).shadow) continue;
    const t = outcome.totals[i] as InstanceTotals | null | undefined;
    const held = t ? t.used + t.reserved : 0;
    if (t && held <= t.limit) continue;
    out ??= [];
    out.push({
      budget: (refs[i] as InstanceRef).name,
      reason: t ? 'limit_exceeded' : 'no_budget',
      requested,
      remaining: t ? fromMicros(Math.max(0, t.limit - (held - micros))) : 0,
      attrs: { ...attrs },
      shadow: true,
    });
  }
  return out ?? NONE;
}

const NONE: readonly DeniedEvent[] = [];
