// guard.events(): the durable feed, read from the store. The store keeps facts (an instance's totals
// before and after a step that may have caused events); each reader derives the same events from
// them, numbered within their fact, so every guard sees every event once, in the store's order.
import type { FeedFact, StorageAdapter } from './adapter/spi.js';
import { configError } from './error-factories.js';
import type { EventDeriver } from './event-derivation.js';
import type { EventsPage, FeedEvent } from './events.js';
import { fromStore } from './store-call.js';

export interface EventsOptions {
  /** The id of the last event already read (or a `next` cursor); absent: from the oldest kept. */
  since?: string | undefined;
  /** At most this many events (default 100, at most 1000). */
  limit?: number | undefined;
}

const MAX_LIMIT = 1000;
/** Facts read from the store at a time; most facts stand for one or two events. */
const FACTS_PER_READ = 200;

/**
 * 'factId:index' → its parts; the index is that of the last event already read in that fact. The fact
 * id's own form is the store's to check (it says INVALID_CONFIG for one it never wrote).
 */
function cursorOf(since: unknown): { fact: string; index: number } | undefined {
  if (since === undefined) return undefined;
  const match = typeof since === 'string' ? /^(.+):(-1|0|[1-9][0-9]{0,5})$/.exec(since) : null;
  if (!match) {
    throw configError(`events({ since }) takes the id of an event read before (or a page's next); got ${JSON.stringify(since)}.`);
  }
  return { fact: match[1] as string, index: Number(match[2]) };
}

export class EventFeed {
  constructor(
    private readonly store: StorageAdapter,
    private readonly deriver: EventDeriver,
  ) {}

  async read(options: EventsOptions = {}): Promise<EventsPage> {
    const limit = options.limit === undefined ? 100 : options.limit;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw configError(`events({ limit }) must be a whole number from 1 to ${MAX_LIMIT}; got ${String(limit)}.`);
    }
    const feed = this.store.feed?.bind(this.store);
    if (!feed) throw configError(`the ${this.store.name} adapter keeps no event feed (it has no feed step).`);
    const cursor = options.since === undefined ? undefined : cursorOf(options.since);
    const events: FeedEvent[] = [];
    let from = cursor?.fact;
    // Each read starts at `from`, inclusive: the cursor's own fact may hold events not read yet.
    for (let round = 0; ; round++) {
      const request = from === undefined ? { limit: FACTS_PER_READ } : { from, limit: FACTS_PER_READ };
      const facts: FeedFact[] = await fromStore(() => feed(request));
      // A later read starts with the fact that ended the one before, unless that fact was forgotten meanwhile.
      for (let f = round > 0 && facts[0]?.id === from ? 1 : 0; f < facts.length; f++) {
        const fact = facts[f] as FeedFact;
        const derived = this.deriver.deriveFact(fact);
        const at = new Date(fact.at).toISOString();
        for (let i = cursor && fact.id === cursor.fact ? cursor.index + 1 : 0; i < derived.length; i++) {
          if (events.length === limit) return { events, next: (events[events.length - 1] as FeedEvent).id };
          const e = derived[i] as (typeof derived)[number];
          events.push({ ...(e.payload as object), id: `${fact.id}:${i}`, type: e.type, at } as FeedEvent);
        }
      }
      if (facts.length < FACTS_PER_READ) return { events };
      from = (facts[facts.length - 1] as FeedFact).id;
    }
  }
}
