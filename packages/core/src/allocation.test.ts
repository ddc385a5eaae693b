import { describe, expect, it } from 'vitest';
import { type ActiveGrants, allocationOf, assertAllocations } from './allocation.js';
import { isSpendGuardError } from './errors.js';
import { compileRules } from './rules.js';

const PROTO_NAMES = [
  'constructor',
  '__proto__',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'isPrototypeOf',
  '__defineGetter__',
  'toLocaleString',
];

function overAllocated(fn: () => void): boolean {
  try {
    fn();
  } catch (err) {
    return isSpendGuardError(err, 'OVER_ALLOCATED');
  }
  return false;
}

const state = (overrides: Record<string, number>, grants: ActiveGrants = new Map()) => ({ overrides, grants });

describe.each(PROTO_NAMES)('allocatedFrom with budgets named %j', (name) => {
  it('a parent with that name: children may not sum past its limit', () => {
    const rules = compileRules([
      { id: name, limit: 10 },
      { id: 'child', limit: 1000, allocatedFrom: name },
    ]);
    expect(overAllocated(() => assertAllocations(rules, state({})))).toBe(true);
    expect(allocationOf(rules[0]!, rules, {})).toEqual({ limit: 10, allocated: 1000, unallocated: 0, children: { child: 1000 } });
  });

  it('a child with that name counts its own limit', () => {
    const rules = compileRules([
      { id: 'parent', limit: 10 },
      { id: name, limit: 1000, allocatedFrom: 'parent' },
    ]);
    expect(overAllocated(() => assertAllocations(rules, state({})))).toBe(true);
    const a = allocationOf(rules[0]!, rules, {});
    expect(Object.hasOwn(a.children, name)).toBe(true);
    expect(a.children[name]).toBe(1000);
    expect(Object.keys(a.children)).toEqual([name]);
  });

  it('a keyed child with that key, and run-time overrides by those names', () => {
    const rules = compileRules([
      { id: 'parent', limit: 10 },
      { id: 'project', per: 'p', limit: { [name]: 4 }, allocatedFrom: 'parent' },
    ]);
    expect(allocationOf(rules[0]!, rules, {}).children).toEqual({ [`project:${name}`]: 4 });
    const raised = { [`project:${name}`]: 11_000_000 }; // an own property, whatever the name
    expect(overAllocated(() => assertAllocations(rules, state(raised)))).toBe(true);
    const parentRules = compileRules([
      { id: name, limit: 10 },
      { id: 'child', limit: 8, allocatedFrom: name },
    ]);
    expect(overAllocated(() => assertAllocations(parentRules, state({})))).toBe(false);
    expect(overAllocated(() => assertAllocations(parentRules, state({ [name]: 7_000_000 })))).toBe(true);
  });
});

describe('allocatedFrom with grants', () => {
  const rules = compileRules([
    { id: 'org', limit: 100 },
    { id: 'project', per: 'project', limit: { api: 60, batch: 40 }, allocatedFrom: 'org' },
  ]);
  const grant = (name: string, amount: number, expiresAt: number) => ({
    id: `${name}-${expiresAt}`,
    name,
    amount,
    expiresAt,
    grantedAt: 0,
  });
  const DAY = 86_400_000;

  it("counts a parent's grant as room only for as long as it lasts", () => {
    const org = grant('org', 50_000_000, DAY);
    const shorter = new Map([
      ['org', [org]],
      ['project:api', [grant('project:api', 50_000_000, DAY)]],
    ]);
    expect(overAllocated(() => assertAllocations(rules, state({}, shorter)))).toBe(false);
    const longer = new Map([
      ['org', [org]],
      ['project:api', [grant('project:api', 50_000_000, 2 * DAY)]],
    ]);
    expect(overAllocated(() => assertAllocations(rules, state({}, longer)))).toBe(true);
    // A raised limit is for good: a parent's grant cannot back it.
    const parentOnly = new Map([['org', [org]]]);
    expect(overAllocated(() => assertAllocations(rules, state({ 'project:api': 110_000_000 }, parentOnly)))).toBe(true);
  });

  it('lets a change through that makes an over-allocation no worse, so a limit can always be lowered', () => {
    const over = { 'project:api': 90_000_000 }; // 90 + 40 > 100, from before
    expect(overAllocated(() => assertAllocations(rules, state({ 'project:api': 70_000_000 }), state(over)))).toBe(false);
    expect(overAllocated(() => assertAllocations(rules, state({ 'project:api': 95_000_000 }), state(over)))).toBe(true);
  });
});
