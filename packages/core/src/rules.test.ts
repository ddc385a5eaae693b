import { describe, expect, it } from 'vitest';
import { isSpendGuardError } from './errors.js';
import { type Attributes, type BudgetDefinition, compileRules, configuredLimit, matchRule, validateAttributes } from './rules.js';
import { isWellFormed } from './unicode.js';

/** Names that are members of Object.prototype: each must be a plain name everywhere. */
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

/** { [name]: value } as an own data property, also for '__proto__' (a computed key never sets the prototype). */
const own = <T>(name: string, value: T): Record<string, T> => ({ [name]: value });

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isSpendGuardError(err) ? err.code : `not a SpendGuardError: ${String(err)}`;
  }
  return undefined;
}

describe('compileRules: softLimit', () => {
  it.each<[string, Partial<BudgetDefinition>]>([
    ['a number above a number', { limit: 10, softLimit: 11 }],
    ['a number above one keyed limit', { per: 'p', limit: { a: 10, b: 5 }, softLimit: 8 }],
    ['a number above the wildcard limit', { per: 'p', limit: { a: 10, '*': 5 }, softLimit: 8 }],
    ['a key above a number', { per: 'p', limit: 10, softLimit: { a: 5, b: 10.000001 } }],
    ['a key above its keyed limit', { per: 'p', limit: { a: 10, b: 5 }, softLimit: { a: 9, b: 6 } }],
    ['a key above the wildcard limit', { per: 'p', limit: { a: 10, '*': 5 }, softLimit: { a: 9, b: 6 } }],
    ['the wildcard above a keyed limit', { per: 'p', limit: { a: 10, b: 5 }, softLimit: { '*': 6 } }],
    ['the wildcard above the wildcard limit', { per: 'p', limit: { '*': 5 }, softLimit: { '*': 6 } }],
  ])('refuses %s with INVALID_CONFIG, saying what to do', (_, def) => {
    let err: unknown;
    try {
      compileRules([{ id: 'b', ...def } as BudgetDefinition]);
    } catch (e) {
      err = e;
    }
    expect(isSpendGuardError(err, 'INVALID_CONFIG')).toBe(true);
    expect((err as Error).message).toMatch(/budget 'b': softLimit.* above its limit of .*lower softLimit or raise limit/);
  });

  it('names the key and the amounts', () => {
    expect(() => compileRules([{ id: 'b', per: 'p', limit: { 'a:b': 10 }, softLimit: { 'a:b': 12.5 } }])).toThrow(
      "budget 'b': softLimit for 'a:b' is 12.5, above its limit of 10.",
    );
  });

  it.each<[string, Partial<BudgetDefinition>]>([
    ['equal to the limit', { limit: 10, softLimit: 10 }],
    ['below every keyed limit', { per: 'p', limit: { a: 10, b: 5 }, softLimit: 5 }],
    ['keyed where the limit has no such key and no wildcard', { per: 'p', limit: { a: 10 }, softLimit: { a: 9, z: 100 } }],
    ['a wildcard soft limit under keyed limits and a wildcard', { per: 'p', limit: { a: 10, '*': 6 }, softLimit: { '*': 6 } }],
  ])('accepts a soft limit %s', (_, def) => {
    expect(() => compileRules([{ id: 'b', ...def } as BudgetDefinition])).not.toThrow();
  });
});

describe.each(PROTO_NAMES)('Object.prototype member %j is a plain name', (name) => {
  it('as a budget id', () => {
    const [rule] = compileRules([{ id: name, limit: 5 }]);
    expect(rule?.id).toBe(name);
    expect(matchRule(rule!, {})).toBeUndefined();
  });

  it('as a `per` attribute: absent means the rule does not apply; present keys the instance', () => {
    const [rule] = compileRules([{ id: 'b', per: name, limit: 5 }]);
    expect(matchRule(rule!, {})).toBeNull();
    expect(matchRule(rule!, { project: 'api' })).toBeNull();
    expect(matchRule(rule!, own(name, 'x'))).toBe('x');
    const [pair] = compileRules([{ id: 'pair', per: [name, 'model'], limit: 5 }]);
    expect(matchRule(pair!, { model: 'm' })).toBeNull();
    expect(matchRule(pair!, { ...own(name, 'x'), model: 'm' })).toBe('x,m');
  });

  it('as a `where` attribute', () => {
    const [rule] = compileRules([{ id: 'b', where: own(name, ['x', 'y']), limit: 5 }]);
    expect(matchRule(rule!, {})).toBeNull();
    expect(matchRule(rule!, own(name, 'z'))).toBeNull();
    expect(matchRule(rule!, own(name, 'y'))).toBeUndefined();
  });

  it('as a key of a record limit and soft limit', () => {
    const [rule] = compileRules([{ id: 'b', per: 'p', limit: own(name, 5), softLimit: own(name, 4) }]);
    expect(configuredLimit(rule!.limit, name)).toBe(5_000_000);
    expect(configuredLimit(rule!.softLimit!, name)).toBe(4_000_000);
    expect(configuredLimit(rule!.limit, 'other')).toBeNull();
    expect(() => compileRules([{ id: 'b', per: 'p', limit: own(name, 5), softLimit: own(name, 6) }])).toThrow(/above its limit/);
  });

  it('as an attribute name in validateAttributes', () => {
    expect(codeOf(() => validateAttributes(own(name, 'x')))).toBeUndefined();
    expect(codeOf(() => validateAttributes(own(name, 5)))).toBe('INVALID_ATTRIBUTES');
    expect(codeOf(() => validateAttributes(own(name, '')))).toBe('INVALID_ATTRIBUTES');
  });
});

describe('attributes are own properties only', () => {
  it('ignores attributes inherited from a polluted Object.prototype; refuses objects with another prototype', () => {
    const [rule] = compileRules([{ id: 'b', per: 'project', limit: 5 }]);
    const proto = Object.prototype as Record<string, unknown>;
    proto.project = 'api';
    try {
      const attrs = {} as Attributes;
      expect(codeOf(() => validateAttributes(attrs))).toBeUndefined();
      expect(matchRule(rule!, attrs)).toBeNull();
    } finally {
      delete proto.project;
    }
    // A class instance or Object.create(proto) may hide attributes behind getters: not a plain object.
    expect(codeOf(() => validateAttributes(Object.create({ project: 'api' })))).toBe('INVALID_ATTRIBUTES');
  });

  it('reads attributes of a null-prototype object', () => {
    const [rule] = compileRules([{ id: 'b', per: 'project', limit: 5 }]);
    const attrs = Object.assign(Object.create(null), { project: 'api' }) as Attributes;
    expect(codeOf(() => validateAttributes(attrs))).toBeUndefined();
    expect(matchRule(rule!, attrs)).toBe('api');
  });

  it('refuses any bad value with INVALID_ATTRIBUTES, never another error', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    for (const bad of [5n, Symbol('s'), () => 1, circular, Object.create(null), null, undefined, 1.5]) {
      expect(codeOf(() => validateAttributes({ project: bad }))).toBe('INVALID_ATTRIBUTES');
    }
  });
});

describe('well-formed Unicode', () => {
  const lone = ['\uD83D', '\uDE00', 'ab\uD83D', '\uDE00\uD83D', 'x\uD800y'];

  it.each(lone)('refuses an attribute name or value %j with INVALID_ATTRIBUTES and a readable message', (bad) => {
    for (const attrs of [{ project: bad }, own(bad, 'api'), own(`name${bad}`, `value${bad}`)]) {
      let err: unknown;
      try {
        validateAttributes(attrs);
      } catch (e) {
        err = e;
      }
      expect(isSpendGuardError(err, 'INVALID_ATTRIBUTES')).toBe(true);
      expect((err as Error).message).toMatch(/not well-formed Unicode: it holds a lone surrogate.*Pass whole characters/);
      expect(isWellFormed((err as Error).message)).toBe(true); // the message itself shows the text escaped
    }
  });

  it('accepts whole characters, emoji included', () => {
    expect(codeOf(() => validateAttributes({ project: '😀 api', ключ: '値' }))).toBeUndefined();
  });

  it.each<[string, BudgetDefinition]>([
    ['a per name', { id: 'b', per: 'p\uD800', limit: 5 }],
    ['a where name', { id: 'b', where: { 'p\uD800': 'x' }, limit: 5 }],
    ['a where value', { id: 'b', where: { p: ['x', 'y\uDC00'] }, limit: 5 }],
    ['a limit key', { id: 'b', per: 'p', limit: { 'k\uD800': 5 } }],
    ['a softLimit key', { id: 'b', per: 'p', limit: 5, softLimit: { 'k\uDC00': 1 } }],
  ])('refuses %s that is not well-formed with INVALID_CONFIG', (_, def) => {
    expect(codeOf(() => compileRules([def]))).toBe('INVALID_CONFIG');
    expect(() => compileRules([def])).toThrow(/budget 'b': .* is not well-formed Unicode/);
  });
});
