import { isSpendGuardError } from '@spendguard/core';
import { describe, expect, it, vi } from 'vitest';
import { BUNDLED_DATA } from './bundled-prices.js';
import {
  canonicalModel,
  extendPrices,
  type ModelPrice,
  priceOf,
  prices,
  ratesFor,
  STALE_AFTER_DAYS,
  stalePricesWarning,
  warnIfPricesStale,
} from './prices.js';

describe('prices', () => {
  it('resolves dated snapshots, -latest and aliases to the table model', () => {
    expect(canonicalModel('gpt-4.1-2025-04-14')).toBe('gpt-4.1');
    expect(canonicalModel('gpt-4.1-mini-2025-04-14')).toBe('gpt-4.1-mini');
    expect(canonicalModel('claude-sonnet-4-20250514')).toBe('claude-sonnet-4');
    expect(canonicalModel('claude-3-5-haiku-latest')).toBe('claude-3-5-haiku');
    // The maintained data prices chatgpt-4o-latest apart from gpt-4o (it was an alias of gpt-4o here).
    expect(canonicalModel('chatgpt-4o-latest')).toBe('chatgpt-4o-latest');
    expect(canonicalModel('gpt-4.1')).toBe('gpt-4.1');
    expect(canonicalModel('claude-sonnet-4-5@20250929')).toBe('claude-sonnet-4-5');
    expect(canonicalModel('claude-haiku-4.5')).toBe('claude-haiku-4-5');
    expect(canonicalModel('llama-3')).toBeUndefined();
    expect(canonicalModel('toString')).toBeUndefined();
    expect(prices.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it("resolves a name by the longest prefix of the data's families, never by a bare model name", () => {
    expect(canonicalModel('ft:gpt-4o-2024-08-06:acme::abc123')).toBe('ft:gpt-4o');
    expect(canonicalModel('ft:gpt-4o-mini-2024-07-18:acme::abc123')).toBe('ft:gpt-4o-mini');
    // A later model whose name starts with a known one is not priced as it.
    expect(canonicalModel('claude-opus-4-10')).toBeUndefined();
    expect(canonicalModel('claude-sonnet-5-5')).toBeUndefined();
    const table = extendPrices({ prefixes: { 'acme-': 'gpt-4.1', 'acme-big-': 'gpt-5' } });
    expect(canonicalModel('acme-big-1', table)).toBe('gpt-5');
    expect(canonicalModel('acme-small-1', table)).toBe('gpt-4.1');
    expect(canonicalModel('acme-small-1')).toBeUndefined();
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
    expect(priceOf('gpt-4.1-2025-04-14', table).input).toBe(3);
    expect(priceOf('gpt-4.1')).toBe(prices.models['gpt-4.1']);
    // An override of a model the data names otherwise covers the data's names too.
    const sonnet = extendPrices({ models: { 'claude-sonnet-4': { provider: 'anthropic', input: 4, cachedInput: 0.4, output: 20 } } });
    expect(priceOf('claude-sonnet-4-0', sonnet).input).toBe(4);
    expect(priceOf('claude-sonnet-4-20250514', sonnet).input).toBe(4);
  });
});

describe('ratesFor: long-context tiers', () => {
  const tiered: ModelPrice = {
    provider: 'anthropic',
    input: 3,
    cachedInput: 0.3,
    output: 15,
    cacheWrite: 3.75,
    tiers: [{ above: 200_000, input: 6, cachedInput: 0.6, output: 22.5, cacheWrite: 7.5 }],
  };

  it('bills a call at the tier its input is above, else at the base prices', () => {
    const { tiers, provider, ...base } = tiered;
    expect(ratesFor(tiered, 0)).toEqual(base);
    expect(ratesFor(tiered, 200_000)).toEqual(base);
    expect(ratesFor(tiered, 200_001)).toEqual({ input: 6, cachedInput: 0.6, output: 22.5, cacheWrite: 7.5 });
  });

  it("takes each kind of token's highest price when the prompt's size is not known", () => {
    const rising: ModelPrice = {
      provider: 'openai',
      input: 1,
      cachedInput: 0.1,
      output: 4,
      tiers: [
        { above: 100, input: 2, cachedInput: 0.2, output: 5 },
        { above: 200, input: 3, cachedInput: 0.3, output: 5, cacheWrite: 4 },
      ],
    };
    expect(ratesFor(rising)).toEqual({ input: 3, cachedInput: 0.3, output: 5, cacheWrite: 4 });
    expect(ratesFor({ provider: 'openai', input: 1, cachedInput: 0.5, output: 2 })).toEqual({ input: 1, cachedInput: 0.5, output: 2 });
  });

  it("has the data's long-context tiers in the default table", () => {
    const sonnet = priceOf('claude-sonnet-4-5-20250929');
    expect(sonnet.tiers?.map((t) => t.above)).toEqual([200_000]);
    expect(ratesFor(sonnet, 200_001).input).toBeGreaterThan(sonnet.input);
  });
});

describe('the warning about stale bundled prices', () => {
  const day = 86_400_000;
  const asOf = Date.parse(`${prices.asOf}T00:00:00Z`);

  it('is due more than 90 days after the data was published, and says how old it is and how to update', () => {
    expect(stalePricesWarning(prices.asOf, new Date(asOf))).toBeUndefined();
    expect(stalePricesWarning(prices.asOf, new Date(asOf + STALE_AFTER_DAYS * day))).toBeUndefined();
    const message = stalePricesWarning(prices.asOf, new Date(asOf + 91 * day + 3_600_000));
    expect(message).toMatch(/91 days old/);
    expect(message).toContain(`${BUNDLED_DATA.package} ${BUNDLED_DATA.version}, published ${prices.asOf}`);
    expect(message).toMatch(/Update @spendguard\/llm and @pydantic\/genai-prices/);
    expect(message).toMatch(/extendPrices\(/);
  });

  it('is emitted once per process, with a code', async () => {
    const checked = Symbol.for('@spendguard/llm: bundled prices age checked');
    const flags = globalThis as Record<symbol, unknown>;
    const was = flags[checked];
    const emitted: string[] = [];
    try {
      delete flags[checked];
      expect(warnIfPricesStale(new Date(asOf + 200 * day), (m) => emitted.push(m))).toBe(true);
      expect(warnIfPricesStale(new Date(asOf + 300 * day), (m) => emitted.push(m))).toBe(false);
      expect(emitted).toHaveLength(1);
      expect(emitted[0]).toMatch(/200 days old/);

      // Loading the module checks, on the clock of the day (a fake Date here), once however often it loads.
      delete flags[checked];
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(asOf + 120 * day);
      const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
      vi.resetModules();
      await import('./prices.js');
      vi.resetModules();
      await import('./prices.js');
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0]?.[0]).toMatch(/120 days old/);
      expect(warn.mock.calls[0]?.[1]).toMatchObject({ code: 'SPENDGUARD_PRICES_STALE' });
    } finally {
      vi.useRealTimers();
      vi.restoreAllMocks();
      flags[checked] = was;
    }
  });
});
