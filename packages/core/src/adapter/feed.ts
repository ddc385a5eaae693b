// The durable feed's arithmetic, shared by every JavaScript adapter (the Lua mirrors it): whether a
// step's before/after totals may have caused events, so that the step appends a fact for them.
import { SpendGuardError } from '../errors.js';
import type { ChargeRequest, FeedFact, InstanceRef, InstanceTotals, Marks } from './spi.js';

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
 * true when `used` moved across one of the marks, up or down (give or take a micro-unit and a relative
 * 1e-12: a double product may miss the exact crossing point by that much; a fact too many derives no
 * event, a fact too few would lose one), or the limit changed, or the step opened a period. Scalar
 * arguments: it runs for every instance of every step, and allocates nothing.
 */
export function crossesMark(
  marks: Marks,
  usedBefore: number,
  used: number,
  limitBefore: number,
  limit: number,
  opensPeriod: boolean,
): boolean {
  if (opensPeriod || limit !== limitBefore) return true;
  if (used === usedBefore) return false;
  const lo = Math.min(used, usedBefore);
  const hi = Math.max(used, usedBefore);
  const tolerance = 1 + limit * 1e-12;
  const fractions = marks.fractions;
  for (let i = 0; i < fractions.length; i++) {
    const p = (fractions[i] as number) * limit;
    if (lo < p + tolerance && hi >= p - tolerance) return true;
  }
  const amounts = marks.amounts;
  for (let i = 0; i < amounts.length; i++) {
    const p = amounts[i] as number;
    if (lo < p + tolerance && hi >= p - tolerance) return true;
  }
  return false;
}

/** crossesMark for a ref and a step's totals. */
export function mayCauseEvents(
  ref: InstanceRef,
  t: Pick<InstanceTotals, 'used' | 'usedBefore' | 'limit' | 'limitBefore' | 'previous'>,
): boolean {
  return ref.marks !== undefined && crossesMark(ref.marks, t.usedBefore, t.used, t.limitBefore, t.limit, t.previous !== undefined);
}

/**
 * Whether a charge is a forecast claim (checked against no limit): only ever a reservation of nothing. A
 * store refuses anything else marked `forecast`, which would otherwise pass a hard limit unchecked.
 */
export function isForecastClaim(req: Pick<ChargeRequest, 'forecast' | 'kind' | 'amount'>): boolean {
  if (req.forecast !== true) return false;
  if (req.kind !== 'reserve' || req.amount !== 0) {
    throw new SpendGuardError('INVALID_CONFIG', `a forecast claim must be a reservation of 0; got a ${req.kind} of ${req.amount}.`);
  }
  return true;
}

/** What a step notes in its facts beside the totals: an overage it committed, or the forecast it claimed. */
export type FactNote = Pick<FeedFact, 'overage' | 'forecast'>;

/** A fact as a step writes it (the store assigns `id`). */
export function factOf(
  ref: InstanceRef,
  t: Pick<InstanceTotals, 'used' | 'usedBefore' | 'limit' | 'limitBefore' | 'previous'>,
  at: number,
  note?: FactNote,
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
  if (note?.overage) fact.overage = note.overage;
  if (note?.forecast) fact.forecast = note.forecast;
  return fact;
}
