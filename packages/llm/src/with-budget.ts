// withBudget: wraps an official OpenAI or Anthropic client so that every model call reserves its
// estimated cost first, commits the real cost from the response's usage (the estimate when it has
// none), and releases on failure.
import { type Attributes, type Refusal, type ReserveResult, type SpendGuard, SpendGuardError } from '@spendguard/core';
import { BudgetExceededError } from './budget-exceeded-error.js';
import type { Budgeted } from './budgeted-client.js';
import { costOf, estimateCost, outputTokensWithin, promptTokensOf, type Usage } from './cost.js';
import { canonicalModel, type PriceTable, prices } from './prices.js';
import { type SettleOptions, settle } from './settle.js';
import { type ApiKind, StreamUsage } from './stream-usage.js';
import type { ChatMessage } from './tokens.js';
import { watchStream } from './watch-stream.js';

type Params = Record<string, unknown>;
/** The params of a guarded call, as the fallback sees them. */
export type CallParams = { model: string; [key: string]: unknown };

/** `F` is what the fallback answers with: the guarded methods' results include it. */
export interface WithBudgetOptions<F = unknown> extends SettleOptions {
  guard: SpendGuard;
  /** Attributes of every call (project, user…), or a function of the call's params. The model is added. */
  attrs: Attributes | ((params: Params) => Attributes);
  /**
   * Returned instead of calling when a budget refuses: a value, or a function of the refusal (and
   * the call's params). Its type joins the guarded methods' result types.
   */
  fallback?: F | ((refusal: Refusal, params: CallParams) => F);
  /** The price table; default `prices`. */
  prices?: PriceTable;
  /**
   * The output cap assumed when an OpenAI call sets none. Set max_tokens / max_output_tokens on calls
   * for a true upper bound: without one, a call can cost more than it reserved (reported as overage).
   */
  defaultMaxOutputTokens?: number;
  /** How long a reservation holds while the call runs (ms). */
  ttlMs?: number;
  /**
   * When the call's output cap does not fit a budget, send it with the largest cap that does (at least
   * `minOutputTokens`) instead of refusing it: max_tokens (Anthropic, OpenAI chat) or max_output_tokens.
   */
  fitMaxTokens?: boolean;
  /** The smallest output cap fitMaxTokens sends; a call that cannot pay for it is refused. Default 256. */
  minOutputTokens?: number;
  /**
   * A model the price table does not know: refused with INVALID_CONFIG before anything is reserved or
   * sent ('refuse', the default), or priced at the table's defaultPrice ('default').
   */
  unknownModel?: 'refuse' | 'default';
}

/** Methods that make a paid call, by their path on the client. */
const GUARDED: Record<string, ApiKind> = {
  'chat.completions.create': 'openai-chat',
  'responses.create': 'openai-responses',
  'messages.create': 'anthropic',
};
const PATHS = new Set(Object.keys(GUARDED).flatMap((p) => p.split('.').map((_, i, a) => a.slice(0, i + 1).join('.'))));

function promptOf(kind: ApiKind, params: Params): { messages: ChatMessage[]; system?: unknown } {
  if (kind === 'openai-responses') {
    const input = params.input;
    const messages = typeof input === 'string' ? [{ role: 'user', content: input }] : ((input as ChatMessage[] | undefined) ?? []);
    return params.instructions === undefined ? { messages } : { messages, system: params.instructions };
  }
  const messages = (params.messages as ChatMessage[] | undefined) ?? [];
  return params.system === undefined ? { messages } : { messages, system: params.system };
}

/** The param that caps a call's output, as the call named it (or the API's current name for it). */
function maxOutputKey(kind: ApiKind, params: Params): string {
  if (kind === 'anthropic') return 'max_tokens';
  if (kind === 'openai-responses') return 'max_output_tokens';
  return params.max_completion_tokens === undefined && params.max_tokens !== undefined ? 'max_tokens' : 'max_completion_tokens';
}

function maxOutputOf(kind: ApiKind, params: Params): number | undefined {
  const v =
    kind === 'anthropic'
      ? params.max_tokens
      : kind === 'openai-chat'
        ? (params.max_completion_tokens ?? params.max_tokens)
        : params.max_output_tokens;
  return typeof v === 'number' ? v : undefined;
}

/** Whether a response's usage reports any token count: an empty or foreign object prices nothing. */
function hasTokens(usage: unknown): usage is Usage {
  if (!usage || typeof usage !== 'object') return false;
  const u = usage as Usage;
  return ['prompt_tokens', 'completion_tokens', 'input_tokens', 'output_tokens'].some((k) => typeof u[k] === 'number');
}

export function withBudget<C extends object, F = never>(client: C, options: WithBudgetOptions<F>): Budgeted<C, F> {
  const { guard } = options;
  const table = options.prices ?? prices;
  const defaultMax = options.defaultMaxOutputTokens ?? 4096;
  if (options.fitMaxTokens !== undefined && typeof options.fitMaxTokens !== 'boolean') {
    throw new SpendGuardError(
      'INVALID_CONFIG',
      `withBudget fitMaxTokens must be true or false; got ${JSON.stringify(options.fitMaxTokens)}.`,
    );
  }
  const fit = options.fitMaxTokens === true;
  const minOutput = options.minOutputTokens ?? 256;
  if (!Number.isInteger(minOutput) || minOutput < 1) {
    throw new SpendGuardError('INVALID_CONFIG', `withBudget minOutputTokens must be a whole number ≥ 1; got ${String(minOutput)}.`);
  }
  const unknownModel = options.unknownModel ?? 'refuse';
  if (unknownModel !== 'refuse' && unknownModel !== 'default') {
    throw new SpendGuardError(
      'INVALID_CONFIG',
      `withBudget unknownModel must be 'refuse' or 'default'; got ${JSON.stringify(unknownModel)}.`,
    );
  }

  async function guarded(
    kind: ApiKind,
    create: (params: Params, requestOptions?: unknown) => Promise<unknown>,
    params: Params,
    requestOptions?: unknown,
  ) {
    const model = String(params.model);
    const known = canonicalModel(model, table);
    if (known === undefined && unknownModel === 'refuse') {
      throw new SpendGuardError(
        'INVALID_CONFIG',
        `no price for model '${model}' in the price table (as of ${table.asOf}), so its cost cannot be bounded: nothing was sent. Add its price with withBudget(client, { prices: extendPrices({ models: { '${model}': { provider, input, cachedInput, output } } }) }), or pass unknownModel: 'default' with a table that has a defaultPrice.`,
      );
    }
    const prompt = promptOf(kind, params);
    let maxOutput = maxOutputOf(kind, params) ?? defaultMax;
    let estimate = estimateCost({ model, ...prompt, maxOutputTokens: maxOutput }, table);
    const base = typeof options.attrs === 'function' ? options.attrs(params) : options.attrs;
    const attrs = { ...base, model: known ?? model };
    const ttl = options.ttlMs === undefined ? undefined : { ttlMs: options.ttlMs };
    let r: ReserveResult = await guard.reserve(attrs, estimate, ttl);
    let fitted: number | undefined;
    // Each refusal names the budget short of room and what it has left: the cap is lowered to fit it, and
    // asked again (another budget may then be the one short).
    for (let tries = 0; !r.allowed && fit && r.reason === 'limit_exceeded' && tries < 4; tries++) {
      const promptTokens = promptTokensOf({ model, ...prompt }, table);
      const room = outputTokensWithin(model, promptTokens, Math.round(r.remaining * 1e6), table);
      if (room < minOutput || room >= maxOutput) break;
      maxOutput = room;
      fitted = room;
      estimate = estimateCost({ model, ...prompt, maxOutputTokens: maxOutput }, table);
      r = await guard.reserve(attrs, estimate, ttl);
    }
    if (!r.allowed) {
      if ('fallback' in options)
        return typeof options.fallback === 'function'
          ? (options.fallback as (r: Refusal, p: Params) => unknown)(r, params)
          : options.fallback;
      throw new BudgetExceededError(r);
    }
    const capped = fitted === undefined ? params : { ...params, [maxOutputKey(kind, params)]: fitted };
    const sent =
      kind === 'openai-chat' &&
      capped.stream === true &&
      (capped.stream_options as { include_usage?: boolean } | undefined)?.include_usage !== true
        ? { ...capped, stream_options: { ...(capped.stream_options as object | undefined), include_usage: true } }
        : capped;
    let result: unknown;
    try {
      result = await create(sent, requestOptions);
    } catch (err) {
      await settle(guard, r.reservationId, undefined, options);
      throw err;
    }
    // The provider has billed the call from here on: its cost is committed, never thrown away.
    const actual = (usage: Usage | undefined): number => {
      if (!hasTokens(usage)) return estimate;
      try {
        return costOf({ model, usage }, table);
      } catch {
        return estimate; // usage the table cannot price: the reserved amount stands
      }
    };
    if (params.stream === true && result && typeof result === 'object') {
      const usage = new StreamUsage(kind);
      const signal = (requestOptions as { signal?: unknown } | undefined)?.signal;
      return watchStream(
        result,
        usage,
        // No usage: released when nothing arrived; otherwise the call was billed and the estimate stands.
        () => settle(guard, r.reservationId, usage.started ? actual(usage.usage) : undefined, options),
        signal instanceof AbortSignal ? signal : undefined,
      );
    }
    await settle(guard, r.reservationId, actual((result as { usage?: Usage } | null)?.usage ?? undefined), options);
    return result;
  }

  function proxyAt<T extends object>(target: T, path: string): T {
    return new Proxy(target, {
      get(t, prop) {
        const value = Reflect.get(t, prop, t);
        if (typeof prop !== 'string') return value;
        const at = path === '' ? prop : `${path}.${prop}`;
        const kind = GUARDED[at];
        if (kind && typeof value === 'function') {
          return (params: Params, requestOptions?: unknown) => guarded(kind, (p, o) => value.call(t, p, o), params, requestOptions);
        }
        if (PATHS.has(at) && value && typeof value === 'object') return proxyAt(value as object, at);
        return value;
      },
    });
  }

  return proxyAt(client, '') as Budgeted<C, F>;
}
