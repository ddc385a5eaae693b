import { isSpendGuardError } from '@spendguard/core';
import { describe, expect, it } from 'vitest';
import { canonicalModel, extendPrices, priceOf, prices } from './prices.js';

describe('prices', () => {
  it('resolves dated snapshots, -latest and aliases to the table model', () => {
    expect(canonicalModel('gpt-4.1-2025-04-14')).toBe('gpt-4.1');
    expect(canonicalModel('gpt-4.1-mini-2025-04-14')).toBe('gpt-4.1-mini');
    expect(canonicalModel('claude-sonnet-4-20250514')).toBe('claude-sonnet-4');
    expect(canonicalModel('claude-3-5-haiku-latest')).toBe('claude-3-5-haiku');
    expect(canonicalModel('chatgpt-4o-latest')).toBe('gpt-4o');
    expect(canonicalModel('gpt-4.1')).toBe('gpt-4.1');
    expect(canonicalModel('llama-3')).toBeUndefined();
    expect(prices.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('refuses an unknown model with a message that says how to add it, unless a default price is given', () => {
    let err: unknown;
    try {
      priceOf('my-finetune');
    } catch (e) {
      err = e;
    }
    expect(isSpendGuardError(err, 'INVALID_CONFIG')).toBe(true);
    expect((err as Error).message).toMatch(/extendPrices/);
    const table = extendPrices({ defaultPrice: { provider: 'openai', input: 1, cachedInput: 1, output: 1 } });
    expect(priceOf('my-finetune', table).input).toBe(1);
  });

  it('lets users add and override models', () => {
    const table = extendPrices({
      models: {
        'gpt-4.1': { provider: 'openai', input: 3, cachedInput: 1, output: 9 },
        'ft:gpt-4.1:acme': { provider: 'openai', input: 3, cachedInput: 0.75, output: 12 },
      },
    });
    expect(priceOf('gpt-4.1', table).input).toBe(3);
    expect(priceOf('ft:gpt-4.1:acme', table).output).toBe(12);
    expect(priceOf('gpt-4.1').input).toBe(2);
  });
});
