// allocatedFrom: the limits of child budgets are carved out of a parent budget and may not sum past it.
// Active grants count on both sides: a parent's grant makes room, a child's grant takes it.
import { SpendGuardError } from './errors.js';
import { instanceName, WILDCARD } from './instance-name.js';
import { fromMicros } from './money.js';
import type { Rule } from './rules.js';

export interface Allocation {
  limit: number;
  allocated: number;
  unallocated: number;
  children: Record<string, number>;
}

interface MicroAllocation {
  limit: number;
  allocated: number;
  children: Map<string, number>;
}

/**
 * A run-time override by instance name, as an own property only: a budget named `constructor` or
 * `__proto__` must not read Object.prototype's members as its limit.
 */
function overrideOf(overrides: Record<string, number>, name: string): number | undefined {
  return Object.hasOwn(overrides, name) ? overrides[name] : undefined;
}

/** Active grants by instance name (micro-units). */
export type GrantSums = ReadonlyMap<string, number>;
const NO_GRANTS: GrantSums = new Map();

function allocationMicros(parent: Rule, rules: readonly Rule[], overrides: Record<string, number>, grants: GrantSums): MicroAllocation {
  const limit = (overrideOf(overrides, parent.id) ?? parent.limit.fallback ?? 0) + (grants.get(parent.id) ?? 0);
  const children = new Map<string, number>();
  for (const child of rules) {
    if (child.allocatedFrom !== parent.id) continue;
    if (child.per.length === 0) {
      children.set(child.id, overrideOf(overrides, child.id) ?? child.limit.fallback ?? 0);
      continue;
    }
    for (const [key, micros] of child.limit.byKey) children.set(instanceName(child.id, key), micros);
    const prefix = `${child.id}:`;
    for (const [name, micros] of Object.entries(overrides)) {
      if (name.startsWith(prefix) && name !== instanceName(child.id, WILDCARD)) children.set(name, micros);
    }
  }
  for (const [name, micros] of children) {
    const granted = grants.get(name);
    if (granted !== undefined) children.set(name, micros + granted);
  }
  let allocated = 0;
  for (const micros of children.values()) allocated += micros;
  return { limit, allocated, children };
}

export function allocationOf(
  parent: Rule,
  rules: readonly Rule[],
  overrides: Record<string, number>,
  grants: GrantSums = NO_GRANTS,
): Allocation {
  const a = allocationMicros(parent, rules, overrides, grants);
  // fromEntries defines own properties: a child named '__proto__' is a key, not the prototype.
  const children: Record<string, number> = Object.fromEntries([...a.children].map(([name, micros]) => [name, fromMicros(micros)]));
  return {
    limit: fromMicros(a.limit),
    allocated: fromMicros(a.allocated),
    unallocated: fromMicros(Math.max(0, a.limit - a.allocated)),
    children,
  };
}

/** Throws OVER_ALLOCATED when any parent's children sum past its limit under `overrides` and `grants`. */
export function assertAllocations(rules: readonly Rule[], overrides: Record<string, number>, grants: GrantSums = NO_GRANTS): void {
  for (const parent of rules) {
    if (!rules.some((r) => r.allocatedFrom === parent.id)) continue;
    const a = allocationMicros(parent, rules, overrides, grants);
    if (a.allocated > a.limit) {
      const list = [...a.children].map(([n, m]) => `${n} ${fromMicros(m)}`).join(', ');
      throw new SpendGuardError(
        'OVER_ALLOCATED',
        `budgets allocated from '${parent.id}' sum to ${fromMicros(a.allocated)} (${list}), more than its limit of ${fromMicros(a.limit)}. Lower a child's limit or raise '${parent.id}' first (active grants count on both sides).`,
      );
    }
  }
}
