// Turns one instance's before/after totals into its transition and alerts, via the level machine.
import type { AlertEvent, TransitionEvent } from './events.js';
import type { LevelStepper } from './machine.js';
import { fromMicros, percentText, percentUsed } from './money.js';
import { ALERT_LEVELS, type AlertLevel, crossingPoints, type Level, levelFor, levelRank, type Thresholds } from './thresholds.js';

export interface LevelChange {
  transition?: TransitionEvent;
  alerts: AlertEvent[];
}

export interface LevelContext {
  budget: string;
  period: string;
  thresholds: Thresholds;
  stepper: LevelStepper;
  softLimit: number | null;
  at: number;
}

function alert(ctx: LevelContext, level: AlertEvent['level'], used: number, limit: number): AlertEvent {
  const what = level === 'soft_limit' ? `passed its soft limit of ${fromMicros(ctx.softLimit ?? 0)}` : `reached ${level}`;
  return {
    budget: ctx.budget,
    level,
    used: fromMicros(used),
    limit: fromMicros(limit),
    percentUsed: percentUsed(used, limit),
    message: `Budget '${ctx.budget}' ${what}: ${percentText(used, limit)}% used (${fromMicros(used)} of ${fromMicros(limit)}) in period ${ctx.period}.`,
  };
}

/**
 * The level change from (usedBefore, limitBefore) to (usedAfter, limitAfter). The cheap threshold
 * function says whether the level moved; only then is the machine stepped to decide where to.
 * Alerts: one per level passed upwards, lowest first, and the soft limit in its place among them.
 */
export function levelChange(
  ctx: LevelContext,
  usedBefore: number,
  limitBefore: number,
  usedAfter: number,
  limitAfter: number,
): LevelChange | undefined {
  const from = levelFor(usedBefore, limitBefore, ctx.thresholds);
  const moved = from !== levelFor(usedAfter, limitAfter, ctx.thresholds);
  const soft = ctx.softLimit;
  const passedSoft = soft !== null && usedBefore < soft && usedAfter >= soft;
  if (!moved && !passedSoft) return undefined;

  const change: LevelChange = { alerts: [] };
  let to: Level = from;
  if (moved) {
    to = ctx.stepper.next(from, { type: 'USAGE', used: usedAfter, limit: limitAfter });
    change.transition = {
      budget: ctx.budget,
      from,
      to,
      used: fromMicros(usedAfter),
      limit: fromMicros(limitAfter),
      period: ctx.period,
      at: new Date(ctx.at).toISOString(),
    };
  }
  // Ordered by exact crossing points (integers); the sort is stable, so at a tie the level comes first.
  const ranked: Array<{ at: number; alert: AlertEvent }> = [];
  const points = crossingPoints(limitAfter, ctx.thresholds);
  for (let r = levelRank(from) + 1; r <= levelRank(to); r++) {
    const level = ALERT_LEVELS[r - 1] as AlertLevel;
    ranked.push({ at: points[level], alert: alert(ctx, level, usedAfter, limitAfter) });
  }
  if (passedSoft) ranked.push({ at: soft, alert: alert(ctx, 'soft_limit', usedAfter, limitAfter) });
  ranked.sort((a, b) => a.at - b.at);
  change.alerts = ranked.map((r) => r.alert);
  return change;
}

/**
 * The transition of a reset: from the level the previous period ended at (judged under its own limit),
 * back to ok under the new period's `limit`.
 */
export function resetTransition(
  ctx: LevelContext,
  previousUsed: number,
  previousLimit: number,
  limit: number,
): TransitionEvent | undefined {
  const from = levelFor(previousUsed, previousLimit, ctx.thresholds);
  if (from === 'ok') return undefined;
  const to = ctx.stepper.next(from, { type: 'RESET' });
  return { budget: ctx.budget, from, to, used: 0, limit: fromMicros(limit), period: ctx.period, at: new Date(ctx.at).toISOString() };
}
