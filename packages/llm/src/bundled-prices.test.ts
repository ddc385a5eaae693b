// The default table against the data it is read from: every price kept exactly, every name resolving
// to the model the package's own matcher picks, every cost equal to the package's own calculation.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { calcPrice, type Provider as DataProvider, findProvider, type MatchLogic } from '@pydantic/genai-prices';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BUNDLED_DATA, LEGACY_NAMES, PROVIDERS, tableFromData } from './bundled-prices.js';
import { costMicros } from './cost.js';
import { canonicalModel, type ModelPrice, microsPerMillion, prices } from './prices.js';

const data = PROVIDERS.map((providerId) => findProvider({ providerId }) as DataProvider);
const now = new Date();
const bundled = tableFromData(data, now);

/** A price's exact micro-dollars from its shortest decimal form, or undefined if it has more than six decimals. */
function decimalMicros(dollars: number): bigint | undefined {
  const [mantissa = '', exp = '0'] = String(dollars).split('e');
  const [whole = '', fraction = ''] = mantissa.split('.');
  const scale = fraction.length - Number(exp);
  if (scale > 6) return undefined;
  return BigInt(whole + fraction) * 10n ** BigInt(6 - scale);
}

/** A name the data's match rule of `model` matches. */
function nameOf(match: MatchLogic): string | undefined {
  if ('or' in match) return match.or.map(nameOf).find((n) => n !== undefined);
  if ('equals' in match) return match.equals;
  if ('starts_with' in match) return match.starts_with;
  if ('regex' in match) return /^\^(.+)-\\d\{/.exec(match.regex)?.[1]?.replace(/\\\./g, '.').concat('-2026-01-15');
  return undefined;
}
const keyOf = Object.fromEntries(Object.entries(bundled.ids).map(([key, id]) => [id, key]));

const allPrices = (p: ModelPrice) =>
  [p, ...(p.tiers ?? [])].flatMap((r) => [r.input, r.cachedInput, r.output, ...(r.cacheWrite === undefined ? [] : [r.cacheWrite])]);

describe('the bundled price data', () => {
  it('is the release BUNDLED_DATA names, and dates the default table', () => {
    const require = createRequire(import.meta.url);
    const main = require.resolve('@pydantic/genai-prices');
    const pkg = JSON.parse(readFileSync(join(dirname(main), '..', 'package.json'), 'utf8')) as { name: string; version: string };
    // Bumping the dependency? Set BUNDLED_DATA to the new release and its publication day.
    expect({ name: pkg.name, version: pkg.version }).toEqual({ name: BUNDLED_DATA.package, version: BUNDLED_DATA.version });
    expect(prices.asOf).toBe(BUNDLED_DATA.released);
  });

  it('is the default table: its OpenAI and Anthropic models, with aliases and prefixes', () => {
    expect(prices.models).toEqual(bundled.models);
    expect(prices.aliases).toEqual(bundled.aliases);
    expect(prices.prefixes).toEqual(bundled.prefixes);
    expect(Object.keys(prices.models).length).toBeGreaterThan(100);
    // Left out: only models with no price per input and output token (embeddings, audio by the hour, …).
    expect(bundled.skipped.map((s) => s.reason)).toEqual(bundled.skipped.map(() => 'no price per input and output token'));
  });

  it('keeps every price exactly: micro-dollars per 1M tokens, none rounded', () => {
    expect(bundled.rounded).toEqual([]);
    for (const [name, p] of Object.entries(prices.models)) {
      for (const dollars of allPrices(p)) {
        const micros = decimalMicros(dollars);
        expect(micros, `${name}: ${dollars}`).toBeDefined();
        expect(BigInt(microsPerMillion(dollars)), `${name}: ${dollars}`).toBe(micros);
      }
    }
  });

  it('microsPerMillion gives back the micro-dollars of any price with six decimals (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000_000_000 }), (micros) => {
        expect(microsPerMillion(micros / 1e6)).toBe(micros);
      }),
    );
  });

  it('rounds a price finer than a micro-dollar up, and says so', () => {
    const provider: DataProvider = {
      id: 'openai',
      name: 'OpenAI',
      api_pattern: '',
      models: [{ id: 'fine', match: { equals: 'fine' }, prices: { input_mtok: 0.0000001, output_mtok: 1.0000015 } }],
    };
    const t = tableFromData([provider], now);
    expect(t.models.fine).toMatchObject({ input: 0.000001, output: 1.000002 });
    expect(t.rounded.map((r) => r.key)).toEqual(['input_mtok', 'cache_read_mtok', 'output_mtok']);
  });

  it('keeps the names of spendguard’s earlier table as model names, the data’s names as aliases', () => {
    for (const name of LEGACY_NAMES) expect(canonicalModel(name), name).toBe(name);
    expect(bundled.ids['claude-sonnet-4']).toBe('claude-sonnet-4-0');
    expect(canonicalModel('claude-sonnet-4-0')).toBe('claude-sonnet-4');
    expect(canonicalModel('claude-3-5-haiku-latest')).toBe('claude-3-5-haiku');
  });

  it("resolves every name the data lists to the model the package's own matcher picks", () => {
    const names = new Set<string>();
    for (const provider of data)
      for (const model of provider.models) {
        names.add(model.id);
        names.add(`${model.id}-2026-01-15`);
        names.add(`${model.id}-20260115`);
      }
    for (const name of [...Object.keys(prices.aliases), ...Object.keys(prices.prefixes ?? {})]) {
      names.add(name);
      names.add(`${name}-2026-01-15`);
    }
    names.add('ft:gpt-4o-2024-08-06:acme::abc123');
    names.add('claude-sonnet-4@20250514');
    // The package's model for a name, or for the name its dated snapshot belongs to (a rule of ours);
    // a model's id is its name here, and the data may match it only in longer names (`ft:gpt-4o-2024-…`).
    const ids = new Set(Object.values(bundled.ids));
    const theirs = (name: string, provider: string): string | undefined => {
      for (let n: string | undefined = name; n !== undefined; ) {
        const found = calcPrice({ input_tokens: 1, output_tokens: 1 }, n, { providerId: provider, timestamp: now });
        if (found) return found.model.id;
        if (ids.has(n)) return n;
        const stripped: string = n.replace(/[-@](\d{4}-\d{2}-\d{2}|\d{8}|latest)$/, '');
        n = stripped !== n ? stripped : undefined;
      }
      return undefined;
    };
    let resolved = 0;
    for (const name of names) {
      const ours = canonicalModel(name);
      if (ours === undefined) continue;
      resolved++;
      expect(theirs(name, (prices.models[ours] as ModelPrice).provider), name).toBe(bundled.ids[ours]);
    }
    expect(resolved).toBeGreaterThan(400);
    for (const name of [...Object.keys(prices.models), ...Object.keys(prices.aliases)]) expect(canonicalModel(name), name).toBeDefined();
  });

  it("costs every model as the package's own calculation does, below and above its long-context tiers", () => {
    let compared = 0;
    for (const provider of data)
      for (const model of provider.models) {
        const key = keyOf[model.id];
        if (key === undefined) continue;
        const sample = nameOf(model.match) as string;
        expect(canonicalModel(sample), sample).toBe(key);
        const p = prices.models[key] as ModelPrice;
        const sizes = [1_000, ...(p.tiers ?? []).flatMap((t) => [t.above, t.above + 1, t.above + 50_000])];
        for (const total of sizes) {
          const cached = Math.floor(total / 5);
          const written = p.provider === 'anthropic' ? Math.floor(total / 10) : 0;
          const counts = { input: total - cached - written, cachedInput: cached, cacheWrite: written, output: 3_000 };
          const usage = { input_tokens: total, cache_read_tokens: cached, cache_write_tokens: written, output_tokens: 3_000 };
          const theirs = calcPrice(usage, sample, { providerId: provider.id, timestamp: now });
          expect(theirs?.model.id, sample).toBe(model.id);
          // Theirs is a floating-point sum in dollars; ours is exact and rounded up once.
          const ours = costMicros(sample, counts);
          expect(Math.abs(ours - (theirs?.total_price ?? 0) * 1e6), `${sample} at ${total} input tokens`).toBeLessThan(1);
          compared++;
        }
      }
    expect(compared).toBeGreaterThan(Object.keys(prices.models).length);
  });

  it('has tiers that only rise with the prompt, so the tier of a prompt bound is a bound of any smaller prompt', () => {
    const tiered = Object.entries(prices.models).filter(([, p]) => p.tiers?.length);
    expect(tiered.map(([name]) => name)).toContain('claude-sonnet-4-5');
    for (const [name, p] of tiered) {
      let below: Omit<ModelPrice, 'provider' | 'tiers'> = p;
      let above = -1;
      for (const tier of p.tiers ?? []) {
        expect(tier.above, name).toBeGreaterThan(above);
        expect(tier.input, name).toBeGreaterThanOrEqual(below.input);
        expect(tier.cachedInput, name).toBeGreaterThanOrEqual(below.cachedInput);
        expect(tier.output, name).toBeGreaterThanOrEqual(below.output);
        expect(tier.cacheWrite ?? tier.input, name).toBeGreaterThanOrEqual(below.cacheWrite ?? below.input);
        below = tier;
        above = tier.above;
      }
    }
  });

  it('takes the prices in force at the time it is built from dated prices', () => {
    const before = tableFromData(data, new Date('2025-06-09T12:00:00Z'));
    const after = tableFromData(data, new Date('2025-06-10T00:00:00Z'));
    // o3's price cut of 2025-06-10.
    expect(before.models.o3).toMatchObject({ input: 10, output: 40 });
    expect(after.models.o3).toMatchObject({ input: 2, output: 8 });
    // claude-sonnet-4-6: long-context tiers until 2026-03-13, one price for any prompt from then on.
    expect(tableFromData(data, new Date('2026-03-12T00:00:00Z')).models['claude-sonnet-4-6']?.tiers).toHaveLength(1);
    expect(tableFromData(data, new Date('2026-03-13T00:00:00Z')).models['claude-sonnet-4-6']?.tiers).toBeUndefined();
  });
});
