// One line per feed event: when, what, which budget, and what it means, coloured by severity.
import type { Level } from '@spendguard/core';
import type { FeedEvent } from '../feed.js';
import { type Colors, levelPaint } from './colors.js';
import { amount, instant, percent, printable } from './format.js';

const LEVEL_NAMES = new Set<string>(['ok', 'info', 'warning', 'critical', 'exhausted']);

export function eventLevel(e: FeedEvent): Level {
  switch (e.type) {
    case 'transition':
      return e.to;
    case 'alert':
      return LEVEL_NAMES.has(e.level) ? (e.level as Level) : 'warning';
    case 'overage':
      return 'critical';
    case 'reset':
      return 'info';
  }
}

export function describeEvent(e: FeedEvent): string {
  switch (e.type) {
    case 'transition':
      return `${e.from} → ${e.to} at ${amount(e.used)} of ${amount(e.limit)} (${e.period})`;
    case 'alert':
      return printable(e.message || `${e.level}: ${percent(e.percentUsed)} used`);
    case 'reset':
      return `new period ${e.period}; ${e.previous.key} ended at ${amount(e.previous.used)}`;
    case 'overage':
      return `reservation ${e.reservationId} reserved ${amount(e.reserved)}, cost ${amount(e.actual)} (+${amount(e.actual - e.reserved)})`;
  }
}

/** Fixed widths rather than a table: lines are printed as they arrive when following. */
export function eventLine(c: Colors, e: FeedEvent): string {
  const paint = levelPaint(c, eventLevel(e));
  // The id last: what `--since` takes to read on from here.
  return `${c.dim(instant(e.at))}  ${paint(e.type.padEnd(10))}  ${c.bold(printable(e.budget).padEnd(20))}  ${describeEvent(e)}  ${c.dim(`[${e.id}]`)}`;
}
