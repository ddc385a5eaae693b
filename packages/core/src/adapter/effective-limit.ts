// The parts of an instance's effective limit beside its base limit (override or configured): what
// rollover carries in, and the grants still running. Every store adds them the same way (the Lua and
// the PL/pgSQL mirror these two functions); the conformance suite holds them to it.
import type { Grant } from './spi.js';

/**
 * What rollover carries into a period: min(max, max(0, base − used before)). `previousUsed` is the
 * previous period's `used`, 0 when it had no totals but the instance was active earlier, and null when
 * the instance has no earlier activity at all (its first period: nothing carries).
 */
export function carriedIn(max: number, base: number, previousUsed: number | null): number {
  if (previousUsed === null) return 0;
  return Math.min(max, Math.max(0, base - previousUsed));
}

/** The sum of the grants that still count at `now` (those expiring after it). */
export function activeGrants(grants: readonly Grant[] | undefined, now: number): number {
  if (!grants) return 0;
  let sum = 0;
  for (const g of grants) if (g.expiresAt > now) sum += g.amount;
  return sum;
}
