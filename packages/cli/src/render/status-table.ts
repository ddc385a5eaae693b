// `spendguard status` as a table: one row per budget instance with its bar coloured by level, used /
// limit, what is held, today's pace against the even daily share, and the end-of-period forecast.
import { type BudgetStatus, fromMicros, toMicros } from '@spendguard/core';
import { barParts } from './bar.js';
import { type Colors, levelPaint } from './colors.js';
import { amount, instant, percent, printable } from './format.js';
import { type Column, table } from './table.js';

export const BAR_WIDTH = 24;

export function statusBar(c: Colors, s: BudgetStatus, width = BAR_WIDTH): string {
  const parts = barParts(s.used, s.reserved + s.leased, s.limit, width);
  const paint = levelPaint(c, s.level);
  // Empty parts stay unpainted: a colour code around nothing is noise in a pipe that keeps colour.
  const part = (text: string, p: (t: string) => string) => (text === '' ? '' : p(text));
  return part(parts.used, paint) + part(parts.held, (t) => paint(c.dim(t))) + part(parts.free, c.dim);
}

function pacing(c: Colors, s: BudgetStatus): string {
  const text = `${amount(s.pacing.todayUsed)} / ${amount(s.pacing.dailyBudget)}`;
  return s.pacing.overPace ? `${c.yellow(text)} ${c.yellow('▲')}` : `${text}  `;
}

function forecast(c: Colors, s: BudgetStatus): string {
  const end = amount(s.forecast.endOfPeriod);
  if (s.forecast.exhaustsOn === undefined) return end;
  return `${end} ${c.redBright(`out ${instant(s.forecast.exhaustsOn, true)}`)}`;
}

/** What raises the limit above its base: active grants and what rollover carried in ('' for none). */
export function raised(s: BudgetStatus): string {
  const parts: string[] = [];
  const granted = fromMicros(s.grants.reduce((sum, g) => sum + toMicros(g.amount), 0));
  if (granted > 0) parts.push(`+${amount(granted)} granted`);
  if (s.carriedOver) parts.push(`+${amount(s.carriedOver)} carried`);
  return parts.join(' · ');
}

export function statusTable(c: Colors, statuses: BudgetStatus[]): string {
  const leased = statuses.some((s) => s.leased > 0);
  const raises = statuses.some((s) => raised(s) !== '');
  const columns: Column[] = [
    { header: 'BUDGET' },
    { header: 'LEVEL' },
    { header: 'USAGE' },
    { header: '%', align: 'right' },
    { header: 'USED / LIMIT', align: 'right' },
    ...(raises ? [{ header: 'RAISED BY' } as const] : []),
    { header: 'RESERVED', align: 'right' },
    ...(leased ? [{ header: 'LEASED', align: 'right' } as const] : []),
    { header: 'TODAY / DAILY', align: 'right' },
    { header: 'FORECAST', align: 'right' },
    { header: 'PERIOD ENDS (UTC)' },
  ];
  const rows = statuses.map((s) => {
    const paint = levelPaint(c, s.level);
    return [
      s.enforce === 'hard' ? printable(s.budget) : `${printable(s.budget)} ${c.dim(s.enforce)}`,
      paint(s.level),
      statusBar(c, s),
      paint(percent(s.percentUsed)),
      `${amount(s.used)} / ${amount(s.limit)}`,
      ...(raises ? [c.dim(raised(s))] : []),
      amount(s.reserved),
      ...(leased ? [amount(s.leased)] : []),
      pacing(c, s),
      forecast(c, s),
      s.period.key === 'all' ? c.dim('never') : instant(s.period.end),
    ];
  });
  return table(columns, rows, c.bold);
}

/** One line under the table: how many budgets, and how many at each level above ok. */
export function statusSummary(c: Colors, statuses: BudgetStatus[]): string {
  const counts = new Map<BudgetStatus['level'], number>();
  for (const s of statuses) counts.set(s.level, (counts.get(s.level) ?? 0) + 1);
  const parts = [`${statuses.length} budget${statuses.length === 1 ? '' : 's'}`];
  for (const level of ['info', 'warning', 'critical', 'exhausted'] as const) {
    const n = counts.get(level);
    if (n) parts.push(levelPaint(c, level)(`${n} ${level}`));
  }
  return c.dim(parts.join(' · '));
}
