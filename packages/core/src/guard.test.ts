// The guard's input validation: every kind of bad input gets its code and changes nothing.
import { memoryAdapter } from '@spendguard/adapter-memory';
import { describe, expect, it } from 'vitest';
import { createSpendGuard } from './guard.js';
import type { BudgetDefinition } from './rules.js';

const budgets: BudgetDefinition[] = [
  { id: 'monthly', limit: 100 },
  { id: 'user', per: 'user', limit: { '*': 10 } },
];

async function codeOf(fn: () => unknown): Promise<string | undefined> {
  try {
    await fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

describe('bad input', () => {
  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['negative', -1],
    ['too large', 1e9 + 1],
    ['a string', '3'],
  ])('refuses a %s amount with INVALID_AMOUNT and records nothing', async (_, amount) => {
    const g = createSpendGuard({ store: memoryAdapter(), budgets });
    expect(await codeOf(() => g.spend({ user: 'u' }, amount as number))).toBe('INVALID_AMOUNT');
    expect(await codeOf(() => g.reserve({ user: 'u' }, amount as number))).toBe('INVALID_AMOUNT');
    expect(await codeOf(() => g.check({ user: 'u' }, amount as number))).toBe('INVALID_AMOUNT');
    expect(await codeOf(() => g.setLimit('monthly', amount as number))).toBe('INVALID_AMOUNT');
    expect((await g.status()).map((s) => s.used)).toEqual([0]);
  });

  it.each([
    ['null', null],
    ['an array', ['x']],
    ['an empty value', { user: '' }],
    ['a number value', { user: 42 }],
    ['a value over 256 characters', { user: 'x'.repeat(257) }],
  ])('refuses %s as attrs with INVALID_ATTRIBUTES', async (_, attrs) => {
    const g = createSpendGuard({ store: memoryAdapter(), budgets });
    expect(await codeOf(() => g.spend(attrs as never, 1))).toBe('INVALID_ATTRIBUTES');
    expect((await g.status('monthly')).used).toBe(0);
  });

  it('refuses unknown budgets and reservations, and bad options', async () => {
    const g = createSpendGuard({ store: memoryAdapter(), budgets });
    expect(await codeOf(() => g.status('nope'))).toBe('UNKNOWN_BUDGET');
    expect(await codeOf(() => g.status('user'))).toBe('UNKNOWN_BUDGET');
    expect(await codeOf(() => g.status('monthly:x'))).toBe('UNKNOWN_BUDGET');
    expect(await codeOf(() => g.setLimit('nope', 1))).toBe('UNKNOWN_BUDGET');
    expect(await codeOf(() => g.history('nope', { periods: 2 }))).toBe('UNKNOWN_BUDGET');
    expect(await codeOf(() => g.commit('rs_unknown', 1))).toBe('UNKNOWN_RESERVATION');
    expect(await codeOf(() => g.release(undefined as never))).toBe('UNKNOWN_RESERVATION');
    expect(await codeOf(() => g.reserve({ user: 'u' }, 1, { ttlMs: -5 }))).toBe('INVALID_CONFIG');
    expect(await codeOf(() => g.spend({ user: 'u' }, 1, { idempotencyKey: '' }))).toBe('INVALID_CONFIG');
    // The guard's own keys (forecast claims) start with 'spendguard:': a caller's key could take one's place.
    expect(await codeOf(() => g.reserve({ user: 'u' }, 1, { idempotencyKey: 'spendguard:forecast:["monthly","2026-11"]' }))).toBe(
      'INVALID_CONFIG',
    );
    expect(await codeOf(() => g.history('monthly', { periods: 0 }))).toBe('INVALID_CONFIG');
    expect((await g.status('monthly')).used).toBe(0);
  });

  it.each<[string, unknown]>([
    ['no budgets', []],
    ['a bad id', [{ id: 'has space', limit: 1 }]],
    [
      'a duplicate id',
      [
        { id: 'a', limit: 1 },
        { id: 'a', limit: 2 },
      ],
    ],
    ['a record limit without per', [{ id: 'a', limit: { x: 1 } }]],
    ['a negative limit', [{ id: 'a', limit: -1 }]],
    ['an unknown period', [{ id: 'a', limit: 1, period: 'fortnight' }]],
    ['an unknown time zone', [{ id: 'a', limit: 1, timezone: 'Mars/Olympus' }]],
    ['an anchor day of 31', [{ id: 'a', limit: 1, anchorDay: 31 }]],
    ['thresholds out of order', [{ id: 'a', limit: 1, thresholds: { info: 0.8, warning: 0.5 } }]],
    ['an unknown enforce', [{ id: 'a', limit: 1, enforce: 'maybe' }]],
    ['allocation from an undeclared budget', [{ id: 'a', per: 'p', limit: { x: 1 }, allocatedFrom: 'b' }]],
    [
      'a wildcard in an allocated budget',
      [
        { id: 'm', limit: 5 },
        { id: 'a', per: 'p', limit: { '*': 1 }, allocatedFrom: 'm' },
      ],
    ],
  ])('refuses a config with %s as INVALID_CONFIG', (_, bad) => {
    expect(() => createSpendGuard({ store: memoryAdapter(), budgets: bad as BudgetDefinition[] })).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG' }),
    );
  });

  it('refuses an over-allocated config at start-up', () => {
    expect(() =>
      createSpendGuard({
        store: memoryAdapter(),
        budgets: [
          { id: 'monthly', limit: 1000 },
          { id: 'project', per: 'project', limit: { api: 500, batch: 300, ml: 300 }, allocatedFrom: 'monthly' },
        ],
      }),
    ).toThrow(expect.objectContaining({ code: 'OVER_ALLOCATED' }));
  });
});
