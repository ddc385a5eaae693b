// Budget levels and the one threshold function that both the hot path and the machine's guards use.
// A level starts where used ≥ limit × threshold, exactly: the threshold is read as the decimal it is written as.

export type Level = 'ok' | 'info' | 'warning' | 'critical' | 'exhausted';
export type AlertLevel = Exclude<Level, 'ok'>;

export const LEVELS: readonly Level[] = ['ok', 'info', 'warning', 'critical', 'exhausted'];
export const ALERT_LEVELS: readonly AlertLevel[] = ['info', 'warning', 'critical', 'exhausted'];

export interface Thresholds {
  info: number;
  warning: number;
  critical: number;
  exhausted: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = { info: 0.5, warning: 0.75, critical: 0.9, exhausted: 1 };

/**
 * A threshold as num / den in lowest terms, from its shortest decimal form: 0.07 is 7/100, not the
 * double 0.0700000000000000066…, whose product with 3e6 is 210000.00000000003.
 */
interface Ratio {
  readonly num: bigint;
  readonly den: bigint;
  /** num and den as numbers when both are safe integers (NaN otherwise), for the BigInt-free path. */
  readonly n: number;
  readonly d: number;
}

const NEVER: Ratio = { num: 1n, den: 0n, n: Number.NaN, d: Number.NaN };

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

function ratioOf(fraction: number): Ratio {
  if (Number.isNaN(fraction) || fraction === Number.POSITIVE_INFINITY) return NEVER;
  if (fraction <= 0) return { num: 0n, den: 1n, n: 0, d: 1 }; // reached from the first micro-unit on
  const [mantissa = '', exponent = '0'] = String(fraction).split('e');
  const dot = mantissa.indexOf('.');
  const digits = dot < 0 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1);
  const shift = (dot < 0 ? 0 : mantissa.length - dot - 1) - Number(exponent);
  let num = BigInt(digits) * 10n ** BigInt(Math.max(0, -shift));
  let den = 10n ** BigInt(Math.max(0, shift));
  const g = gcd(num, den);
  num /= g;
  den /= g;
  const safe = num <= BigInt(Number.MAX_SAFE_INTEGER) && den <= BigInt(Number.MAX_SAFE_INTEGER);
  return { num, den, n: safe ? Number(num) : Number.NaN, d: safe ? Number(den) : Number.NaN };
}

/** ceil(limit × r), exactly, for a whole number of micro-units. */
function crossingOf(limit: number, r: Ratio): number {
  if (r.den === 0n) return Number.POSITIVE_INFINITY;
  const product = limit * r.n;
  // A float product up to 2^53 - 1 is exact (so is `%` on it); above it, or NaN, it is not.
  if (product <= Number.MAX_SAFE_INTEGER) {
    const rest = product % r.d;
    return (product - rest) / r.d + (rest > 0 ? 1 : 0);
  }
  if (!Number.isInteger(limit)) return Math.ceil(product); // not a micro-unit count: nothing exact to keep
  return Number((BigInt(limit) * r.num + r.den - 1n) / r.den);
}

/**
 * One threshold set, compiled. `reached` compares used × den with limit × num when both are safe
 * integers (no division, no cache); past 2^53 it uses the BigInt crossing points of the last limit seen.
 */
class ExactThresholds {
  readonly info: number;
  readonly warning: number;
  readonly critical: number;
  readonly exhausted: number;
  readonly infoRatio: Ratio;
  readonly warningRatio: Ratio;
  readonly criticalRatio: Ratio;
  readonly exhaustedRatio: Ratio;
  private limit = Number.NaN;
  private readonly points: Record<AlertLevel, number> = { info: 0, warning: 0, critical: 0, exhausted: 0 };

  constructor(t: Thresholds) {
    this.info = t.info;
    this.warning = t.warning;
    this.critical = t.critical;
    this.exhausted = t.exhausted;
    this.infoRatio = ratioOf(t.info);
    this.warningRatio = ratioOf(t.warning);
    this.criticalRatio = ratioOf(t.critical);
    this.exhaustedRatio = ratioOf(t.exhausted);
  }

  matches(t: Thresholds): boolean {
    return this.info === t.info && this.warning === t.warning && this.critical === t.critical && this.exhausted === t.exhausted;
  }

  /** Whether `used` reaches `limit × r`, where `level` names r (its BigInt crossing point if needed). */
  reached(used: number, limit: number, r: Ratio, level: AlertLevel): boolean {
    const a = used * r.d;
    const b = limit * r.n;
    if (a <= Number.MAX_SAFE_INTEGER && b <= Number.MAX_SAFE_INTEGER) return a >= b;
    return used >= this.at(limit)[level];
  }

  at(limit: number): Readonly<Record<AlertLevel, number>> {
    if (limit !== this.limit) {
      const p = this.points;
      p.info = crossingOf(limit, this.infoRatio);
      p.warning = crossingOf(limit, this.warningRatio);
      p.critical = crossingOf(limit, this.criticalRatio);
      p.exhausted = crossingOf(limit, this.exhaustedRatio);
      this.limit = limit;
    }
    return this.points;
  }
}

/**
 * The compiled form rides on the thresholds object, under a non-enumerable symbol (invisible to
 * spreads, JSON and key listings): one property read per call, where a WeakMap lookup costs 3× more.
 * Frozen objects use the WeakMap. A set changed in place is compiled again.
 */
const EXACT = Symbol('spendguard.exactThresholds');
const frozen = new WeakMap<Thresholds, ExactThresholds>();

function exactOf(t: Thresholds): ExactThresholds {
  const own = (t as { [EXACT]?: ExactThresholds })[EXACT];
  if (own?.matches(t)) return own;
  const kept = frozen.get(t);
  if (kept?.matches(t)) return kept;
  const fresh = new ExactThresholds(t);
  const attached =
    own === undefined
      ? Reflect.defineProperty(t, EXACT, { value: fresh, enumerable: false, writable: true, configurable: true })
      : Reflect.defineProperty(t, EXACT, { value: fresh });
  if (!attached) frozen.set(t, fresh);
  return fresh;
}

/** The least `used` (micro-units) that reaches `limit × threshold`, exactly: ceil(limit × threshold). */
export function crossingPoint(limit: number, threshold: number): number {
  return crossingOf(limit, ratioOf(threshold));
}

/** The least `used` (micro-units) at which each level begins under `limit`. */
export function crossingPoints(limit: number, t: Thresholds): Record<AlertLevel, number> {
  return { ...exactOf(t).at(limit) };
}

/** The level of a budget that has used `used` of `limit` (both micro-units). A zero limit is exhausted. */
export function levelFor(used: number, limit: number, t: Thresholds): Level {
  if (limit <= 0) return 'exhausted';
  const c = exactOf(t);
  if (c.reached(used, limit, c.exhaustedRatio, 'exhausted')) return 'exhausted';
  if (c.reached(used, limit, c.criticalRatio, 'critical')) return 'critical';
  if (c.reached(used, limit, c.warningRatio, 'warning')) return 'warning';
  if (c.reached(used, limit, c.infoRatio, 'info')) return 'info';
  return 'ok';
}

export function levelRank(level: Level): number {
  return LEVELS.indexOf(level);
}
