// The durable event feed as this package reads it: its types, declared here so the CLI builds against a
// core that may not have `guard.events()` yet, and the check that says so plainly when it is missing.
import type { AlertEvent, OverageEvent, ResetEvent, SpendGuard, TransitionEvent } from '@spendguard/core';

type Stored<T extends string, P> = { id: string; type: T; at: string } & Omit<P, 'at'>;

/** One event of the feed: its id (a cursor), its type and when it happened, with the event's payload. */
export type FeedEvent =
  | Stored<'transition', TransitionEvent>
  | Stored<'alert', AlertEvent>
  | Stored<'reset', ResetEvent>
  | Stored<'overage', OverageEvent>;

export interface EventsPage {
  events: FeedEvent[];
  /** Present when more may follow: pass it as `since`. */
  next?: string;
}

export interface EventsQuery {
  /** The id of the last event already read. */
  since?: string;
  /** At most this many (default 100). */
  limit?: number;
}

export type FeedGuard = SpendGuard & { events(query?: EventsQuery): Promise<EventsPage> };

export function hasFeed(guard: SpendGuard): guard is FeedGuard {
  return typeof (guard as unknown as { events?: unknown }).events === 'function';
}

export class NoFeedError extends Error {
  override readonly name = 'NoFeedError';
  constructor() {
    super('this @spendguard/core has no durable event feed (guard.events); upgrade @spendguard/core to a version that has it.');
  }
}

export function feedOf(guard: SpendGuard): FeedGuard {
  if (!hasFeed(guard)) throw new NoFeedError();
  return guard;
}

/** The id of the last event of a page, or the cursor it was read after. */
export function lastId(page: EventsPage, since: string | undefined): string | undefined {
  return page.events.at(-1)?.id ?? since;
}
