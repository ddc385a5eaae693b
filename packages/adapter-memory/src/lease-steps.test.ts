// A leased guard sends at most one lease step per slice at a time. A store whose calls may apply out of
// order (Postgres runs two batches at once, on two connections) would otherwise apply an older step after
// a newer one: the store's slice shrinks to the older step's size while the guard goes on admitting out
// of the newer one, and the room between them goes to other guards — past the hard limit.
import { createSpendGuard, type StorageAdapter } from '@spendguard/core';
import type { LeaseRequest } from '@spendguard/core/adapter';
import { describe, expect, it } from 'vitest';
import { memoryAdapter } from './index.js';

describe('leased allowances: lease steps', () => {
  it('never has two steps in flight for one slice, while periodic settlements and renewals overlap', { timeout: 20_000 }, async () => {
    const shared = memoryAdapter();
    const inFlight = new Map<string, number>();
    const overlaps: string[] = [];
    let steps = 0;
    const store: StorageAdapter = Object.create(shared);
    store.lease = async (req: LeaseRequest) => {
      steps++;
      for (const item of req.items) {
        const n = (inFlight.get(item.id) ?? 0) + 1;
        inFlight.set(item.id, n);
        if (n > 1) overlaps.push(item.id);
      }
      // A slow store: each step takes a few ms, so the periodic settlement and a renewal meet.
      await new Promise((r) => setTimeout(r, 2 + (steps % 5)));
      try {
        return await (shared.lease as NonNullable<StorageAdapter['lease']>)(req);
      } finally {
        for (const item of req.items) inFlight.set(item.id, (inFlight.get(item.id) ?? 1) - 1);
      }
    };
    const guard = createSpendGuard({ store, budgets: [{ id: 'm', limit: 1000 }], lease: { fraction: 0.001, maxHoldMs: 5 } });
    const until = Date.now() + 600;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (Date.now() < until) {
          await guard.spend({}, 0.3);
          await new Promise((r) => setImmediate(r));
        }
      }),
    );
    await guard.close();
    expect(steps).toBeGreaterThan(20);
    expect(overlaps).toEqual([]);
  });
});
