// Budget rules: the user's BudgetDefinitions, validated and compiled into matchers over a spend's attributes.
import { configError } from './error-factories.js';
import { SpendGuardError } from './errors.js';
import { escapeValue, instanceKey, instanceName, unescapeValue, WILDCARD } from './instance-name.js';
import { fromMicros, toMicros } from './money.js';
import { isValidTimezone, PERIOD_UNITS, PeriodClock, type PeriodUnit } from './period.js';
import { DEFAULT_THRESHOLDS, type Thresholds } from './thresholds.js';
import { isWellFormed } from './unicode.js';

export type Attributes = Record<string, string>;

export interface BudgetDefinition {
  id: string;
  limit: number | Record<string, number>;
  per?: string | string[];
  where?: Record<string, string | string[]>;
  period?: PeriodUnit;
  timezone?: string;
  anchorDay?: number;
  /** 'hard' refuses; 'soft' only alerts; 'shadow' is checked like 'hard' but only reports what it would refuse (denied with shadow: true). */
  enforce?: 'hard' | 'soft' | 'shadow';
  softLimit?: number | Record<string, number>;
  /** Alert (level 'forecast') once per period when the period's spend, projected to its end, passes the limit. */
  forecast?: boolean;
  thresholds?: Partial<Thresholds>;
  allocatedFrom?: string;
  /**
   * The unused part of the previous period's limit carries into this one, at most `max` (a number, or
   * a record by attribute value like `limit`). One period deep: what was carried does not carry again.
   */
  rollover?: { max: number | Record<string, number> };
}

/** A limit given per key: the micro-unit value for each listed key, and for `'*'` if given. */
export interface KeyedMicros {
  byKey: Map<string, number>;
  fallback: number | null;
}

export interface Rule {
  readonly id: string;
  readonly per: readonly string[];
  readonly where: ReadonlyArray<readonly [string, ReadonlySet<string>]>;
  readonly hard: boolean;
  /** Checked like a hard budget after the step, never refusing: a would-be refusal is reported. */
  readonly shadow: boolean;
  readonly limit: KeyedMicros;
  readonly softLimit: KeyedMicros | null;
  /** The most rollover carries in, per key; null without rollover. */
  readonly rollover: KeyedMicros | null;
  readonly thresholds: Thresholds;
  readonly allocatedFrom?: string;
  readonly period: PeriodClock;
  readonly day: PeriodClock;
  readonly definition: BudgetDefinition;
}

const ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
export const MAX_VALUE_LENGTH = 256;
const ILL_FORMED =
  'is not well-formed Unicode: it holds a lone surrogate (often a string cut inside an emoji). Pass whole characters, e.g. with String.prototype.toWellFormed().';

/**
 * Record keys are attribute values for a one-attribute `per`; with several attributes they are the
 * instance key itself, values joined with ',' (escaped as in instance names).
 */
function keyedMicros(ruleId: string, field: string, value: unknown, perCount: number): KeyedMicros {
  const keyed = perCount > 0;
  if (typeof value === 'number') {
    return { byKey: new Map(), fallback: toMicros(value, `budget '${ruleId}' ${field}`) };
  }
  if (!keyed || value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw configError(
      `budget '${ruleId}': ${field} must be a number${keyed ? ' or a record of numbers by attribute value' : ' (a record needs `per`)'}.`,
    );
  }
  const byKey = new Map<string, number>();
  let fallback: number | null = null;
  for (const [key, amount] of Object.entries(value as Record<string, unknown>)) {
    assertWellFormed(ruleId, `${field} key ${JSON.stringify(key)}`, key);
    const micros = toMicros(amount as number, `budget '${ruleId}' ${field} for '${key}'`);
    if (key === WILDCARD) fallback = micros;
    else byKey.set(perCount === 1 ? escapeValue(key) : key, micros);
  }
  return { byKey, fallback };
}

function thresholdsOf(ruleId: string, given: Partial<Thresholds> | undefined): Thresholds {
  const t = { ...DEFAULT_THRESHOLDS, ...given };
  const order = [t.info, t.warning, t.critical, t.exhausted];
  const valid = order.every((f) => typeof f === 'number' && f > 0 && f <= 1 && Number.isFinite(f));
  if (!valid || !(t.info < t.warning && t.warning < t.critical && t.critical <= t.exhausted)) {
    throw configError(
      `budget '${ruleId}': thresholds must be fractions in (0, 1] with info < warning < critical ≤ exhausted; got ${JSON.stringify(t)}.`,
    );
  }
  return t;
}

function compileRule(def: BudgetDefinition): Rule {
  if (def === null || typeof def !== 'object') throw configError('each budget must be an object with an id and a limit.');
  if (typeof def.id !== 'string' || !ID_PATTERN.test(def.id)) {
    throw configError(`budget id ${JSON.stringify(def.id)} is invalid: use 1–64 characters from A–Z, a–z, 0–9, '_', '.', '-'.`);
  }
  const id = def.id;
  const per = def.per === undefined ? [] : Array.isArray(def.per) ? def.per : [def.per];
  if (per.some((p) => typeof p !== 'string' || p.length === 0) || new Set(per).size !== per.length) {
    throw configError(`budget '${id}': per must name distinct, non-empty attribute names.`);
  }
  for (const p of per) assertWellFormed(id, `per ${JSON.stringify(p)}`, p);
  const where: Array<readonly [string, ReadonlySet<string>]> = [];
  if (def.where !== undefined && !isPlainObject(def.where)) {
    throw configError(`budget '${id}': where must be an object of attribute names to values, e.g. { project: 'batch' }.`);
  }
  for (const [attr, allowed] of Object.entries(def.where ?? {})) {
    const values = Array.isArray(allowed) ? allowed : [allowed];
    if (values.length === 0 || values.some((v) => typeof v !== 'string')) {
      throw configError(`budget '${id}': where.${attr} must be a string or a non-empty array of strings.`);
    }
    assertWellFormed(id, `where attribute ${JSON.stringify(attr)}`, attr);
    for (const v of values) assertWellFormed(id, `where value ${JSON.stringify(v)}`, v);
    where.push([attr, new Set(values)]);
  }
  const unit = def.period ?? 'month';
  if (!PERIOD_UNITS.includes(unit)) {
    throw configError(`budget '${id}': period must be one of ${PERIOD_UNITS.join(', ')}; got ${JSON.stringify(unit)}.`);
  }
  const timezone = def.timezone ?? 'UTC';
  if (!isValidTimezone(timezone)) {
    throw configError(`budget '${id}': timezone ${JSON.stringify(timezone)} is not an IANA time zone (e.g. 'Europe/Berlin').`);
  }
  const anchorDay = def.anchorDay ?? 1;
  if (!Number.isInteger(anchorDay) || anchorDay < 1 || anchorDay > 28) {
    throw configError(`budget '${id}': anchorDay must be a whole number from 1 to 28; got ${String(anchorDay)}.`);
  }
  if (def.anchorDay !== undefined && unit !== 'month') {
    throw configError(`budget '${id}': anchorDay only applies to period 'month'.`);
  }
  if (def.forecast !== undefined && typeof def.forecast !== 'boolean') {
    throw configError(`budget '${id}': forecast must be true or false; got ${JSON.stringify(def.forecast)}.`);
  }
  const enforce = def.enforce ?? 'hard';
  if (enforce !== 'hard' && enforce !== 'soft' && enforce !== 'shadow') {
    throw configError(`budget '${id}': enforce must be 'hard', 'soft' or 'shadow'; got ${JSON.stringify(enforce)}.`);
  }
  const limit = wrapAmountError(() => keyedMicros(id, 'limit', def.limit, per.length));
  const softLimit = def.softLimit === undefined ? null : wrapAmountError(() => keyedMicros(id, 'softLimit', def.softLimit, per.length));
  if (softLimit !== null) assertSoftBelowLimit(id, limit, softLimit, per.length);
  const rollover = rolloverOf(def, unit, per.length);
  return {
    id,
    per,
    where,
    hard: enforce === 'hard',
    shadow: enforce === 'shadow',
    limit,
    softLimit,
    rollover,
    thresholds: thresholdsOf(id, def.thresholds),
    ...(def.allocatedFrom === undefined ? {} : { allocatedFrom: def.allocatedFrom }),
    period: new PeriodClock({ unit, timezone, anchorDay }),
    day: new PeriodClock({ unit: 'day', timezone, anchorDay: 1 }),
    definition: def,
  };
}

/** `rollover: { max }`: a period to roll from, and a cap in the shape of a limit. */
function rolloverOf(def: BudgetDefinition, unit: PeriodUnit, perCount: number): KeyedMicros | null {
  if (def.rollover === undefined) return null;
  const id = def.id;
  if (!isPlainObject(def.rollover) || !('max' in def.rollover)) {
    throw configError(`budget '${id}': rollover must be { max }, the most that carries into a period, e.g. rollover: { max: 50 }.`);
  }
  if (unit === 'never') {
    throw configError(`budget '${id}': rollover needs a period to carry from; a budget with period 'never' has only one.`);
  }
  return wrapAmountError(() => keyedMicros(id, 'rollover.max', def.rollover?.max, perCount));
}

/**
 * A soft limit is an alert point at or below the hard limit, for every instance: each key either
 * record lists, and '*' (the unlisted keys), compared under the limit and soft limit that key gets.
 */
function assertSoftBelowLimit(ruleId: string, limit: KeyedMicros, soft: KeyedMicros, perCount: number): void {
  const keys = new Set<string | undefined>([undefined, ...limit.byKey.keys(), ...soft.byKey.keys()]);
  for (const key of keys) {
    const l = key === undefined ? limit.fallback : configuredLimit(limit, key);
    const s = key === undefined ? soft.fallback : configuredLimit(soft, key);
    if (l === null || s === null || s <= l) continue;
    const which = key === undefined ? '' : ` for '${perCount === 1 ? unescapeValue(key) : key}'`; // as written
    throw configError(
      `budget '${ruleId}': softLimit${which} is ${fromMicros(s)}, above its limit of ${fromMicros(l)}. A soft limit is an alert point below the hard limit: lower softLimit or raise limit.`,
    );
  }
}

/** Names and values in a budget must be well-formed Unicode, as a spend's attributes must. */
function assertWellFormed(ruleId: string, what: string, text: string): void {
  if (!isWellFormed(text)) throw configError(`budget '${ruleId}': ${what} ${ILL_FORMED}`);
}

/** Amount errors inside a config are config errors: the fix is in the budget definition. */
function wrapAmountError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof SpendGuardError && err.code === 'INVALID_AMOUNT') throw configError(err.message);
    throw err;
  }
}

export function compileRules(definitions: readonly BudgetDefinition[]): Rule[] {
  if (!Array.isArray(definitions) || definitions.length === 0) {
    throw configError('budgets must be a non-empty array of budget definitions.');
  }
  const rules = definitions.map(compileRule);
  const byId = new Map<string, Rule>();
  for (const rule of rules) {
    if (byId.has(rule.id)) throw configError(`budget id '${rule.id}' is declared twice; ids must be unique.`);
    byId.set(rule.id, rule);
  }
  for (const rule of rules) {
    if (rule.allocatedFrom === undefined) continue;
    const parent = byId.get(rule.allocatedFrom);
    if (!parent) throw configError(`budget '${rule.id}' is allocatedFrom '${rule.allocatedFrom}', which is not declared.`);
    if (parent.per.length > 0 || parent.allocatedFrom !== undefined) {
      throw configError(`budget '${rule.id}': allocatedFrom must name a budget without 'per' that is not itself allocated.`);
    }
    if (rule.rollover !== null) {
      throw configError(
        `budget '${rule.id}' is allocatedFrom '${rule.allocatedFrom}': rollover would raise it past what it was allotted. Put rollover on '${rule.allocatedFrom}' instead.`,
      );
    }
    if (rule.limit.fallback !== null && rule.per.length > 0) {
      throw configError(
        `budget '${rule.id}': an allocated budget must list its keys; '*' would allow any number of instances to be carved out of '${parent.id}'.`,
      );
    }
  }
  return rules;
}

/** The limit (micro-units) a rule sets for one instance key, or null when none is configured. */
export function configuredLimit(limits: KeyedMicros, key: string | undefined): number | null {
  if (key === undefined) return limits.fallback;
  return limits.byKey.get(key) ?? limits.fallback;
}

/** The override names a store looks up, most specific first, before the configured limit. */
export function limitKeys(rule: Rule, key: string | undefined): string[] {
  return key === undefined ? [rule.id] : [instanceName(rule.id, key), instanceName(rule.id, WILDCARD)];
}

/**
 * An attribute's value, read as an own property only: `constructor`, `__proto__` or `toString` are
 * plain names, never Object.prototype members (and never inherited, polluted values). Object.hasOwn is
 * the check V8 makes fast on this path (it runs for every rule on every call).
 */
function attribute(attrs: Attributes, name: string): string | undefined {
  if (!Object.hasOwn(attrs, name)) return undefined;
  const value = attrs[name];
  return typeof value === 'string' ? value : undefined;
}

/** Validates a spend's attributes: a plain object of non-empty strings up to 256 characters. */
export function validateAttributes(attrs: unknown): asserts attrs is Attributes {
  if (!isPlainObject(attrs)) {
    throw new SpendGuardError(
      'INVALID_ATTRIBUTES',
      'attrs must be an object of attribute names to string values, e.g. { project: "api" }.',
    );
  }
  for (const name in attrs) {
    if (!Object.hasOwn(attrs, name)) continue; // inherited: not an attribute (see `attribute`)
    const value = (attrs as Record<string, unknown>)[name];
    if (typeof value !== 'string' || value.length === 0 || value.length > MAX_VALUE_LENGTH) {
      throw new SpendGuardError(
        'INVALID_ATTRIBUTES',
        `attribute ${JSON.stringify(name)} must be a non-empty string of at most ${MAX_VALUE_LENGTH} characters; got ${shown(value)}.`,
      );
    }
    if (!isWellFormed(name) || !isWellFormed(value)) {
      const what = isWellFormed(name)
        ? `the value of attribute ${JSON.stringify(name)}, ${JSON.stringify(value)},`
        : `attribute name ${JSON.stringify(name)}`;
      throw new SpendGuardError('INVALID_ATTRIBUTES', `${what} ${ILL_FORMED}`);
    }
  }
}

/** A bad value for a message; never throws (BigInt, circular objects, null-prototype objects). */
function shown(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function' || typeof value === 'symbol') return `a ${typeof value}`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return `a value of type ${typeof value}`;
  }
}

/** The instance key of `rule` for a spend, or null when the rule does not apply to it. */
export function matchRule(rule: Rule, attrs: Attributes): string | undefined | null {
  for (const [attr, allowed] of rule.where) {
    const value = attribute(attrs, attr);
    if (value === undefined || !allowed.has(value)) return null;
  }
  const per = rule.per;
  if (per.length === 0) return undefined;
  if (per.length === 1) {
    const value = attribute(attrs, per[0] as string);
    return value === undefined ? null : escapeValue(value);
  }
  const values: string[] = [];
  for (const attr of per) {
    const value = attribute(attrs, attr);
    if (value === undefined) return null;
    values.push(value);
  }
  return instanceKey(values);
}

/** A plain object (a literal or Object.create(null)): not an array, a Map or a class instance. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
