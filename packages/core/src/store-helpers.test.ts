import { describe, expect, it } from 'vitest';
import { addToDay, effectiveLimit } from './store-helpers.js';

const dayRolled = (day: string, dayUsed: number, on: string, used: number) => {
  const record = { day, dayUsed };
  addToDay(record, on, used);
  return record;
};

describe('store helpers', () => {
  const ref = {
    id: 'model:o3',
    period: '2026-11',
    day: '2026-11-24',
    periodEnd: 0,
    limit: 100,
    limitKeys: ['model:o3', 'model:*'],
    hard: true,
  };

  it('takes the most specific run-time override, else the configured limit', () => {
    expect(effectiveLimit(ref, (n) => ({ 'model:*': 50, 'model:o3': 70 })[n])).toBe(70);
    expect(effectiveLimit(ref, (n) => ({ 'model:*': 50 })[n])).toBe(50);
    expect(effectiveLimit(ref, () => undefined)).toBe(100);
    expect(effectiveLimit({ ...ref, limit: null }, () => undefined)).toBeNull();
  });

  it('adds on the same day, restarts on a later one, and ignores an earlier day or nothing used', () => {
    expect(dayRolled('2026-11-24', 5, '2026-11-24', 2)).toEqual({ day: '2026-11-24', dayUsed: 7 });
    expect(dayRolled('2026-11-24', 5, '2026-11-25', 2)).toEqual({ day: '2026-11-25', dayUsed: 2 });
    expect(dayRolled('2026-11-24', 5, '2026-11-23', 2)).toEqual({ day: '2026-11-24', dayUsed: 5 });
    expect(dayRolled('2026-11-24', 5, '2026-11-25', 0)).toEqual({ day: '2026-11-24', dayUsed: 5 });
    expect(dayRolled('', 0, '2026-11-24', 3)).toEqual({ day: '2026-11-24', dayUsed: 3 });
  });
});
