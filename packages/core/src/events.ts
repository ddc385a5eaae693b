// The events a guard emits, and how level changes are turned into them.
import type { AlertLevel, Level } from './thresholds.js';

export interface TransitionEvent {
  budget: string;
  from: Level;
  to: Level;
  used: number;
  limit: number;
  period: string;
  at: string;
}

export interface AlertEvent {
  budget: string;
  level: AlertLevel | 'soft_limit';
  used: number;
  limit: number;
  percentUsed: number;
  message: string;
}

export interface DeniedEvent {
  budget: string;
  reason: 'limit_exceeded' | 'no_budget';
  requested: number;
  remaining: number;
  attrs: Record<string, string>;
}

export interface ResetEvent {
  budget: string;
  period: string;
  previous: { key: string; used: number };
}

export interface OverageEvent {
  budget: string;
  reservationId: string;
  reserved: number;
  actual: number;
}

export interface SpendGuardEvents {
  transition: [event: TransitionEvent];
  alert: [event: AlertEvent];
  denied: [event: DeniedEvent];
  reset: [event: ResetEvent];
  overage: [event: OverageEvent];
}

export type SpendGuardEventName = keyof SpendGuardEvents;
