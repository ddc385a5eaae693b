// The day sub-total of a period record (for pacing's `todayUsed`), kept the same way by every adapter.

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
