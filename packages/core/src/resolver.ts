// From a call's attributes to the budget instances it touches: each as a store ref that carries its
// rule, cached per instance so the hot path builds no strings. Also names instances for reads.

import type { InstanceRef, Marks } from './adapter/spi.js';
import { SpendGuardError } from './errors.js';
import { instanceName, isInstanceKey, parseInstanceName } from './instance-name.js';
import { previousPeriod } from './period.js';
import { type Attributes, configuredLimit, limitKeys, MAX_VALUE_LENGTH, matchRule, type Rule, validateAttributes } from './rules.js';
import { isWellFormed } from './unicode.js';

export interface Resolved {
  refs: InstanceRef[];
  rules: Rule[];
}

export interface AttributePolicy {
  /** Refuse attribute names that no rule uses in `per` or `where`. */
  strict: boolean;
  /** Attribute names every call must carry. */
  required: readonly string[];
}

interface InstanceParts {
  name: string;
  limit: number | null;
  limitKeys: readonly string[];
  marks: Marks;
  /** The most rollover carries into this instance (micro-units); null without rollover. */
  rolloverMax: number | null;
  /** The last ref built for this instance: reused while its period and day last (refs are immutable). */
  ref?: InstanceRef;
}

/** Instances remembered per rule; past this the cache starts over (keyed rules may have millions). */
const PARTS_CACHE_LIMIT = 10_000;

export class Resolver {
  private readonly byId = new Map<string, Rule>();
  private readonly parts = new Map<Rule, Map<string, InstanceParts>>();
  private readonly known: ReadonlySet<string>;

  constructor(
    readonly rules: readonly Rule[],
    private readonly policy: AttributePolicy,
  ) {
    for (const rule of rules) this.byId.set(rule.id, rule);
    const known = new Set<string>();
    for (const rule of rules) {
      for (const attr of rule.per) known.add(attr);
      for (const [attr] of rule.where) known.add(attr);
    }
    // A required name is declared on purpose, not a typo: under strictAttributes it is known too, or no
    // call could both carry it and pass.
    for (const attr of policy.required) known.add(attr);
    this.known = known;
  }

  /** Validates a call's attributes against their shape and the guard's attribute policy. */
  checkAttributes(attrs: unknown): asserts attrs is Attributes {
    validateAttributes(attrs);
    const own = attrs as Attributes;
    for (const name of this.policy.required) {
      if (!Object.hasOwn(own, name)) {
        throw new SpendGuardError(
          'INVALID_ATTRIBUTES',
          `attribute '${name}' is required on every call (requiredAttributes); got ${JSON.stringify(Object.keys(own))}.`,
        );
      }
    }
    if (!this.policy.strict) return;
    for (const name of Object.keys(own)) {
      if (!this.known.has(name)) {
        throw new SpendGuardError(
          'INVALID_ATTRIBUTES',
          `attribute '${name}' is used by no budget (strictAttributes): known attributes are ${[...this.known].join(', ') || 'none'}. Fix the name, or add a budget that uses it.`,
        );
      }
    }
  }

  /** Every instance a call with `attrs` touches, in rule order. */
  resolve(attrs: Attributes, now: number): Resolved {
    const refs: InstanceRef[] = [];
    const rules: Rule[] = [];
    for (const rule of this.rules) {
      const key = matchRule(rule, attrs);
      if (key === null) continue;
      refs.push(this.refFor(rule, key, now));
      rules.push(rule);
    }
    return { refs, rules };
  }

  refFor(rule: Rule, key: string | undefined, now: number): InstanceRef {
    const parts = this.partsOf(rule, key);
    const period = rule.period.at(now);
    const day = rule.day.at(now).key;
    const last = parts.ref;
    if (last !== undefined && last.period === period.key && last.day === day) return last;
    const ref: InstanceRef = {
      name: parts.name,
      rule: rule.id,
      period: period.key,
      day,
      periodEnd: period.key === 'all' ? 0 : period.end,
      limit: parts.limit,
      limitKeys: parts.limitKeys,
      hard: rule.hard,
      marks: parts.marks,
    };
    if (parts.rolloverMax !== null) {
      // The previous period's key is the same for every instance of the rule: only computed anew with a new period.
      const previous = last?.period === period.key ? last.rollover?.previous : undefined;
      parts.ref = { ...ref, rollover: { max: parts.rolloverMax, previous: previous ?? previousPeriod(rule.period.spec, period).key } };
    } else parts.ref = ref;
    return parts.ref;
  }

  /** The rule a store ref belongs to, or undefined when the configuration no longer has it. */
  ruleOfRef(ref: InstanceRef): Rule | undefined {
    return this.byId.get(ref.rule);
  }

  ruleOf(ruleId: unknown): Rule {
    const rule = typeof ruleId === 'string' ? this.byId.get(ruleId) : undefined;
    if (!rule) {
      throw new SpendGuardError(
        'UNKNOWN_BUDGET',
        `no budget rule '${String(ruleId)}'; declared rules: ${[...this.byId.keys()].join(', ')}.`,
      );
    }
    return rule;
  }

  /** The rule and key of an instance name such as 'project:api'. */
  instanceOf(budget: unknown): { rule: Rule; key?: string } {
    if (typeof budget !== 'string') {
      throw new SpendGuardError(
        'UNKNOWN_BUDGET',
        `budget must be an instance name like 'monthly' or 'project:api'; got ${String(budget)}.`,
      );
    }
    const { ruleId, key } = parseInstanceName(budget);
    const rule = this.ruleOf(ruleId);
    const fits = key === undefined ? rule.per.length === 0 : rule.per.length > 0 && isInstanceKey(key, rule.per.length, MAX_VALUE_LENGTH);
    if (!fits || !isWellFormed(budget)) {
      const example = rule.per.length > 0 ? `'${rule.id}:<${rule.per.join(',')}>'` : `'${rule.id}'`;
      throw new SpendGuardError('UNKNOWN_BUDGET', `'${budget}' is not an instance of budget '${rule.id}'; name it as ${example}.`);
    }
    return key === undefined ? { rule } : { rule, key };
  }

  /**
   * The per-instance parts of a ref, cached so that every call for one instance passes the same
   * string objects: stores key maps by them, and a fresh string would be hashed again on each call.
   */
  private partsOf(rule: Rule, key: string | undefined): InstanceParts {
    let cache = this.parts.get(rule);
    if (!cache) {
      cache = new Map();
      this.parts.set(rule, cache);
    }
    const cacheKey = key ?? '';
    let parts = cache.get(cacheKey);
    if (!parts) {
      if (cache.size >= PARTS_CACHE_LIMIT) cache.clear();
      parts = {
        name: instanceName(rule.id, key),
        limit: configuredLimit(rule.limit, key),
        limitKeys: limitKeys(rule, key),
        marks: marksOf(rule, key),
        rolloverMax: rule.rollover ? configuredLimit(rule.rollover, key) : null,
      };
      cache.set(cacheKey, parts);
    }
    return parts;
  }
}

/** Where events can happen on an instance, for the store's feed: the level thresholds and the soft limit. */
function marksOf(rule: Rule, key: string | undefined): Marks {
  const t = rule.thresholds;
  const soft = rule.softLimit ? configuredLimit(rule.softLimit, key) : null;
  return { fractions: [t.info, t.warning, t.critical, t.exhausted], amounts: soft === null ? [] : [soft] };
}

/** The key of an instance name within its rule ('project:api' → 'api'), from the ref's own rule id. */
export function keyOfRef(ref: InstanceRef): string | undefined {
  return ref.name.length > ref.rule.length ? ref.name.slice(ref.rule.length + 1) : undefined;
}
