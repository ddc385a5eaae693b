// The default price table, read from the price data that @pydantic/genai-prices bundles (its
// OpenAI and Anthropic models), turned into spendguard's shape: one price per model in USD per 1M
// tokens, each exact to the micro-dollar, with the data's long-context tiers, the names the data
// matches as aliases and prefixes, and the prices in force when the table is built.
import type { Provider as DataProvider, MatchLogic, ModelInfo } from '@pydantic/genai-prices';
import type { ModelPrice, PriceTier, Provider } from './prices.js';

/**
 * The release of @pydantic/genai-prices this table was checked against, and the day it was
 * published: the date of its data (the data carries no date of its own). The dependency range
 * admits only this release or newer ones, so the data in use is at least this fresh. A test fails
 * when the installed release is another one: bump both together.
 */
export const BUNDLED_DATA = { package: '@pydantic/genai-prices', version: '0.1.8', released: '2026-09-23' } as const;

/** The providers of the data that spendguard prices (and counts tokens for). */
export const PROVIDERS: readonly Provider[] = ['openai', 'anthropic'];

/**
 * The names spendguard's own table used as model names (to 2025-10-01). Budgets may be scoped by
 * the model name a call is recorded under, so each stays the name of its model where the data
 * calls it otherwise (`claude-sonnet-4-0` → `claude-sonnet-4`, `claude-3-5-haiku-latest` →
 * `claude-3-5-haiku`, …); the data's name stays an alias.
 */
export const LEGACY_NAMES: readonly string[] = [
  'gpt-5',
  'gpt-5-mini',
  'gpt-5-nano',
  'gpt-4.1',
  'gpt-4.1-mini',
  'gpt-4.1-nano',
  'gpt-4o',
  'gpt-4o-mini',
  'o3',
  'o3-mini',
  'o4-mini',
  'o1',
  'claude-opus-4-1',
  'claude-opus-4',
  'claude-sonnet-4-5',
  'claude-sonnet-4',
  'claude-3-7-sonnet',
  'claude-haiku-4-5',
  'claude-3-5-haiku',
];

export interface BundledTable {
  models: Record<string, ModelPrice>;
  aliases: Record<string, string>;
  prefixes: Record<string, string>;
  /** Table name → the data's model id (they differ for LEGACY_NAMES). */
  ids: Record<string, string>;
  /** Models of the data left out, and why: no per-token text price, or a price shape not understood. */
  skipped: { provider: Provider; id: string; reason: string }[];
  /** Prices the data gives finer than a micro-dollar per 1M tokens, rounded up (none, as of BUNDLED_DATA). */
  rounded: { id: string; key: string; from: number; to: number }[];
}

// The package's price value: dollars per 1M, or long-context tiers (a tier applies when the call's
// input tokens are above its `start`, and then prices the whole call).
type DataValue = number | { base: number; tiers: readonly { start: number; price: number }[] } | undefined;
type DataPrices = Record<string, DataValue>;
// A dated price in the data: the last entry whose start_date is not after the day applies.
type DataEntry = { constraint?: { type?: string; start_date?: string }; prices: DataPrices };

const isTiered = (v: DataValue): v is { base: number; tiers: readonly { start: number; price: number }[] } =>
  typeof v === 'object' && v !== null && typeof v.base === 'number' && Array.isArray(v.tiers);

const validPrice = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** The data's prices of `model` in force at `now`, or why they cannot be used. */
function pricesAt(model: ModelInfo, now: Date): DataPrices | string {
  if (!Array.isArray(model.prices)) return model.prices as DataPrices;
  const entries = model.prices as readonly DataEntry[];
  let chosen: DataPrices | undefined;
  for (const entry of entries) {
    const c = entry.constraint;
    if (c === undefined) chosen ??= entry.prices;
    else if (c.type === 'start_date' || (c.type === undefined && typeof c.start_date === 'string')) {
      if (typeof c.start_date === 'string' && now >= new Date(`${c.start_date}T00:00:00Z`)) chosen = entry.prices;
    } else {
      // Prices by time of day (off-peak rates) cannot be one price per model.
      return `a price constraint of type ${String(c.type)}`;
    }
  }
  return chosen ?? entries[0]?.prices ?? 'no prices';
}

/**
 * One price of the data as exact dollars per 1M tokens: a value with at most six decimals is kept
 * as it is (microsPerMillion gives back its micro-dollars exactly); a finer one is rounded up to
 * the next micro-dollar, so a cost is never under the data's.
 */
function exact(value: number, note: (to: number) => void): number {
  const micros = Math.round(value * 1e6);
  if (micros / 1e6 === value) return value;
  const to = Math.ceil(value * 1e6) / 1e6;
  note(to);
  return to;
}

/** The price of one key for a call with more than `above` input tokens (the base with no tier). */
function at(v: DataValue, above: number): number | undefined {
  if (v === undefined) return undefined;
  if (!isTiered(v)) return v;
  let price = v.base;
  for (const t of [...v.tiers].sort((a, b) => a.start - b.start)) if (t.start <= above) price = t.price;
  return price;
}

function toModelPrice(provider: Provider, id: string, p: DataPrices, rounded: BundledTable['rounded']): ModelPrice | string {
  const { input_mtok: input, output_mtok: output, cache_read_mtok: cacheRead, cache_write_mtok: cacheWrite } = p;
  if (input === undefined || output === undefined) return 'no price per input and output token';
  const values = [input, output, cacheRead, cacheWrite].filter((v) => v !== undefined);
  const numbers = values.flatMap((v) => (isTiered(v) ? [v.base, ...v.tiers.map((t) => t.price)] : [v]));
  if (!numbers.every(validPrice)) return 'a price that is not a number ≥ 0';
  if (!values.every((v) => !isTiered(v) || v.tiers.every((t) => Number.isSafeInteger(t.start) && t.start >= 0)))
    return 'a tier that does not start at a whole number of tokens';
  const ex = (key: string, v: number) => exact(v, (to) => rounded.push({ id, key, from: v, to }));
  // No cache-read price: cached input costs as much as input (no discount is assumed).
  const rates = (above: number) => {
    const r = {
      input: ex('input_mtok', at(input, above) as number),
      cachedInput: ex('cache_read_mtok', at(cacheRead ?? input, above) as number),
      output: ex('output_mtok', at(output, above) as number),
    };
    const w = at(cacheWrite, above);
    return w === undefined ? r : { ...r, cacheWrite: ex('cache_write_mtok', w) };
  };
  const starts = [...new Set(values.flatMap((v) => (isTiered(v) ? v.tiers.map((t) => t.start) : [])))].sort((a, b) => a - b);
  const base: ModelPrice = { provider, ...rates(-1) };
  if (starts.length === 0) return base;
  const tiers: PriceTier[] = starts.map((above) => ({ above, ...rates(above) }));
  return { ...base, tiers };
}

/** The names a model's match rule lists: exact names, and prefixes (every name that starts so). */
function namesOf(match: MatchLogic, out: { exact: string[]; prefixes: string[]; other: string[] }): void {
  if ('or' in match) for (const m of match.or) namesOf(m, out);
  else if ('equals' in match) out.exact.push(match.equals.toLowerCase());
  else if ('starts_with' in match) {
    // A prefix matches itself too: `claude-3-5-haiku` is also what its snapshots strip to. As a
    // prefix, only one that ends in a separator (`ft:gpt-4o-2024-`, `gpt-5-nano-`): that is a family
    // of variants. A bare name (`claude-sonnet-5`) also starts the names of later models
    // (`claude-sonnet-5-5`), which must not be priced as it without a word: its dated snapshots
    // resolve by the snapshot rule, and an unknown model is refused unless a default price is set.
    const prefix = match.starts_with.toLowerCase();
    out.exact.push(prefix);
    if (/[-@:._/]$/.test(prefix)) out.prefixes.push(prefix);
  } else if ('regex' in match) {
    // Dated snapshots (`^gpt-5\.6-luna-\d{4}-\d{2}-\d{2}$`): the base name, which a snapshot strips to.
    const snapshot = /^\^([a-z0-9.\\-]+?)-\\d\{(?:4\}-\\d\{2\}-\\d\{2|8)\}\$$/.exec(match.regex);
    if (snapshot?.[1]) out.exact.push(snapshot[1].replace(/\\\./g, '.'));
    else out.other.push(`regex ${match.regex}`);
  } else out.other.push(JSON.stringify(match));
}

/** spendguard's table from the data's providers, with the prices in force at `now`. */
export function tableFromData(providers: readonly DataProvider[], now: Date): BundledTable {
  const table: BundledTable = { models: {}, aliases: {}, prefixes: {}, ids: {}, skipped: [], rounded: [] };
  for (const data of providers) {
    const provider = data.id as Provider;
    for (const model of data.models) {
      const prices = pricesAt(model, now);
      const price = typeof prices === 'string' ? prices : toModelPrice(provider, model.id, prices, table.rounded);
      if (typeof price === 'string') {
        table.skipped.push({ provider, id: model.id, reason: price });
        continue;
      }
      // The data's order decides between two models that claim one name: the first one listed.
      if (table.models[model.id] || table.aliases[model.id]) {
        table.skipped.push({ provider, id: model.id, reason: 'a name another model has' });
        continue;
      }
      table.models[model.id] = price;
      table.ids[model.id] = model.id;
      const names = { exact: [] as string[], prefixes: [] as string[], other: [] as string[] };
      namesOf(model.match, names);
      for (const name of names.exact) if (name !== model.id && !table.models[name] && !table.aliases[name]) table.aliases[name] = model.id;
      for (const prefix of names.prefixes) if (!table.prefixes[prefix]) table.prefixes[prefix] = model.id;
    }
  }
  for (const legacy of LEGACY_NAMES) {
    const id = table.aliases[legacy];
    if (table.models[legacy] || id === undefined || !table.models[id]) continue;
    rename(table, id, legacy);
  }
  return table;
}

function rename(table: BundledTable, from: string, to: string): void {
  table.models[to] = table.models[from] as ModelPrice;
  delete table.models[from];
  table.ids[to] = table.ids[from] as string;
  delete table.ids[from];
  delete table.aliases[to];
  table.aliases[from] = to;
  for (const [name, target] of Object.entries(table.aliases)) if (target === from) table.aliases[name] = to;
  for (const [name, target] of Object.entries(table.prefixes)) if (target === from) table.prefixes[name] = to;
}
