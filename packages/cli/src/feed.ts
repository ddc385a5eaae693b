// The durable event feed as this package reads it (core's `guard.events()`), and the cursor helper the
// commands share.
import type { EventsOptions, EventsPage, FeedEvent } from '@spendguard/core';

export type { EventsPage, FeedEvent };
export type EventsQuery = EventsOptions;

/** The id of the last event of a page, or the cursor it was read after. */
export function lastId(page: EventsPage, since: string | undefined): string | undefined {
  return page.events.at(-1)?.id ?? since;
}
