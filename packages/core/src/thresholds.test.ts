import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crossingPoint, crossingPoints, DEFAULT_THRESHOLDS, LEVELS, type Level, levelFor, type Thresholds } from './thresholds.js';

/** Reference: the least integer u with u ≥ limit × (the decimal `fraction` is written as), in BigInt. */
function exactCrossing(limit: number, fraction: string): bigint {
  const [mantissa = '', exp = '0'] = fraction.split('e');
  const [whole = '', frac = ''] = mantissa.split('.');
  const num = BigInt(whole + frac);
  const shift = frac.length - Number(exp);
  const den = 10n ** BigInt(Math.max(0, shift));
  const scaledNum = shift < 0 ? num * 10n ** BigInt(-shift) : num;
  const product = BigInt(limit) * scaledNum;
  return (product + den - 1n) / den;
}

const t = (info: number, warning = 0.75, critical = 0.9, exhausted = 1): Thresholds => ({ info, warning, critical, exhausted });

describe('levelFor: thresholds are exact in micro-units', () => {
  it('reaches a threshold exactly at limit × threshold, with no floating-point product', () => {
    // 3e6 * 0.07 is 210000.00000000003 in floating point: the exact crossing point is 210000.
    expect(levelFor(210_000, 3_000_000, t(0.07))).toBe('info');
    expect(levelFor(209_999, 3_000_000, t(0.07))).toBe('ok');
    // 0.7 * 1e6 * 3 and friends: every level, not only info.
    expect(levelFor(2_100_000, 3_000_000, t(0.07, 0.7))).toBe('warning');
    expect(levelFor(2_970_000, 3_300_000, t(0.1, 0.2, 0.9))).toBe('critical');
    expect(levelFor(2_970_000, 3_300_000, t(0.1, 0.2, 0.3, 0.9))).toBe('exhausted');
  });

  it('a zero limit is exhausted; a full limit is exhausted; a limit of 1e15 micro-units works', () => {
    expect(levelFor(0, 0, DEFAULT_THRESHOLDS)).toBe('exhausted');
    expect(levelFor(1e15, 1e15, DEFAULT_THRESHOLDS)).toBe('exhausted');
    expect(levelFor(1e15 - 1, 1e15, DEFAULT_THRESHOLDS)).toBe('critical');
    expect(crossingPoint(1e15, 0.9)).toBe(9e14);
    expect(crossingPoint(999_999_999_999_999, 0.123456789012345)).toBe(Number(exactCrossing(999_999_999_999_999, '0.123456789012345')));
  });

  it('follows thresholds that changed in place (no stale cache)', () => {
    const mutable = t(0.5);
    expect(levelFor(400, 1000, mutable)).toBe('ok');
    mutable.info = 0.4;
    expect(levelFor(400, 1000, mutable)).toBe('info');
  });

  it('works on frozen and sealed threshold sets, and keeps the compiled form out of sight', () => {
    const frozenSet = Object.freeze(t(0.07));
    expect(levelFor(210_000, 3_000_000, frozenSet)).toBe('info');
    const sealed = t(0.07);
    expect(levelFor(210_000, 3_000_000, sealed)).toBe('info');
    Object.seal(sealed);
    sealed.info = 0.08;
    expect(levelFor(210_000, 3_000_000, sealed)).toBe('ok');
    expect(levelFor(240_000, 3_000_000, sealed)).toBe('info');
    expect(Object.keys(sealed)).toEqual(['info', 'warning', 'critical', 'exhausted']);
    expect(JSON.stringify({ ...sealed })).toBe('{"info":0.08,"warning":0.75,"critical":0.9,"exhausted":1}');
  });

  it('crossingPoints gives each level its least used amount', () => {
    expect(crossingPoints(3_000_000, t(0.07, 0.7, 0.9, 1))).toEqual({
      info: 210_000,
      warning: 2_100_000,
      critical: 2_700_000,
      exhausted: 3_000_000,
    });
    expect(crossingPoints(7, t(1 / 3, 0.5, 0.9, 1))).toEqual({ info: 3, warning: 4, critical: 7, exhausted: 7 });
  });

  it('property: levelFor changes level exactly at the BigInt crossing point of each threshold (limits up to 1e15 micro-units)', () => {
    const fraction = fc
      .tuple(fc.integer({ min: 1, max: 999_999 }), fc.integer({ min: 0, max: 12 }))
      .map(([digits, extra]) => digits / 10 ** (6 + extra)) // decimals like 0.07, 0.123456, 1.23e-10
      .filter((f) => f > 0 && f < 1);
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 1, max: 1e15 })),
        fc.uniqueArray(fraction, { minLength: 3, maxLength: 3 }),
        fc.boolean(),
        (limit, fs, fullExhausted) => {
          const [info, warning, critical] = [...fs].sort((a, b) => a - b) as [number, number, number];
          const th = t(info, warning, critical, fullExhausted ? 1 : critical);
          for (const level of ['info', 'warning', 'critical', 'exhausted'] as const) {
            const at = Number(exactCrossing(limit, String(th[level])));
            const rank = LEVELS.indexOf(level);
            expect(LEVELS.indexOf(levelFor(at, limit, th) as Level)).toBeGreaterThanOrEqual(rank);
            if (at > 0) expect(LEVELS.indexOf(levelFor(at - 1, limit, th))).toBeLessThan(rank);
            expect(crossingPoint(limit, th[level])).toBe(at);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
