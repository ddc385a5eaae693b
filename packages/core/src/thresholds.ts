// Budget levels and the one threshold function that both the hot path and the machine's guards use.

export type Level = 'ok' | 'info' | 'warning' | 'critical' | 'exhausted';
export type AlertLevel = Exclude<Level, 'ok'>;

export const LEVELS: readonly Level[] = ['ok', 'info', 'warning', 'critical', 'exhausted'];
export const ALERT_LEVELS: readonly AlertLevel[] = ['info', 'warning', 'critical', 'exhausted'];

export interface Thresholds {
  info: number;
  warning: number;
  critical: number;
  exhausted: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = { info: 0.5, warning: 0.75, critical: 0.9, exhausted: 1 };

/** The level of a budget that has used `used` of `limit` (both micro-units). A zero limit is exhausted. */
export function levelFor(used: number, limit: number, t: Thresholds): Level {
  if (limit <= 0 || used >= limit * t.exhausted) return 'exhausted';
  if (used >= limit * t.critical) return 'critical';
  if (used >= limit * t.warning) return 'warning';
  if (used >= limit * t.info) return 'info';
  return 'ok';
}

export function levelRank(level: Level): number {
  return LEVELS.indexOf(level);
}
