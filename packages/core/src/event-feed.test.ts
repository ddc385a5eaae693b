import { describe, expect, it } from 'vitest';
import type { FeedFact, FeedRequest, StorageAdapter } from './adapter/spi.js';
import { EventDeriver } from './event-derivation.js';
import { EventFeed } from './event-feed.js';
import { compileRules } from './rules.js';

const rules = compileRules([{ id: 'u', per: 'user', limit: 10 }]);
const fact = (id: number): FeedFact => ({
  id: String(id),
  at: 0,
  name: `u:${id}`,
  rule: 'u',
  period: '2026-11',
  usedBefore: 0,
  used: 6_000_000,
  limitBefore: 10_000_000,
  limit: 10_000_000,
});

describe('EventFeed', () => {
  it('reads on past a fact that was forgotten between two reads of one call', async () => {
    // 400 facts; the one that ends the first read (200) is forgotten before the second read asks from it.
    let forgotten = false;
    const store = {
      name: 'fake',
      feed(req: FeedRequest): FeedFact[] {
        const from = req.from === undefined ? 1 : Number(req.from);
        if (from > 1) forgotten = true;
        const ids = Array.from({ length: 400 }, (_, i) => i + 1).filter((id) => id >= from && !(forgotten && id === 200));
        return ids.slice(0, req.limit).map(fact);
      },
    } as unknown as StorageAdapter;
    const feed = new EventFeed(store, new EventDeriver((ref) => rules.find((r) => r.id === ref.rule)));
    const page = await feed.read({ limit: 1000 });
    expect(page.events).toHaveLength(800); // each fact: a transition and an alert
    expect(new Set(page.events.map((e) => (e as { budget: string }).budget)).size).toBe(400);
  });
});
