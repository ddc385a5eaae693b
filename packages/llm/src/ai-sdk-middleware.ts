// budgetMiddleware: the same reserve → call → commit / release for the Vercel AI SDK, as a
// language-model middleware for wrapLanguageModel (specification v3; v2 usage is read too).
// A billed call is always committed: its usage, else the estimate; a cancelled stream settles at once.
import type { LanguageModelV3Middleware, LanguageModelV3StreamPart } from '@ai-sdk/provider';
import { type Attributes, fromMicros, type SpendGuard } from '@spendguard/core';
import { BudgetExceededError } from './budget-exceeded-error.js';
import { costMicros, estimateCost, type TokenCounts } from './cost.js';
import { canonicalModel, type PriceTable, prices } from './prices.js';
import { type SettleOptions, settle } from './settle.js';
import type { ChatMessage } from './tokens.js';

export interface BudgetMiddlewareOptions extends SettleOptions {
  guard: SpendGuard;
  /** Attributes of every call; the model id is added. */
  attrs: Attributes;
  prices?: PriceTable;
  /** The output cap assumed when a call sets no maxOutputTokens. */
  defaultMaxOutputTokens?: number;
}

type AnyUsage = {
  inputTokens?: number | { total?: number; noCache?: number; cacheRead?: number; cacheWrite?: number };
  outputTokens?: number | { total?: number };
  cachedInputTokens?: number;
};

/** Token counts from the AI SDK's usage: v3 (split input) or v2 (totals and cached input). */
export function countsFromAiSdkUsage(usage: AnyUsage): TokenCounts {
  const out = typeof usage.outputTokens === 'number' ? usage.outputTokens : (usage.outputTokens?.total ?? 0);
  if (typeof usage.inputTokens === 'object' && usage.inputTokens !== null) {
    const i = usage.inputTokens;
    const cacheRead = i.cacheRead ?? 0;
    const cacheWrite = i.cacheWrite ?? 0;
    return { input: i.noCache ?? Math.max(0, (i.total ?? 0) - cacheRead - cacheWrite), cachedInput: cacheRead, cacheWrite, output: out };
  }
  const cached = usage.cachedInputTokens ?? 0;
  return { input: Math.max(0, (usage.inputTokens ?? 0) - cached), cachedInput: cached, cacheWrite: 0, output: out };
}

/** Whether the usage reports any count: a provider that sends none leaves every field undefined. */
function hasCounts(usage: AnyUsage | undefined): usage is AnyUsage {
  if (!usage) return false;
  const n = (v: AnyUsage['inputTokens'] | AnyUsage['outputTokens']) =>
    typeof v === 'number' || (typeof v === 'object' && v !== null && Object.values(v).some((x) => typeof x === 'number'));
  return n(usage.inputTokens) || n(usage.outputTokens);
}

export function budgetMiddleware(options: BudgetMiddlewareOptions): LanguageModelV3Middleware {
  const { guard } = options;
  const table = options.prices ?? prices;

  async function reserve(modelId: string, params: { prompt: unknown; maxOutputTokens?: number | undefined }) {
    const messages = (params.prompt as ChatMessage[]).filter((m) => m.role !== 'system');
    const system = (params.prompt as ChatMessage[]).filter((m) => m.role === 'system').map((m) => m.content);
    const estimate = estimateCost(
      {
        model: modelId,
        messages,
        ...(system.length ? { system: system.join('\n') } : {}),
        maxOutputTokens: params.maxOutputTokens ?? options.defaultMaxOutputTokens ?? 4096,
      },
      table,
    );
    const r = await guard.reserve({ ...options.attrs, model: canonicalModel(modelId, table) ?? modelId }, estimate);
    if (!r.allowed) throw new BudgetExceededError(r);
    return { id: r.reservationId, estimate };
  }
  // Billed from here on: the usage's cost, or the reserved estimate when there is none.
  const cost = (modelId: string, usage: AnyUsage | undefined, estimate: number) =>
    hasCounts(usage) ? fromMicros(costMicros(modelId, countsFromAiSdkUsage(usage), table)) : estimate;

  return {
    specificationVersion: 'v3',

    async wrapGenerate({ doGenerate, params, model }) {
      const held = await reserve(model.modelId, params);
      let result: Awaited<ReturnType<typeof doGenerate>>;
      try {
        result = await doGenerate();
      } catch (err) {
        await settle(guard, held.id, undefined, options);
        throw err;
      }
      await settle(guard, held.id, cost(model.modelId, result.usage as AnyUsage, held.estimate), options);
      return result;
    },

    async wrapStream({ doStream, params, model }) {
      const held = await reserve(model.modelId, params);
      let result: Awaited<ReturnType<typeof doStream>>;
      try {
        result = await doStream();
      } catch (err) {
        await settle(guard, held.id, undefined, options);
        throw err;
      }
      let usage: AnyUsage | undefined;
      let started = false;
      let settling: Promise<void> | undefined;
      const signal = params.abortSignal;
      // Nothing arrived: released; otherwise billed, and without usage the estimate stands.
      const once = (): Promise<void> => {
        if (!settling) {
          signal?.removeEventListener('abort', once);
          settling = settle(guard, held.id, started ? cost(model.modelId, usage, held.estimate) : undefined, options);
        }
        return settling;
      };
      if (signal?.aborted) void once();
      else signal?.addEventListener('abort', once, { once: true });
      // A ReadableStream rather than a TransformStream: its cancel() runs when the reader cancels,
      // which a transform's flush never sees.
      const reader = result.stream.getReader();
      const stream = new ReadableStream<LanguageModelV3StreamPart>({
        async pull(controller) {
          let next: Awaited<ReturnType<typeof reader.read>>;
          try {
            next = await reader.read();
          } catch (err) {
            await once();
            controller.error(err);
            return;
          }
          if (next.done) {
            await once();
            controller.close();
            return;
          }
          // stream-start comes from the provider's code, before any byte of the answer.
          if (!settling && next.value.type !== 'stream-start') {
            started = true;
            if (next.value.type === 'finish') usage = next.value.usage as AnyUsage;
          }
          controller.enqueue(next.value);
        },
        async cancel(reason) {
          const settled = once();
          await reader.cancel(reason).catch(() => {});
          await settled;
        },
      });
      return { ...result, stream };
    },
  };
}
