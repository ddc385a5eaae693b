// allocatedFrom: the limits of child budgets are carved out of a parent budget and may not sum past it.
// Active grants count on both sides: a parent's grant makes room, a child's grant takes it — but only
// for as long as it lasts, so the sums are checked now and at each moment one of the parent's grants
// ends (room lent for a week cannot back a child's limit for good).
import { activeGrants } from './adapter/effective-limit.js';
import type { Grant } from './adapter/spi.js';
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

/** The grants active now, by instance name. */
export type ActiveGrants = ReadonlyMap<string, readonly Grant[]>;
const NO_GRANTS: ActiveGrants = new Map();

/** The limits and grants a check compares. */
export interface LimitState {
  overrides: Record<string, number>;
  grants: ActiveGrants;
}

/** What an instance's grants add at `at` (those ending after it; at = -Infinity: all of them). */
const grantedAt = (grants: ActiveGrants, name: string, at: number): number => activeGrants(grants.get(name), at);

function allocationMicros(parent: Rule, rules: readonly Rule[], state: LimitState, at = Number.NEGATIVE_INFINITY): MicroAllocation {
  const { overrides, grants } = state;
  const limit = (overrideOf(overrides, parent.id) ?? parent.limit.fallback ?? 0) + grantedAt(grants, parent.id, at);
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
    const granted = grantedAt(grants, name, at);
    if (granted > 0) children.set(name, micros + granted);
  }
  let allocated = 0;
  for (const micros of children.values()) allocated += micros;
  return { limit, allocated, children };
}

export function allocationOf(parent: Rule, rules: readonly Rule[], overrides: Record<string, number>, grants = NO_GRANTS): Allocation {
  const a = allocationMicros(parent, rules, { overrides, grants });
  // fromEntries defines own properties: a child named '__proto__' is a key, not the prototype.
  const children: Record<string, number> = Object.fromEntries([...a.children].map(([name, micros]) => [name, fromMicros(micros)]));
  return {
    limit: fromMicros(a.limit),
    allocated: fromMicros(a.allocated),
    unallocated: fromMicros(Math.max(0, a.limit - a.allocated)),
    children,
  };
}

/**
 * Throws OVER_ALLOCATED when any parent's children sum past its limit under `after`, now or once one of
 * the parent's grants has ended. With `before` (a change to check), a sum that was already past and
 * that the change does not make worse passes: lowering a limit is always allowed.
 */
export function assertAllocations(rules: readonly Rule[], after: LimitState, before?: LimitState): void {
  for (const parent of rules) {
    if (!rules.some((r) => r.allocatedFrom === parent.id)) continue;
    const instants = [Number.NEGATIVE_INFINITY, ...(after.grants.get(parent.id) ?? []).map((g) => g.expiresAt)];
    for (const at of instants) {
      const a = allocationMicros(parent, rules, after, at);
      if (a.allocated <= a.limit) continue;
      if (before) {
        const b = allocationMicros(parent, rules, before, at);
        if (a.allocated - a.limit <= b.allocated - b.limit) continue;
      }
      const list = [...a.children].map(([n, m]) => `${n} ${fromMicros(m)}`).join(', ');
      const when = at === Number.NEGATIVE_INFINITY ? '' : ` once its grant ending ${new Date(at).toISOString()} ends`;
      throw new SpendGuardError(
        'OVER_ALLOCATED',
        `budgets allocated from '${parent.id}' would sum to ${fromMicros(a.allocated)} (${list}), more than its limit of ${fromMicros(a.limit)}${when}. Lower a child's limit or raise '${parent.id}' first (active grants count on both sides, for as long as they last).`,
      );
    }
  }
}
