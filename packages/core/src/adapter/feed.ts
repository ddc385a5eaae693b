// The durable feed's arithmetic, shared by every JavaScript adapter (the Lua mirrors it): whether a
// step's before/after totals may have caused events, so that the step appends a fact for them.
import { SpendGuardError } from '../errors.js';
import type { FeedFact, InstanceRef, InstanceTotals } from './spi.js';

/** A JavaScript store's fact ids are whole numbers; anything else is a cursor it never wrote. */
export function factNumber(from: string): number {
  if (!/^[1-9][0-9]{0,15}$/.test(from)) {
    throw new SpendGuardError(
      'INVALID_CONFIG',
      `events({ since }) names fact '${from}', which this store never wrote; pass an id that events() returned.`,
    );
  }
  return Number(from);
}

export const DEFAULT_EVENT_RETENTION_MS = 30 * 86_400_000;

/**
 * true when `used` moved across one of the ref's marks, up or down (give or take a micro-unit and a
 * relative 1e-12: a double product may miss the exact crossing point by that much; a fact too many
 * derives no event, a fact too few would lose one), or the limit changed, or the step opened a period.
 */
export function mayCauseEvents(
  ref: InstanceRef,
  t: Pick<InstanceTotals, 'used' | 'usedBefore' | 'limit' | 'limitBefore' | 'previous'>,
): boolean {
  const marks = ref.marks;
  if (!marks) return false;
  if (t.previous || t.limit !== t.limitBefore) return true;
  if (t.used === t.usedBefore) return false;
  const lo = Math.min(t.used, t.usedBefore);
  const hi = Math.max(t.used, t.usedBefore);
  const tolerance = 1 + t.limit * 1e-12;
  for (const f of marks.fractions) {
    const p = f * t.limit;
    if (lo < p + tolerance && hi >= p - tolerance) return true;
  }
  for (const p of marks.amounts) if (lo < p + tolerance && hi >= p - tolerance) return true;
  return false;
}

/** A fact as a step writes it (the store assigns `id`). */
export function factOf(
  ref: InstanceRef,
  t: Pick<InstanceTotals, 'used' | 'usedBefore' | 'limit' | 'limitBefore' | 'previous'>,
  at: number,
  overage?: FeedFact['overage'],
): Omit<FeedFact, 'id'> {
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
