import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromMicros, MAX_AMOUNT, toMicros } from './money.js';

describe('money (properties)', () => {
  it('an amount with at most six decimals converts exactly, and back', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_AMOUNT * 1e6 }), (m) => {
        expect(toMicros(fromMicros(m))).toBe(m);
      }),
    );
  });

  it('never rounds down: micros / 1e6 ≥ amount and less than one micro-unit above it', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e6, noNaN: true }), (amount) => {
        const m = toMicros(amount);
        expect(Number.isInteger(m)).toBe(true);
        expect(m / 1e6).toBeGreaterThanOrEqual(amount - 1e-9 * Math.max(1, amount));
        expect(m - amount * 1e6).toBeLessThan(1 + 1e-6 * Math.max(1, amount));
      }),
    );
  });

  it('a million spends of 0.1 sum to exactly 100000', () => {
    let sum = 0;
    for (let i = 0; i < 1_000_000; i++) sum += toMicros(0.1);
    expect(fromMicros(sum)).toBe(100_000);
  });
});
