import { describe, expect, it } from 'vitest';
import { allocationOf, assertAllocations } from './allocation.js';
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

describe.each(PROTO_NAMES)('allocatedFrom with budgets named %j', (name) => {
  it('a parent with that name: children may not sum past its limit', () => {
    const rules = compileRules([
      { id: name, limit: 10 },
      { id: 'child', limit: 1000, allocatedFrom: name },
    ]);
    expect(overAllocated(() => assertAllocations(rules, {}))).toBe(true);
    expect(allocationOf(rules[0]!, rules, {})).toEqual({ limit: 10, allocated: 1000, unallocated: 0, children: { child: 1000 } });
  });

  it('a child with that name counts its own limit', () => {
    const rules = compileRules([
      { id: 'parent', limit: 10 },
      { id: name, limit: 1000, allocatedFrom: 'parent' },
    ]);
    expect(overAllocated(() => assertAllocations(rules, {}))).toBe(true);
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
    expect(overAllocated(() => assertAllocations(rules, raised))).toBe(true);
    const parentRules = compileRules([
      { id: name, limit: 10 },
      { id: 'child', limit: 8, allocatedFrom: name },
    ]);
    expect(overAllocated(() => assertAllocations(parentRules, {}))).toBe(false);
    expect(overAllocated(() => assertAllocations(parentRules, { [name]: 7_000_000 }))).toBe(true);
  });
});
