// Money: amounts cross the API as currency units and live inside as integer micro-units (1e-6).
import { SpendGuardError } from './errors.js';

export const MICROS_PER_UNIT = 1_000_000;
export const MAX_AMOUNT = 1e9;

/**
 * Converts a currency amount to micro-units, rounding up to the next micro-unit.
 * Otherwise the number's shortest decimal form is what the user wrote, so it is read digit by
 * digit: `Math.ceil(0.3 * 1e6)` would be 300001, since 0.3 * 1e6 is 300000.00000000006.
 */
export function toMicros(amount: number, what = 'amount'): number {
  if (typeof amount !== 'number' || !Number.isFinite(amount) || amount < 0 || amount > MAX_AMOUNT) {
    throw new SpendGuardError(
      'INVALID_AMOUNT',
      `${what} must be a finite number from 0 to ${MAX_AMOUNT} currency units; got ${String(amount)}. Pass the cost in currency units (dollars), e.g. 0.0125.`,
    );
  }
  if (Number.isInteger(amount)) return amount * MICROS_PER_UNIT;
  // Fast path: within float noise (a few ulps) of a whole micro-unit, the amount is that micro-unit.
  // This also absorbs noise of computed costs (0.1 + 0.2), which a user means as 0.3.
  const scaled = amount * MICROS_PER_UNIT;
  const nearest = Math.round(scaled);
  if (Math.abs(scaled - nearest) <= Math.max(1, scaled) * 4 * Number.EPSILON) return nearest;
  if (amount < 1e-6) return 1; // exponent notation below 1e-6; any positive dust costs one micro-unit
  const text = amount.toString();
  const dot = text.indexOf('.');
  const whole = Number(text.slice(0, dot));
  const fraction = text.slice(dot + 1);
  const micros = Number(fraction.slice(0, 6).padEnd(6, '0'));
  const roundUp = fraction.length > 6 && /[1-9]/.test(fraction.slice(6)) ? 1 : 0;
  return whole * MICROS_PER_UNIT + micros + roundUp;
}

/** Micro-units back to currency units for results; the nearest double to the exact decimal. */
export function fromMicros(micros: number): number {
  return micros / MICROS_PER_UNIT;
}
