// Usage queries over the optional spend ledger: totals by day or by any attribute, in a time range.
import { fromMicros, SpendGuardError } from '@spendguard/core';
import type { Database } from 'better-sqlite3';

export interface UsageQuery {
  /** 'day' (the budget day of each spend) or an attribute name such as 'model' or 'project'. */
  by: string;
  /** Inclusive start (ms or Date). */
  since?: number | Date;
  /** Exclusive end (ms or Date). */
  until?: number | Date;
}

export interface UsageRow {
  /** The day or attribute value; null for spends without that attribute. */
  key: string | null;
  amount: number;
  count: number;
}

const ms = (t: number | Date | undefined, fallback: number) => (t === undefined ? fallback : t instanceof Date ? t.getTime() : t);

export function usageFrom(db: Database, query: UsageQuery): UsageRow[] {
  if (!query || typeof query.by !== 'string' || query.by.length === 0) {
    throw new SpendGuardError('INVALID_CONFIG', "usage() needs { by: 'day' } or { by: '<attribute name>' }.");
  }
  const since = ms(query.since, 0);
  const until = ms(query.until, Number.MAX_SAFE_INTEGER);
  const keyExpr = query.by === 'day' ? 'day' : 'json_extract(attrs, ?)';
  const params: unknown[] = query.by === 'day' ? [] : [`$."${query.by.replace(/"/g, '""')}"`];
  const rows = db
    .prepare(
      `SELECT ${keyExpr} AS key, SUM(amount) AS micros, COUNT(*) AS count FROM spendguard_ledger WHERE at >= ? AND at < ? GROUP BY key ORDER BY key`,
    )
    .all(...params, since, until) as Array<{ key: string | null; micros: number; count: number }>;
  return rows.map((r) => ({ key: r.key, amount: fromMicros(r.micros), count: r.count }));
}
