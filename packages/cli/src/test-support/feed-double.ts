// A stand-in for the durable event feed, for tests of this package's feed handling (paging, the
// dashboard's tail, rendering) while the guard under test may not have `guard.events()`: the events
// that the guard emits in this process, numbered in order. Tests of the real feed use guard.events().
import type { SpendGuard } from '@spendguard/core';
import type { EventsPage, EventsQuery, FeedEvent, FeedGuard } from '../feed.js';

type Listener = (payload: Record<string, unknown>) => void;

export function withFeedDouble(guard: SpendGuard, clock: () => number = Date.now): FeedGuard {
  const log: FeedEvent[] = [];
  for (const type of ['transition', 'alert', 'reset', 'overage'] as const) {
    const listener: Listener = (payload) => {
      const at = typeof payload.at === 'string' ? payload.at : new Date(clock()).toISOString();
      log.push({ ...payload, id: String(log.length + 1).padStart(8, '0'), type, at } as FeedEvent);
    };
    guard.on(type, listener as never);
  }
  const events = async (query: EventsQuery = {}): Promise<EventsPage> => {
    const limit = query.limit ?? 100;
    const from = query.since === undefined ? 0 : log.findIndex((e) => e.id === query.since) + 1;
    const events = log.slice(from, from + limit);
    return from + limit < log.length ? { events, next: events.at(-1)?.id as string } : { events };
  };
  return Object.assign(guard, { events }) as FeedGuard;
}
