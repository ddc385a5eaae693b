// estimateCost (an upper bound before a call) and costOf (the actual cost from a response's usage),
// both exact in micro-units: token counts times integer micro-dollars per 1M tokens, rounded up once.
// A model with long-context tiers is priced at the tier its call's input size selects.
import { fromMicros, SpendGuardError } from '@spendguard/core';
import { microsPerMillion, type PriceTable, priceOf, prices, ratesFor } from './prices.js';
import { type ChatMessage, countPromptTokens } from './tokens.js';

export interface EstimateInput {
  model: string;
  /** Chat messages (OpenAI or Anthropic shape) to count, or… */
  messages?: readonly ChatMessage[];
  /** Anthropic's top-level system prompt, counted with the messages. */
  system?: unknown;
  /** …the prompt's token count when the caller knows it. */
  inputTokens?: number;
  /** The call's output cap: with it the estimate is a true upper bound. */
  maxOutputTokens: number;
}

/** Token counts by how they are billed. */
export interface TokenCounts {
  input: number;
  cachedInput: number;
  cacheWrite: number;
  output: number;
}

function nonNegativeInt(value: unknown, what: string): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new SpendGuardError('INVALID_AMOUNT', `${what} must be a whole number of tokens ≥ 0; got ${String(value)}.`);
  }
  return value;
}

/**
 * The cost of token counts at a model's prices, in micro-dollars (rounded up). The input tokens of
 * the counts (uncached, cached and cache writes together) select the long-context tier, if any.
 */
export function costMicros(model: string, counts: TokenCounts, table: PriceTable = prices): number {
  const p = ratesFor(priceOf(model, table), counts.input + counts.cachedInput + counts.cacheWrite);
  const numerator =
    counts.input * microsPerMillion(p.input) +
    counts.cachedInput * microsPerMillion(p.cachedInput) +
    counts.cacheWrite * microsPerMillion(p.cacheWrite ?? p.input) +
    counts.output * microsPerMillion(p.output);
  return Math.ceil(numerator / 1e6);
}

/**
 * An upper bound of a call's cost, before it is made (currency units).
 *
 * Long-context tiers: the prompt's size is always known here (`inputTokens`, or counted: exactly
 * for OpenAI's text, from above for Anthropic), so a model with tiers is priced at the tier that
 * size selects, not at its highest; tiers only rise with the input, so an actual prompt no larger
 * is billed at most at that tier. (Without a size, ratesFor takes the highest tier.) Like the rest
 * of the estimate, this holds for what is counted: pass `inputTokens` for images and files.
 */
export function estimateCost(input: EstimateInput, table: PriceTable = prices): number {
  const p = priceOf(input.model, table);
  const prompt =
    input.inputTokens !== undefined
      ? nonNegativeInt(input.inputTokens, 'inputTokens')
      : countPromptTokens(p.provider, input.model, input.messages ?? [], input.system);
  const output = nonNegativeInt(input.maxOutputTokens, 'maxOutputTokens');
  // Uncached input at the full price: the cache discount is not known before the call.
  return fromMicros(costMicros(input.model, { input: prompt, cachedInput: 0, cacheWrite: 0, output }, table));
}

/**
 * The largest output cap whose estimate fits in `budgetMicros` for a prompt of `promptTokens` (exact:
 * integer arithmetic, as estimateCost rounds); negative when the prompt alone does not fit, and
 * Infinity for a model whose output is free.
 */
export function outputTokensWithin(model: string, promptTokens: number, budgetMicros: number, table: PriceTable = prices): number {
  // The tier of this prompt, as estimateCost prices it.
  const p = ratesFor(priceOf(model, table), promptTokens);
  const out = BigInt(microsPerMillion(p.output));
  const room = BigInt(budgetMicros) * 1_000_000n - BigInt(promptTokens) * BigInt(microsPerMillion(p.input));
  if (room < 0n) return -1;
  if (out === 0n) return Number.POSITIVE_INFINITY;
  return Number(room / out);
}

/** The prompt's token count as estimateCost counts it. */
export function promptTokensOf(input: Omit<EstimateInput, 'maxOutputTokens'>, table: PriceTable = prices): number {
  if (input.inputTokens !== undefined) return nonNegativeInt(input.inputTokens, 'inputTokens');
  return countPromptTokens(priceOf(input.model, table).provider, input.model, input.messages ?? [], input.system);
}

/** The usage object of an OpenAI chat completion, an OpenAI response, or an Anthropic message. */
export type Usage = Record<string, unknown>;

/** Splits a response's usage into billed token counts, by the shape the provider reports. */
export function tokenCounts(usage: Usage): TokenCounts {
  if (!usage || typeof usage !== 'object') throw new SpendGuardError('INVALID_AMOUNT', 'usage must be the usage object of a response.');
  const n = (v: unknown, what: string) => nonNegativeInt(v, `usage.${what}`);
  if ('prompt_tokens' in usage) {
    // OpenAI chat completions: cached tokens are part of prompt_tokens; reasoning tokens of completion_tokens.
    const cached = n((usage.prompt_tokens_details as Usage | undefined)?.cached_tokens, 'prompt_tokens_details.cached_tokens');
    return {
      input: n(usage.prompt_tokens, 'prompt_tokens') - cached,
      cachedInput: cached,
      cacheWrite: 0,
      output: n(usage.completion_tokens, 'completion_tokens'),
    };
  }
  if ('input_tokens_details' in usage || 'output_tokens_details' in usage || 'total_tokens' in usage) {
    // OpenAI responses: cached tokens are part of input_tokens; reasoning tokens of output_tokens.
    const cached = n((usage.input_tokens_details as Usage | undefined)?.cached_tokens, 'input_tokens_details.cached_tokens');
    return {
      input: n(usage.input_tokens, 'input_tokens') - cached,
      cachedInput: cached,
      cacheWrite: 0,
      output: n(usage.output_tokens, 'output_tokens'),
    };
  }
  // Anthropic messages: input_tokens excludes the cache reads and writes, which are reported apart.
  return {
    input: n(usage.input_tokens, 'input_tokens'),
    cachedInput: n(usage.cache_read_input_tokens, 'cache_read_input_tokens'),
    cacheWrite: n(usage.cache_creation_input_tokens, 'cache_creation_input_tokens'),
    output: n(usage.output_tokens, 'output_tokens'),
  };
}

/** The actual cost of a call from its response's usage (currency units, exact to the micro-unit). */
export function costOf(input: { model: string; usage: Usage }, table: PriceTable = prices): number {
  return fromMicros(costMicros(input.model, tokenCounts(input.usage), table));
}
