// `spendguard history` as a table: one row per period, oldest first, each with a bar against the
// budget's current limit, coloured by the level that spend would reach under it.
import { type BudgetStatus, DEFAULT_THRESHOLDS, type HistoryEntry, type Level, type Thresholds } from '@spendguard/core';
import { barParts } from './bar.js';
import { type Colors, levelPaint } from './colors.js';
import { amount, instant, percent } from './format.js';
import { table } from './table.js';

export function levelAt(used: number, limit: number, thresholds: Partial<Thresholds> = {}): Level {
  const t = { ...DEFAULT_THRESHOLDS, ...thresholds };
  if (limit <= 0) return used > 0 ? 'exhausted' : 'ok';
  const f = used / limit;
  return f >= t.exhausted ? 'exhausted' : f >= t.critical ? 'critical' : f >= t.warning ? 'warning' : f >= t.info ? 'info' : 'ok';
}

export function historyTable(
  c: Colors,
  entries: HistoryEntry[],
  current: BudgetStatus,
  thresholds: Partial<Thresholds> | undefined,
  width = 30,
): string {
  // Past periods may have spent more than today's limit: the scale stretches so every bar fits.
  const scale = Math.max(current.limit, ...entries.map((e) => e.used));
  const rows = entries.map((e) => {
    const isNow = e.period === current.period.key;
    const level = isNow ? current.level : levelAt(e.used, current.limit, thresholds);
    const paint = levelPaint(c, level);
    const parts = barParts(e.used, 0, scale, width);
    return [
      isNow ? c.bold(e.period) : e.period,
      `${instant(e.start, true)} → ${instant(e.end, true)}`,
      (parts.used === '' ? '' : paint(parts.used)) + (parts.free === '' ? '' : c.dim(parts.free)),
      amount(e.used),
      paint(current.limit > 0 ? percent((e.used / current.limit) * 100) : '–'),
      isNow ? c.dim('current') : '',
    ];
  });
  return table(
    [
      { header: 'PERIOD' },
      { header: 'DATES' },
      { header: 'SPEND' },
      { header: 'USED', align: 'right' },
      { header: 'OF LIMIT', align: 'right' },
      { header: '' },
    ],
    rows,
    c.bold,
  );
}
