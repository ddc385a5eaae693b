import { describe, expect, it } from 'vitest';
import { isSpendGuardError } from './errors.js';
import { fromMicros, percentText, percentUsed, toMicros } from './money.js';

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

  it('rounds up digits the user wrote past the sixth decimal, at every magnitude', () => {
    // Up to 8 doubles away from a micro-unit used to count as noise: these rounded down by one micro-unit.
    expect(toMicros(40000000.00000003)).toBe(40_000_000_000_001);
    expect(toMicros(65475726.02083406)).toBe(65_475_726_020_835);
    expect(toMicros(880891.3390310007)).toBe(880_891_339_032);
    expect(toMicros(500000000.0000004)).toBe(500_000_000_000_001);
  });

  it('counts float noise within a few doubles of a micro-unit as that micro-unit', () => {
    expect(toMicros(0.1 + 0.2)).toBe(300_000);
    expect(toMicros(3 * 0.1)).toBe(300_000);
    expect(toMicros(0.7 * 3)).toBe(2_100_000); // 2.0999999999999996
    expect(toMicros(0.57 * 100)).toBe(57_000_000); // 56.99999999999999
  });

  it('charges any positive dust one micro-unit, even far below a micro-unit', () => {
    expect(toMicros(Number.MIN_VALUE)).toBe(1);
    expect(toMicros(0.1 + 0.2 - 0.3)).toBe(1);
    expect(toMicros(1e-22)).toBe(1);
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

describe('percentUsed', () => {
  it('is the nearest double to the exact percentage, rounded half up to 4 decimals', () => {
    expect(percentUsed(92_832, 100_000)).toBe(92.832); // (92832 / 100000) * 100 is 92.83200000000001
    expect(percentUsed(1, 3)).toBe(33.3333);
    expect(percentUsed(2, 3)).toBe(66.6667);
    expect(percentUsed(1, 2_000_000)).toBe(0.0001); // 0.00005 rounds half up
    expect(percentUsed(0, 5)).toBe(0);
    expect(percentUsed(5, 0)).toBe(100);
    expect(percentUsed(1e15, 1)).toBe(1e17);
    expect(percentUsed(999_999_999_999_999, 1_000_000_000_000_000)).toBe(100);
    expect(percentUsed(999_999_000_000_000, 1_000_000_000_000_000)).toBe(99.9999);
    expect(percentUsed(999_999_999_123_457, 1_000_000_000_000_000)).toBe(100); // 99.9999999…, to 4 decimals
  });

  it('as text rounds the exact ratio, not its double: 12.35 % is 12.4', () => {
    expect(percentText(1235, 10_000)).toBe('12.4'); // (12.35).toFixed(1) is '12.3'
    expect(percentText(92_832, 100_000)).toBe('92.8');
    expect(percentText(5, 0)).toBe('100.0');
    expect(percentText(1, 3, 0)).toBe('33');
    expect(percentText(3, 1e15, 2)).toBe('0.00');
  });
});
