import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromMicros, MAX_AMOUNT, NOISE_ULPS, percentUsed, toMicros } from './money.js';

/** The exact value of a double as num / 2^shift (BigInt), from its bits. */
function exactValue(a: number): { num: bigint; den: bigint } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, a);
  const bits = view.getBigUint64(0);
  const exponent = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  const mantissa = exponent === 0 ? fraction : fraction | (1n << 52n);
  const shift = (exponent === 0 ? 1 : exponent) - 1075;
  return shift >= 0 ? { num: mantissa << BigInt(shift), den: 1n } : { num: mantissa, den: 1n << BigInt(-shift) };
}

function bitsOf(a: number): bigint {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, a);
  return view.getBigUint64(0);
}

/** ceil(decimal × 1e6) for a plain or exponent decimal string, in BigInt. */
function ceilMicros(decimal: string): bigint {
  const [mantissa = '', exp = '0'] = decimal.split('e');
  const [whole = '', frac = ''] = mantissa.split('.');
  const shift = frac.length - Number(exp) - 6; // value × 1e6 = digits / 10^shift
  const digits = BigInt(whole + frac);
  if (shift <= 0) return digits * 10n ** BigInt(-shift);
  const den = 10n ** BigInt(shift);
  return (digits + den - 1n) / den;
}

/**
 * The reference: the shortest decimal of the amount, rounded up to a micro-unit; except that an amount
 * within NOISE_ULPS doubles of a whole, positive micro-unit is that micro-unit.
 */
function reference(amount: number): number {
  const { num, den } = exactValue(amount);
  const nearest = (num * 2_000_000n + den) / (2n * den); // round half up of amount × 1e6, exactly
  if (nearest > 0n) {
    const micro = Number(`${nearest}e-6`); // parsing a decimal is correctly rounded
    const distance = bitsOf(amount) - bitsOf(micro);
    if ((distance < 0n ? -distance : distance) <= BigInt(NOISE_ULPS)) return Number(nearest);
  }
  return Number(ceilMicros(String(amount)));
}

/** A decimal of at most 15 significant digits (what a double holds exactly as written), up to MAX_AMOUNT. */
const writtenDecimal = fc
  .integer({ min: 1, max: 15 })
  .chain((digits) =>
    fc.tuple(
      fc.integer({ min: 10 ** (digits - 1), max: 10 ** digits - 1 }),
      fc.integer({ min: Math.max(0, digits - 9), max: digits + 12 }),
    ),
  )
  .map(([mantissa, decimals]) => {
    const text = String(mantissa).padStart(decimals + 1, '0');
    return decimals === 0 ? text : `${text.slice(0, -decimals)}.${text.slice(-decimals)}`;
  })
  .filter((text) => Number(text) <= MAX_AMOUNT);

/** A whole part anywhere up to MAX_AMOUNT with 7 to 12 decimals: digits past the micro-unit. */
const manyDecimals = fc
  .tuple(fc.integer({ min: 0, max: MAX_AMOUNT - 1 }), fc.stringMatching(/^[0-9]{7,12}$/))
  .map(([whole, fraction]) => Number(`${whole}.${fraction}`));

describe('money (properties)', () => {
  it('an amount with at most six decimals converts exactly, and back', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_AMOUNT * 1e6 }), (m) => {
        expect(toMicros(fromMicros(m))).toBe(m);
      }),
    );
  });

  it('an amount written with at most 15 significant digits is that decimal, rounded up to the micro-unit', () => {
    fc.assert(
      fc.property(writtenDecimal, (text) => {
        expect(toMicros(Number(text))).toBe(Number(ceilMicros(text)));
      }),
      { numRuns: 2000 },
    );
  });

  it('any amount up to 1e9 matches the exact decimal reference (rounded up, or a micro-unit within noise)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.double({ min: 0, max: MAX_AMOUNT, noNaN: true }), manyDecimals, writtenDecimal.map(Number)), (amount) => {
        expect(toMicros(amount)).toBe(reference(amount));
      }),
      { numRuns: 3000 },
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

  it('percentUsed is the exact percentage rounded half up to 4 decimals, as the nearest double', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e15 }), fc.integer({ min: 1, max: 1e15 }), (used, limit) => {
        const scaled = (BigInt(used) * 2_000_000n + BigInt(limit)) / (2n * BigInt(limit));
        expect(percentUsed(used, limit)).toBe(Number(`${scaled}e-4`));
      }),
      { numRuns: 2000 },
    );
  });

  it('a million spends of 0.1 sum to exactly 100000', () => {
    let sum = 0;
    for (let i = 0; i < 1_000_000; i++) sum += toMicros(0.1);
    expect(fromMicros(sum)).toBe(100_000);
  });
});
