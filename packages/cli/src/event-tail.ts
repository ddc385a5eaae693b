// The dashboard's "recent events": the feed read forward from where the last request stopped, keeping
// the newest few, so a page load costs one read of what is new rather than a walk over the whole feed.
import type { SpendGuard } from '@spendguard/core';
import type { EventsPage, FeedEvent } from './feed.js';

/** Pages read per request at most: a long backlog is caught up over several refreshes. */
const MAX_PAGES_PER_READ = 20;
const PAGE = 500;

export class EventTail {
  private cursor: string | undefined;
  private recent: FeedEvent[] = [];
  private reading: Promise<void> | undefined;

  constructor(
    private readonly guard: SpendGuard,
    private readonly keep = 200,
  ) {}

  /** The newest `count` events (oldest first) and whether the feed had more than was read. */
  async latest(count: number): Promise<{ events: FeedEvent[]; behind: boolean }> {
    let behind = false;
    this.reading ??= this.readForward()
      .then((more) => {
        behind = more;
      })
      .finally(() => {
        this.reading = undefined;
      });
    await this.reading;
    return { events: this.recent.slice(-Math.min(count, this.keep)), behind };
  }

  private async readForward(): Promise<boolean> {
    for (let i = 0; i < MAX_PAGES_PER_READ; i++) {
      const page: EventsPage = await this.guard.events(this.cursor === undefined ? { limit: PAGE } : { since: this.cursor, limit: PAGE });
      if (page.events.length > 0) {
        this.recent = this.recent.concat(page.events).slice(-this.keep);
        this.cursor = page.events.at(-1)?.id;
      }
      if (page.next === undefined || page.events.length === 0) return false;
      this.cursor = page.next;
    }
    return true;
  }
}
