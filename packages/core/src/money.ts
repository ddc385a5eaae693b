// Money: amounts cross the API as currency units and live inside as integer micro-units (1e-6).
import { SpendGuardError } from './errors.js';

export const MICROS_PER_UNIT = 1_000_000;
export const MAX_AMOUNT = 1e9;

/**
 * Float noise: an amount at most this many doubles away from a whole micro-unit counts as that micro-unit
 * (0.1 + 0.2 is 1 away from 0.3; a sum of ten costs, 3 at most). No decimal of at most 15 significant
 * digits other than the micro-unit itself lies that close (its neighbours are ≥ 4 doubles away), so a
 * written amount is never mistaken for noise.
 */
export const NOISE_ULPS = 3;

// The bit patterns of non-negative doubles are ordered like the doubles: their difference counts the
// doubles in between. One shared buffer, so the check allocates nothing.
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
f64[0] = 1;
const HI = u32[1] === 0x3ff00000 ? 1 : 0; // the word with the sign and exponent (1 on little-endian)
const LO = 1 - HI;

/** How many doubles apart two non-negative, finite doubles are. */
export function ulpDistance(a: number, b: number): number {
  f64[0] = a;
  const hi = u32[HI] as number;
  const lo = u32[LO] as number;
  f64[0] = b;
  return Math.abs((hi - (u32[HI] as number)) * 4294967296 + (lo - (u32[LO] as number)));
}

/**
 * Converts a currency amount to micro-units, rounding up to the next micro-unit: the amount is read as
 * its shortest decimal form (what the user wrote, `0.3`, not 0.299999999999999988898…), and any
 * positive amount costs at least one micro-unit. Float noise within NOISE_ULPS of a whole micro-unit
 * counts as that micro-unit.
 */
export function toMicros(amount: number, what = 'amount'): number {
  if (typeof amount !== 'number' || !Number.isFinite(amount) || amount < 0 || amount > MAX_AMOUNT) {
    throw new SpendGuardError(
      'INVALID_AMOUNT',
      `${what} must be a finite number from 0 to ${MAX_AMOUNT} currency units; got ${String(amount)}. Pass the cost in currency units (dollars), e.g. 0.0125.`,
    );
  }
  if (Number.isInteger(amount)) return amount * MICROS_PER_UNIT;
  // Fast path: the amount is (the double nearest to) a whole micro-unit, or within noise of one.
  // Math.round picks that micro-unit: NOISE_ULPS doubles are < 0.4 micro-units up to MAX_AMOUNT.
  const nearest = Math.round(amount * MICROS_PER_UNIT);
  if (nearest > 0) {
    const exact = nearest / MICROS_PER_UNIT; // correctly rounded: the double nearest to the decimal
    if (exact === amount || ulpDistance(amount, exact) <= NOISE_ULPS) return nearest;
  }
  if (amount < 1e-6) return 1; // written in exponent notation below 1e-6; positive dust costs one micro-unit
  // Otherwise read the digits: `Math.ceil(amount * 1e6)` would carry the product's rounding error.
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

/** Decimals of `percentUsed` in results and events. */
export const PERCENT_DECIMALS = 4;

/**
 * used / limit × 100 × 10^decimals, rounded half up, exactly (both whole micro-units, used ≥ 0,
 * limit > 0): a number when it stays a safe integer, else a BigInt.
 */
function scaledPercent(used: number, limit: number, decimals: number): number | bigint {
  const scale = 100 * 10 ** decimals;
  const numerator = used * scale;
  if (numerator <= Number.MAX_SAFE_INTEGER) {
    const rest = numerator % limit; // exact on safe integers, as is the division of the difference
    return (numerator - rest) / limit + (2 * rest >= limit ? 1 : 0);
  }
  const l = BigInt(limit);
  return (BigInt(used) * BigInt(scale) * 2n + l) / (2n * l);
}

/** The exact decimal string of a scaled integer: 928320 with 4 decimals is '92.8320'. */
function decimalText(scaled: number | bigint, decimals: number): string {
  if (decimals === 0) return String(scaled);
  const digits = String(scaled).padStart(decimals + 1, '0');
  return `${digits.slice(0, -decimals)}.${digits.slice(-decimals)}`;
}

/**
 * The percentage of `limit` that `used` is (both micro-units), rounded half up to PERCENT_DECIMALS
 * decimals: the nearest double to that decimal (92.832, not 92.83200000000001). A zero limit is 100.
 */
export function percentUsed(used: number, limit: number): number {
  if (limit <= 0) return 100;
  const scaled = scaledPercent(used, limit, PERCENT_DECIMALS);
  // A safe integer over a power of ten is correctly rounded; past 2^53 parse the exact decimal.
  return typeof scaled === 'number' ? scaled / 10 ** PERCENT_DECIMALS : Number(decimalText(scaled, PERCENT_DECIMALS));
}

/** The same percentage as text for messages, rounded half up to `decimals` from the exact ratio: '12.4' for 12.35. */
export function percentText(used: number, limit: number, decimals = 1): string {
  if (limit <= 0) return decimalText(100 * 10 ** decimals, decimals);
  return decimalText(scaledPercent(used, limit, decimals), decimals);
}
