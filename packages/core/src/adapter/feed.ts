// The durable feed's arithmetic, shared by every JavaScript adapter (the Lua mirrors it): whether a
// step's before/after totals may have caused events, so that the step appends a fact for them.
import type { FeedFact, InstanceRef, InstanceTotals } from './spi.js';

export const DEFAULT_EVENT_RETENTION_MS = 30 * 86_400_000;

/**
 * true when `used` went up across one of the ref's marks (give or take a micro-unit and a relative
 * 1e-12: a double product may miss the exact crossing point by that much; a fact too many derives no
 * event, a fact too few would lose one), or the limit changed, or the step opened a period.
 */
export function mayCauseEvents(ref: InstanceRef, t: InstanceTotals): boolean {
  const marks = ref.marks;
  if (!marks) return false;
  if (t.previous || t.limit !== t.limitBefore) return true;
  if (t.used <= t.usedBefore) return false;
  const tolerance = 1 + t.limit * 1e-12;
  for (const f of marks.fractions) {
    const p = f * t.limit;
    if (t.usedBefore < p + tolerance && t.used >= p - tolerance) return true;
  }
  for (const p of marks.amounts) if (t.usedBefore < p + tolerance && t.used >= p - tolerance) return true;
  return false;
}

/** A fact as a step writes it (the store assigns `id`). */
export function factOf(ref: InstanceRef, t: InstanceTotals, at: number, overage?: FeedFact['overage']): Omit<FeedFact, 'id'> {
  const fact: Omit<FeedFact, 'id'> = {
    at,
    name: ref.name,
    rule: ref.rule,
    period: ref.period,
    usedBefore: t.usedBefore,
    used: t.used,
    limitBefore: t.limitBefore,
    limit: t.limit,
  };
  if (t.previous) fact.previous = t.previous;
  if (overage) fact.overage = overage;
  return fact;
}
