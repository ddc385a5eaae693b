import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { costMicros, costOf, estimateCost, outputTokensWithin, type TokenCounts, tokenCounts } from './cost.js';
import { microsPerMillion, priceOf, type Rates } from './prices.js';
import { countPromptTokens } from './tokens.js';

/** Token counts at given prices, in micro-dollars rounded up once: the sum costMicros makes. */
const at = (r: Rates, c: TokenCounts) =>
  Math.ceil(
    (c.input * microsPerMillion(r.input) +
      c.cachedInput * microsPerMillion(r.cachedInput) +
      c.cacheWrite * microsPerMillion(r.cacheWrite ?? r.input) +
      c.output * microsPerMillion(r.output)) /
      1e6,
  );

describe('costOf', () => {
  it('prices an OpenAI chat completion: cached part of the prompt at the cached rate, reasoning inside output', () => {
    const usage = {
      prompt_tokens: 1200,
      completion_tokens: 300,
      prompt_tokens_details: { cached_tokens: 200 },
      completion_tokens_details: { reasoning_tokens: 100 },
    };
    // gpt-4.1: 1000 × $2/M + 200 × $0.5/M + 300 × $8/M = 0.002 + 0.0001 + 0.0024
    expect(costOf({ model: 'gpt-4.1', usage })).toBe(0.0045);
  });

  it('prices an OpenAI response the same way', () => {
    const usage = {
      input_tokens: 1200,
      input_tokens_details: { cached_tokens: 200 },
      output_tokens: 300,
      output_tokens_details: { reasoning_tokens: 100 },
      total_tokens: 1500,
    };
    expect(costOf({ model: 'gpt-4.1-2025-04-14', usage })).toBe(0.0045);
  });

  it('prices an Anthropic message: input, cache reads, cache writes and output apart', () => {
    const usage = { input_tokens: 1200, cache_read_input_tokens: 200, cache_creation_input_tokens: 100, output_tokens: 300 };
    // claude-sonnet-4: 1200 × 3 + 200 × 0.3 + 100 × 3.75 + 300 × 15 = 3600 + 60 + 375 + 4500 = 8535 micro-dollars
    expect(costOf({ model: 'claude-sonnet-4-20250514', usage })).toBe(0.008535);
  });

  it('rounds up to the micro-dollar once, not per token class', () => {
    // gpt-4o-mini: 3 × $0.15/M = 0.45 micro-dollars → 1
    expect(costMicros('gpt-4o-mini', { input: 3, cachedInput: 0, cacheWrite: 0, output: 0 })).toBe(1);
    expect(costMicros('gpt-4o-mini', { input: 3, cachedInput: 3, cacheWrite: 0, output: 0 })).toBe(1);
  });

  it('bills a long-context call whole at its tier, by all its input tokens (cache reads and writes included)', () => {
    const p = priceOf('claude-sonnet-4-5');
    const tier = p.tiers?.[0];
    expect(tier?.above).toBe(200_000);
    const within = { input: 150_000, cachedInput: 40_000, cacheWrite: 10_000, output: 1_000 };
    const beyond = { ...within, cacheWrite: 10_001 };
    expect(costMicros('claude-sonnet-4-5-20250929', within)).toBe(at(p, within));
    expect(costMicros('claude-sonnet-4-5-20250929', beyond)).toBe(at(tier as Rates, beyond));
    expect(at(tier as Rates, beyond)).toBeGreaterThan(at(p, beyond));
  });

  it('refuses usage that is not token counts', () => {
    expect(() => tokenCounts({ prompt_tokens: -1, completion_tokens: 2 })).toThrow(expect.objectContaining({ code: 'INVALID_AMOUNT' }));
  });
});

describe('estimateCost', () => {
  it('counts OpenAI prompts with the model tokenizer', () => {
    // 'Hello world' is 2 tokens in o200k_base; 'user' 1; 3 per message; 3 to prime the reply.
    expect(countPromptTokens('openai', 'gpt-4.1', [{ role: 'user', content: 'Hello world' }])).toBe(9);
    expect(estimateCost({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'Hello world' }], maxOutputTokens: 100 })).toBe(
      (9 * 2 + 100 * 8) / 1e6,
    );
  });

  it('bounds Anthropic prompts by their UTF-8 bytes (a token covers at least one byte)', () => {
    expect(countPromptTokens('anthropic', 'claude-sonnet-4', [{ role: 'user', content: 'héllo' }], 'be brief')).toBe(10 + 6 + 10 + 8);
  });

  it('prices the prompt and the output cap at the tier of the prompt', () => {
    const p = priceOf('gpt-5.4');
    const tier = p.tiers?.[0] as Rates & { above: number };
    const prompt = (n: number) => ({ input: n, cachedInput: 0, cacheWrite: 0, output: 2_000 });
    expect(estimateCost({ model: 'gpt-5.4', inputTokens: tier.above, maxOutputTokens: 2_000 })).toBe(at(p, prompt(tier.above)) / 1e6);
    expect(estimateCost({ model: 'gpt-5.4', inputTokens: tier.above + 1, maxOutputTokens: 2_000 })).toBe(
      at(tier, prompt(tier.above + 1)) / 1e6,
    );
  });

  it('fits an output cap at the tier of the prompt (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('claude-sonnet-4-5', 'gpt-5.4', 'gpt-4.1'),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 0, max: 20_000_000 }),
        (model, prompt, budgetMicros) => {
          const room = outputTokensWithin(model, prompt, budgetMicros);
          if (room < 0) return;
          expect(estimateCost({ model, inputTokens: prompt, maxOutputTokens: room }) * 1e6).toBeLessThanOrEqual(budgetMicros + 1e-6);
          expect(estimateCost({ model, inputTokens: prompt, maxOutputTokens: room + 1 }) * 1e6).toBeGreaterThan(budgetMicros);
        },
      ),
    );
  });

  it('is an upper bound of the actual cost of any call within its output cap (property)', () => {
    fc.assert(
      fc.property(
        // With long-context tiers too: the prompt bound may select a higher tier than the actual prompt.
        fc.constantFrom('gpt-4.1', 'gpt-4o-mini', 'o3', 'claude-sonnet-4', 'claude-3-5-haiku', 'claude-sonnet-4-5', 'gpt-5.4', 'gpt-5.5'),
        fc.integer({ min: 0, max: 2_000_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (model, bound, maxOut, promptShare, cachedShare, outShare) => {
          const prompt = promptShare > 0.5 ? bound : Math.floor(bound * promptShare * 2);
          const output = Math.floor(maxOut * outShare);
          const cached = Math.floor(prompt * cachedShare);
          const usage =
            model.startsWith('gpt') || model.startsWith('o')
              ? { prompt_tokens: prompt, completion_tokens: output, prompt_tokens_details: { cached_tokens: cached } }
              : { input_tokens: prompt - cached, cache_read_input_tokens: cached, output_tokens: output };
          expect(costOf({ model, usage })).toBeLessThanOrEqual(estimateCost({ model, inputTokens: bound, maxOutputTokens: maxOut }));
        },
      ),
    );
  });
});
