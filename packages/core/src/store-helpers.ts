// Arithmetic every JavaScript adapter does the same way; the Redis scripts mirror it in Lua.
import type { InstanceRef } from './store.js';

/** A ref's limit: the first run-time override found along its limitKeys, else its configured limit. */
export function effectiveLimit(ref: InstanceRef, override: (name: string) => number | undefined): number | null {
  for (const name of ref.limitKeys) {
    const value = override(name);
    if (value !== undefined) return value;
  }
  return ref.limit;
}

/**
 * Adds `used` on `day` to a record's day sub-total, in place (it runs on every spend): added on the
 * same day, restarted on a later day, left alone for an earlier day (a late commit) or when nothing is used.
 */
export function addToDay(record: { day: string; dayUsed: number }, day: string, used: number): void {
  if (used <= 0 || day < record.day) return;
  if (day === record.day) record.dayUsed += used;
  else {
    record.day = day;
    record.dayUsed = used;
  }
}
