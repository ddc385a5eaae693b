// Model prices per 1M tokens, from the price data that @pydantic/genai-prices maintains and bundles,
// dated, with aliases, dated snapshots and prefixes resolved; users can extend and override them.
import { findProvider } from '@pydantic/genai-prices';
import { SpendGuardError } from '@spendguard/core';
import { BUNDLED_DATA, PROVIDERS, tableFromData } from './bundled-prices.js';

export type Provider = 'openai' | 'anthropic';

/** Long-context prices (dollars per 1M tokens) that replace a model's prices for a large prompt. */
export interface PriceTier {
  /** The tier prices a whole call whose input tokens (uncached, cache reads and cache writes together) are more than this. */
  above: number;
  input: number;
  cachedInput: number;
  output: number;
  cacheWrite?: number;
}

/** Dollars per 1M tokens. */
export interface ModelPrice {
  provider: Provider;
  input: number;
  /** Input read from the provider's prompt cache. */
  cachedInput: number;
  output: number;
  /** Writing to the prompt cache (Anthropic's 5-minute cache; OpenAI models that bill it); input's price when absent. */
  cacheWrite?: number;
  /**
   * Long-context tiers, by ascending `above`, each priced at least as high as the ones below it: a
   * call whose input is above a tier's threshold is billed whole at that tier's prices (the last such
   * tier); the prices above apply to the rest.
   */
  tiers?: readonly PriceTier[];
}

export interface PriceTable {
  /** The day of these prices: for the bundled table, the day its price data was published. Check them before relying on them. */
  readonly asOf: string;
  readonly models: Readonly<Record<string, ModelPrice>>;
  readonly aliases: Readonly<Record<string, string>>;
  /** Model names by prefix: a name that resolves no other way belongs to the model of the longest prefix it starts with. */
  readonly prefixes?: Readonly<Record<string, string>>;
  /** Used for models not in the table; without it an unknown model is an error. */
  readonly defaultPrice?: ModelPrice;
}

// The OpenAI and Anthropic models of the bundled data, at the prices in force when this module loads
// (the data dates price changes; one it schedules for later takes effect at the next start).
const bundled = tableFromData(
  PROVIDERS.flatMap((providerId) => findProvider({ providerId }) ?? []),
  new Date(),
);

/**
 * List prices (USD per 1M tokens, standard tier) of OpenAI's and Anthropic's models, from the
 * price data of @pydantic/genai-prices, dated by its release (`asOf`).
 */
export const prices: PriceTable = {
  asOf: BUNDLED_DATA.released,
  models: bundled.models,
  aliases: bundled.aliases,
  prefixes: bundled.prefixes,
};

/** A table with more or other models (and aliases, prefixes, or a default price) on top of `base`. */
export function extendPrices(
  additions: {
    models?: Record<string, ModelPrice>;
    aliases?: Record<string, string>;
    prefixes?: Record<string, string>;
    defaultPrice?: ModelPrice;
    asOf?: string;
  },
  base: PriceTable = prices,
): PriceTable {
  const table: PriceTable = {
    asOf: additions.asOf ?? base.asOf,
    models: { ...base.models, ...additions.models },
    aliases: { ...base.aliases, ...additions.aliases },
  };
  const prefixes = base.prefixes || additions.prefixes ? { ...base.prefixes, ...additions.prefixes } : undefined;
  const withPrefixes = prefixes ? { ...table, prefixes } : table;
  const defaultPrice = additions.defaultPrice ?? base.defaultPrice;
  return defaultPrice ? { ...withPrefixes, defaultPrice } : withPrefixes;
}

// 'gpt-4.1-2025-04-14', 'claude-sonnet-4-20250514', 'claude-3-5-haiku-latest', 'claude-sonnet-4-5@20250929'
const SNAPSHOT = /[-@](\d{4}-\d{2}-\d{2}|\d{8}|latest)$/;

const has = (record: Readonly<Record<string, unknown>>, name: string) => Object.hasOwn(record, name);

/**
 * The table's name for `model`: itself, an alias, the model its dated snapshot belongs to, or
 * else the model of the longest prefix it starts with.
 */
export function canonicalModel(model: string, table: PriceTable = prices): string | undefined {
  for (let name: string | undefined = model; name !== undefined; ) {
    if (has(table.models, name)) return name;
    const alias = has(table.aliases, name) ? table.aliases[name] : undefined;
    if (alias !== undefined && has(table.models, alias)) return alias;
    const stripped: string = name.replace(SNAPSHOT, '');
    name = stripped !== name ? stripped : undefined;
  }
  let found: string | undefined;
  let length = 0;
  for (const [prefix, target] of Object.entries(table.prefixes ?? {})) {
    if (prefix.length > length && model.startsWith(prefix) && has(table.models, target)) {
      found = target;
      length = prefix.length;
    }
  }
  return found;
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

/** A model's prices for one call (dollars per 1M tokens). */
export type Rates = Omit<PriceTier, 'above'>;

/**
 * The prices that bill a call of `inputTokens` input tokens (uncached, cache reads and writes
 * together): the tier whose threshold it is above, as the providers bill long contexts, else the
 * model's prices. With no count the prompt's size is not known, and the highest price of any tier
 * is taken for each kind of token, so that a cost from them is an upper bound.
 */
export function ratesFor(price: ModelPrice, inputTokens?: number): Rates {
  const base: Rates = { input: price.input, cachedInput: price.cachedInput, output: price.output };
  if (price.cacheWrite !== undefined) base.cacheWrite = price.cacheWrite;
  const tiers = price.tiers ?? [];
  if (inputTokens === undefined) {
    return tiers.reduce<Rates>((max, t) => {
      const r: Rates = {
        input: Math.max(max.input, t.input),
        cachedInput: Math.max(max.cachedInput, t.cachedInput),
        output: Math.max(max.output, t.output),
      };
      const w = Math.max(max.cacheWrite ?? max.input, t.cacheWrite ?? t.input);
      if (max.cacheWrite !== undefined || t.cacheWrite !== undefined) r.cacheWrite = w;
      return r;
    }, base);
  }
  let rates = base;
  for (const { above, ...tier } of tiers) if (inputTokens > above) rates = tier;
  return rates;
}

/** Dollars per 1M tokens as integer micro-dollars per 1M tokens, so costs are exact integer sums. */
export function microsPerMillion(dollars: number): number {
  return Math.round(dollars * 1e6);
}

/** Bundled prices older than this many days draw one warning per process. */
export const STALE_AFTER_DAYS = 90;
const DAY_MS = 86_400_000;

/** The warning for prices dated `asOf`, at `now`: undefined while they are at most STALE_AFTER_DAYS days old. */
export function stalePricesWarning(asOf: string, now: Date): string | undefined {
  const age = now.getTime() - Date.parse(`${asOf}T00:00:00Z`);
  if (!(age > STALE_AFTER_DAYS * DAY_MS)) return undefined;
  const { package: name, version } = BUNDLED_DATA;
  return (
    `spendguard's default LLM prices are ${Math.floor(age / DAY_MS)} days old: they come from the price data of ${name} ${version}, published ${asOf}, and prices may have changed since. ` +
    `Update @spendguard/llm and ${name} for newer data, or set current prices with extendPrices({ models: { … }, asOf: 'YYYY-MM-DD' }) and pass that table as prices.`
  );
}

function emitStaleWarning(message: string): void {
  const proc = (globalThis as { process?: { emitWarning?: (m: string, o: { type: string; code?: string }) => void } }).process;
  if (typeof proc?.emitWarning === 'function') proc.emitWarning(message, { type: 'SpendGuardWarning', code: 'SPENDGUARD_PRICES_STALE' });
  else console.warn(message);
}

// Once per process, even with two copies of this module loaded.
const CHECKED = Symbol.for('@spendguard/llm: bundled prices age checked');

/**
 * Warns (once per process: later calls do nothing) when the bundled prices are more than
 * STALE_AFTER_DAYS days old at `now`; true when it warned. Runs when this module loads.
 */
export function warnIfPricesStale(now: Date = new Date(), emit: (message: string) => void = emitStaleWarning): boolean {
  const flags = globalThis as Record<symbol, unknown>;
  if (flags[CHECKED]) return false;
  flags[CHECKED] = true;
  const message = stalePricesWarning(prices.asOf, now);
  if (message !== undefined) emit(message);
  return message !== undefined;
}

warnIfPricesStale();
