import { describe, expect, it } from 'vitest';
import { isSpendGuardError } from './errors.js';
import { fromMicros, toMicros } from './money.js';

describe('toMicros', () => {
  it('reads the decimal the user wrote, not its binary approximation', () => {
    expect(toMicros(0.3)).toBe(300_000);
    expect(toMicros(0.1)).toBe(100_000);
    expect(toMicros(1.005)).toBe(1_005_000);
    expect(toMicros(123456.654321)).toBe(123_456_654_321);
    expect(toMicros(1e9)).toBe(1e15);
    expect(toMicros(0)).toBe(0);
  });

  it('rounds up to the next micro-unit', () => {
    expect(toMicros(0.0000001)).toBe(1);
    expect(toMicros(0.0000011)).toBe(2);
    expect(toMicros(2.0000000001)).toBe(2_000_001);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, -1, -0.000001, 1e9 + 1, '5' as unknown as number, undefined as unknown as number])(
    'refuses %s with INVALID_AMOUNT',
    (bad) => {
      let err: unknown;
      try {
        toMicros(bad);
      } catch (e) {
        err = e;
      }
      expect(isSpendGuardError(err, 'INVALID_AMOUNT')).toBe(true);
      expect((err as Error).message).toMatch(/currency units/);
    },
  );

  it('round-trips through fromMicros', () => {
    expect(fromMicros(toMicros(0.000123))).toBe(0.000123);
  });
});
