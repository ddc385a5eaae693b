// a reader follows guard.events({ since }) while 4 writers (own pools, as processes) spend,
// reserve and commit on small limits. It must see every event exactly once, in the feed's order, and
// the feed must hold exactly the events the writers emitted.
import { createSpendGuard, type FeedEvent, type SpendGuard } from '@spendguard/core';
import { afterAll, describe, expect, it } from 'vitest';
import { SchemaPool } from './test-support/test-postgres.js';

const schemas = new SchemaPool();
afterAll(() => schemas.cleanup());

const budgets = [
  { id: 'monthly', limit: 40 },
  { id: 'user', per: 'user', limit: { '*': 3 }, softLimit: { '*': 2 } },
];

const canon = (e: Record<string, unknown>) => {
  const { id, at, timestamp, ...rest } = e;
  void id;
  void at;
  void timestamp;
  return JSON.stringify(rest, Object.keys(rest).sort());
};

describe('postgresAdapter: the feed under 4 writers and a follower', () => {
  it('every event once, none missing, in order', { timeout: 120_000 }, async () => {
    const schema = schemas.newSchema('feed');
    const writers: SpendGuard[] = [];
    const emitted: string[] = [];
    for (let i = 0; i < 4; i++) {
      const g = createSpendGuard({ store: await schemas.adapter(schema), budgets });
      for (const type of ['transition', 'alert', 'reset', 'overage'] as const) {
        g.on(type as 'alert', (ev) => emitted.push(canon({ type, ...(ev as unknown as Record<string, unknown>) })));
      }
      writers.push(g);
    }
    const reader = createSpendGuard({ store: await schemas.adapter(schema), budgets });
    const seen: FeedEvent[] = [];
    let done = false;
    const follow = (async () => {
      let since: string | undefined;
      for (;;) {
        const finished = done;
        const page = await reader.events(since === undefined ? { limit: 7 } : { since, limit: 7 });
        seen.push(...page.events);
        if (page.events.length > 0) since = (page.events[page.events.length - 1] as FeedEvent).id;
        if (finished && page.events.length === 0) return;
      }
    })();
    await Promise.all(
      writers.map(async (g, w) => {
        const lanes = Array.from({ length: 16 }, async (_, lane) => {
          for (let i = 0; i < 40; i++) {
            const user = `u${(w * 7 + lane * 3 + i) % 30}`;
            if (i % 5 === 0) {
              const r = await g.reserve({ user }, 0.4);
              if (r.allowed) await g.commit(r.reservationId, i % 10 === 0 ? 0.7 : 0.2);
            } else {
              await g.spend({ user }, 0.25 + ((i * lane) % 5) / 100);
            }
          }
        });
        await Promise.all(lanes);
      }),
    );
    done = true;
    await follow;
    const key = (id: string) => id.split(':').map(Number) as [number, number];
    for (let i = 1; i < seen.length; i++) {
      const [a, b] = key((seen[i - 1] as FeedEvent).id);
      const [c, d] = key((seen[i] as FeedEvent).id);
      expect(c > a || (c === a && d > b), `${a}:${b} then ${c}:${d}`).toBe(true);
    }
    // Everything read from scratch afterwards equals what the follower saw.
    const all: FeedEvent[] = [];
    let since: string | undefined;
    for (;;) {
      const page = await reader.events(since === undefined ? { limit: 500 } : { since, limit: 500 });
      all.push(...page.events);
      if (!page.next || page.events.length === 0) break;
      since = page.next;
    }
    expect(seen.map((e) => e.id)).toEqual(all.map((e) => e.id));
    expect(seen.map((e) => canon(e as never)).sort()).toEqual([...emitted].sort());
    const monthly = await reader.status('monthly');
    expect(monthly.used).toBeLessThanOrEqual(40 + 0.5 * 100); // overages allowed
  });
});
