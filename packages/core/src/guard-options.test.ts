import { describe, expect, it } from 'vitest';
import type { StorageAdapter } from './adapter/spi.js';
import { guardOptionsOf, type SpendGuardOptions } from './guard-options.js';
import { compileRules, validateAttributes } from './rules.js';

const store = { charge() {}, configure() {}, lease() {} } as unknown as StorageAdapter;
const budgets = [{ id: 'm', limit: 1 }];
const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
};

describe('guard options', () => {
  it('refuses options that would misbehave silently', () => {
    const bad: Array<Partial<SpendGuardOptions>> = [
      { replayIntervalMs: 2 ** 31 }, // setInterval would clamp it to 1 ms: a busy loop
      { lease: 'yes' as never },
      { lease: { fraction: 5 } },
      { eventRetentionMs: 'x' as never },
      { onStoreError: 'allow' }, // without offlineAllowance
      { offlineAllowance: 5 }, // without onStoreError: 'allow'
      { requiredAttributes: [''] },
      { clock: 5 as never },
    ];
    for (const extra of bad) expect([extra, codeOf(() => guardOptionsOf({ store, budgets, ...extra }))]).toEqual([extra, 'INVALID_CONFIG']);
    expect(codeOf(() => guardOptionsOf({ store, budgets, lease: { fraction: 0.05, maxHoldMs: 500 }, eventRetentionMs: 1000 }))).toBe('ok');
    // An adapter without a lease step cannot hold slices: said at creation, not at the first spend.
    const noLeases = { charge() {}, configure() {}, name: 'custom' } as unknown as StorageAdapter;
    expect(codeOf(() => guardOptionsOf({ store: noLeases, budgets, lease: {} }))).toBe('INVALID_CONFIG');
    expect(codeOf(() => guardOptionsOf({ store, budgets, lease: { maxHoldMs: 300_000_000 } }))).toBe('INVALID_CONFIG');
  });

  it('a where that is not an object, and attributes that are not a plain object, are refused', () => {
    expect(codeOf(() => compileRules([{ id: 'b', limit: 1, where: 'batch' as never }]))).toBe('INVALID_CONFIG');
    expect(codeOf(() => compileRules([{ id: 'b', limit: 1, where: ['project'] as never }]))).toBe('INVALID_CONFIG');
    expect(codeOf(() => validateAttributes(new Map([['project', 'api']])))).toBe('INVALID_ATTRIBUTES');
    class Attrs {
      get project() {
        return 'api';
      }
    }
    expect(codeOf(() => validateAttributes(new Attrs()))).toBe('INVALID_ATTRIBUTES');
    expect(codeOf(() => validateAttributes(Object.assign(Object.create(null), { project: 'api' })))).toBe('ok');
  });
});
