// The events a guard emits and their payloads.
import type { ListenerErrorEvent } from './safe-emitter.js';
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
  /** 'forecast': the period's spend, projected to its end, passes the limit (budgets with forecast: true). */
  level: AlertLevel | 'soft_limit' | 'forecast';
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
  /** A shadow budget's would-be refusal: the call was admitted and counted all the same. */
  shadow?: true;
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
  /** A listener of another event threw or rejected; the call that emitted was not affected. */
  error: [event: ListenerErrorEvent];
}

export type SpendGuardEventName = keyof SpendGuardEvents;

/** One event to emit, as derived from a store step. */
export type GuardEvent = { [K in SpendGuardEventName]: { type: K; payload: SpendGuardEvents[K][0] } }[SpendGuardEventName];

/** The kinds of event the durable feed keeps (`denied` and `error` are not stored). */
export type FeedEventType = 'transition' | 'alert' | 'reset' | 'overage';

/** One event of the durable feed: its id (pass the last one read as `since`), its kind and time, and its payload. */
export type FeedEvent = {
  [K in FeedEventType]: { id: string; type: K; at: string } & Omit<SpendGuardEvents[K][0], 'at'>;
}[FeedEventType];

export interface EventsPage {
  events: FeedEvent[];
  /** Present when more events may follow: pass it as `since`. */
  next?: string;
}
