// Model prices per 1M tokens, dated, with aliases and dated snapshots resolved; users can extend them.
import { SpendGuardError } from '@spendguard/core';

export type Provider = 'openai' | 'anthropic';

/** Dollars per 1M tokens. */
export interface ModelPrice {
  provider: Provider;
  input: number;
  /** Input read from the provider's prompt cache. */
  cachedInput: number;
  output: number;
  /** Anthropic bills writing to the prompt cache (5-minute cache) at this rate. */
  cacheWrite?: number;
}

export interface PriceTable {
  /** The day these list prices were taken from the providers' pages. Check them before relying on them. */
  readonly asOf: string;
  readonly models: Readonly<Record<string, ModelPrice>>;
  readonly aliases: Readonly<Record<string, string>>;
  /** Used for models not in the table; without it an unknown model is an error. */
  readonly defaultPrice?: ModelPrice;
}

const openai = (input: number, cachedInput: number, output: number): ModelPrice => ({ provider: 'openai', input, cachedInput, output });
const anthropic = (input: number, output: number): ModelPrice => ({
  provider: 'anthropic',
  input,
  cachedInput: input / 10,
  output,
  cacheWrite: input * 1.25,
});

/** List prices (USD per 1M tokens, standard tier) as published by OpenAI and Anthropic. */
export const prices: PriceTable = {
  asOf: '2025-10-01',
  models: {
    'gpt-5': openai(1.25, 0.125, 10),
    'gpt-5-mini': openai(0.25, 0.025, 2),
    'gpt-5-nano': openai(0.05, 0.005, 0.4),
    'gpt-4.1': openai(2, 0.5, 8),
    'gpt-4.1-mini': openai(0.4, 0.1, 1.6),
    'gpt-4.1-nano': openai(0.1, 0.025, 0.4),
    'gpt-4o': openai(2.5, 1.25, 10),
    'gpt-4o-mini': openai(0.15, 0.075, 0.6),
    o3: openai(2, 0.5, 8),
    'o3-mini': openai(1.1, 0.55, 4.4),
    'o4-mini': openai(1.1, 0.275, 4.4),
    o1: openai(15, 7.5, 60),
    'claude-opus-4-1': anthropic(15, 75),
    'claude-opus-4': anthropic(15, 75),
    'claude-sonnet-4-5': anthropic(3, 15),
    'claude-sonnet-4': anthropic(3, 15),
    'claude-3-7-sonnet': anthropic(3, 15),
    'claude-haiku-4-5': anthropic(1, 5),
    'claude-3-5-haiku': anthropic(0.8, 4),
  },
  aliases: {
    'chatgpt-4o-latest': 'gpt-4o',
    'claude-opus-4-0': 'claude-opus-4',
    'claude-sonnet-4-0': 'claude-sonnet-4',
  },
};

/** A table with more or other models (and aliases, or a default price) on top of `base`. */
export function extendPrices(
  additions: { models?: Record<string, ModelPrice>; aliases?: Record<string, string>; defaultPrice?: ModelPrice; asOf?: string },
  base: PriceTable = prices,
): PriceTable {
  const table: PriceTable = {
    asOf: additions.asOf ?? base.asOf,
    models: { ...base.models, ...additions.models },
    aliases: { ...base.aliases, ...additions.aliases },
  };
  const defaultPrice = additions.defaultPrice ?? base.defaultPrice;
  return defaultPrice ? { ...table, defaultPrice } : table;
}

// 'gpt-4.1-2025-04-14', 'claude-sonnet-4-20250514', 'claude-3-5-haiku-latest'
const SNAPSHOT = /-(\d{4}-\d{2}-\d{2}|\d{8}|latest)$/;

/** The table's name for `model`: itself, an alias, or the model its dated snapshot belongs to. */
export function canonicalModel(model: string, table: PriceTable = prices): string | undefined {
  for (let name: string | undefined = model; name !== undefined; ) {
    if (table.models[name]) return name;
    const alias: string | undefined = table.aliases[name];
    if (alias && table.models[alias]) return alias;
    const stripped: string = name.replace(SNAPSHOT, '');
    name = stripped !== name ? stripped : undefined;
  }
  return undefined;
}

export function priceOf(model: string, table: PriceTable = prices): ModelPrice {
  if (typeof model !== 'string' || model.length === 0) {
    throw new SpendGuardError('INVALID_CONFIG', `a model name is needed to price a call; got ${JSON.stringify(model)}.`);
  }
  const name = canonicalModel(model, table);
  if (name) return table.models[name] as ModelPrice;
  if (table.defaultPrice) return table.defaultPrice;
  throw new SpendGuardError(
    'INVALID_CONFIG',
    `no price for model '${model}' in the price table (as of ${table.asOf}). Add it with extendPrices({ models: { '${model}': { provider, input, cachedInput, output } } }) or give a defaultPrice.`,
  );
}

/** Dollars per 1M tokens as integer micro-dollars per 1M tokens, so costs are exact integer sums. */
export function microsPerMillion(dollars: number): number {
  return Math.round(dollars * 1e6);
}
