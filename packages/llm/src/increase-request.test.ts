import { memoryAdapter } from '@spendguard/adapter-memory';
import { createSpendGuard } from '@spendguard/core';
import { describe, expect, it } from 'vitest';
import { increaseRequest } from './increase-request.js';

function guardAt(clock: { now: number }) {
  return createSpendGuard({ store: memoryAdapter(), budgets: [{ id: 'monthly', limit: 1000 }], clock: () => clock.now });
}

describe('increaseRequest', () => {
  it('reports average, growth and the projected need from history, across a December', async () => {
    const clock = { now: Date.parse('2026-10-15T00:00:00Z') };
    const guard = guardAt(clock);
    for (const [month, amount] of [
      ['2026-10-15', 200],
      ['2026-11-15', 300],
      ['2026-12-15', 450],
      ['2027-01-05', 100],
    ] as const) {
      clock.now = Date.parse(`${month}T00:00:00Z`);
      await guard.spend({}, amount);
    }
    const report = await increaseRequest(guard, 'monthly', { requestedLimit: 1500, useCase: 'Support chatbot rollout to all customers' });
    expect(report.history.map((h) => [h.period, h.used])).toEqual([
      ['2026-10', 200],
      ['2026-11', 300],
      ['2026-12', 450],
      ['2027-01', 100],
    ]);
    expect(report.averageUsed).toBe(262.5);
    expect(report.growthRate).toBe(0.5); // +50 % and +50 % over the complete months
    expect(report.projectedNeed).toBe(810); // 450 × 1.5 × 1.2
    expect(report.justified).toBe(true);
    expect(report.markdown).toContain('| 2026-12 | 450.00 |');
    expect(report.markdown).toContain('Support chatbot rollout');
  });

  it('does not divide by zero after a month without spend', async () => {
    const clock = { now: Date.parse('2026-09-10T00:00:00Z') };
    const guard = guardAt(clock);
    await guard.spend({}, 100);
    clock.now = Date.parse('2026-11-10T00:00:00Z'); // October had nothing
    await guard.spend({}, 50);
    clock.now = Date.parse('2026-12-10T00:00:00Z');
    await guard.spend({}, 80);
    const report = await increaseRequest(guard, 'monthly', { requestedLimit: 50, useCase: 'x' });
    expect(Number.isFinite(report.growthRate)).toBe(true);
    expect(report.growthRate).toBe(-1); // 100 → 0; 0 → 50 is skipped
    expect(report.projectedNeed).toBe(60); // growth below zero projects no growth: 50 × 1.2
    expect(report.justified).toBe(false);
  });
});
