import type { BudgetStatus } from '@spendguard/core';
import { describe, expect, it } from 'vitest';
import { colors } from './colors.js';
import { raised, statusTable } from './status-table.js';

const base: BudgetStatus = {
  budget: 'monthly',
  rule: 'monthly',
  enforce: 'hard',
  limit: 150,
  used: 30,
  reserved: 0,
  leased: 0,
  remaining: 120,
  percentUsed: 20,
  level: 'ok',
  period: { key: '2026-12', start: '2026-12-01T00:00:00.000Z', end: '2027-01-01T00:00:00.000Z' },
  pacing: { dailyBudget: 4, todayUsed: 1, overPace: false },
  forecast: { endOfPeriod: 90 },
  grants: [],
};

describe('status table: what raised a limit', () => {
  it('names active grants and what rollover carried, and adds the column only when some budget has either', () => {
    const granted: BudgetStatus = {
      ...base,
      carriedOver: 30,
      grants: [
        { id: 'gr_1', amount: 15, expiresAt: '2026-12-05T00:00:00.000Z', grantedAt: '2026-12-03T00:00:00.000Z' },
        { id: 'gr_2', amount: 5, expiresAt: '2026-12-06T00:00:00.000Z', grantedAt: '2026-12-03T00:00:00.000Z', reason: 'x' },
      ],
    };
    expect(raised(granted)).toBe('+20.00 granted · +30.00 carried');
    expect(raised({ ...base, carriedOver: 0 })).toBe('');
    const c = colors(false);
    expect(statusTable(c, [granted, { ...base, budget: 'other' }])).toContain('RAISED BY');
    expect(statusTable(c, [granted])).toContain('+20.00 granted · +30.00 carried');
    expect(statusTable(c, [base])).not.toContain('RAISED BY');
  });
});
