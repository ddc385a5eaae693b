// A forecast claim (a reservation of nothing on the instance) is a store step like any other: what it
// is the first to see is reported by the guard that sent it, so listeners and the durable feed agree.
import { createSpendGuard, type StorageAdapter } from '@spendguard/core';
import type { ChargeRequest, InstanceRef } from '@spendguard/core/adapter';
import { describe, expect, it } from 'vitest';
import { memoryAdapter } from './index.js';

const budgets = [{ id: 'monthly', limit: 100, forecast: true }];
const now = Date.parse('2026-11-10T00:00:00Z');
const clock = () => now;

describe('forecast claims: the claim is a step on the instance', () => {
  it('a limit change the claim is the first step to see is emitted live, as the feed has it, before the alert', async () => {
    const shared = memoryAdapter();
    let gate: (() => void) | undefined;
    const gated = new Promise<void>((r) => (gate = r));
    let bDone: Promise<void> | undefined;
    const a: StorageAdapter = Object.create(shared);
    const b: StorageAdapter = Object.create(shared);
    b.observe = async (refs: readonly InstanceRef[], n: number) => {
      await gated; // B's observe comes after A's claim
      return shared.observe(refs, n);
    };
    const guardB = createSpendGuard({ store: b, budgets, clock });
    a.charge = async (req: ChargeRequest) => {
      if (req.forecast) {
        bDone = guardB.setLimit('monthly', 60); // B writes the override now…
        await new Promise((r) => setTimeout(r, 20));
        const out = await shared.charge(req); // …A's claim step runs before B's observe
        gate?.();
        return out;
      }
      return shared.charge(req);
    };
    const guardA = createSpendGuard({ store: a, budgets, clock });
    const live: string[] = [];
    for (const g of [guardA, guardB]) {
      g.on('alert', (e) => live.push(`alert:${e.level}`));
      g.on('transition', (e) => live.push(`transition:${e.to}`));
    }
    const reader = createSpendGuard({ store: shared, budgets, clock });
    await guardA.spend({}, 41);
    await bDone;
    const feed = (await reader.events()).events.map((e) => `${e.type}:${'level' in e ? e.level : 'to' in e ? e.to : ''}`);
    expect(feed.sort()).toEqual(live.sort());
    expect(feed).toContain('transition:info'); // 41 of 60
  });
});
