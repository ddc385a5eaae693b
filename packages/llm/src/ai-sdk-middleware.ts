// budgetMiddleware: the same reserve → call → commit / release for the Vercel AI SDK, as a
// language-model middleware for wrapLanguageModel (specification v3; v2 usage is read too).
import type { LanguageModelV3Middleware, LanguageModelV3StreamPart } from '@ai-sdk/provider';
import { type Attributes, fromMicros, type SpendGuard } from '@spendguard/core';
import { BudgetExceededError } from './budget-exceeded-error.js';
import { costMicros, estimateCost, type TokenCounts } from './cost.js';
import { canonicalModel, type PriceTable, prices } from './prices.js';
import type { ChatMessage } from './tokens.js';

export interface BudgetMiddlewareOptions {
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
  const cost = (modelId: string, usage: AnyUsage) => fromMicros(costMicros(modelId, countsFromAiSdkUsage(usage), table));

  return {
    specificationVersion: 'v3',

    async wrapGenerate({ doGenerate, params, model }) {
      const held = await reserve(model.modelId, params);
      try {
        const result = await doGenerate();
        await guard.commit(held.id, cost(model.modelId, result.usage as AnyUsage));
        return result;
      } catch (err) {
        await guard.release(held.id).catch(() => {});
        throw err;
      }
    },

    async wrapStream({ doStream, params, model }) {
      const held = await reserve(model.modelId, params);
      let result: Awaited<ReturnType<typeof doStream>>;
      try {
        result = await doStream();
      } catch (err) {
        await guard.release(held.id).catch(() => {});
        throw err;
      }
      let usage: AnyUsage | undefined;
      let started = false;
      let settled = false;
      const settle = async () => {
        if (settled) return;
        settled = true;
        if (usage) await guard.commit(held.id, cost(model.modelId, usage));
        else if (!started) await guard.release(held.id);
        else await guard.commit(held.id, held.estimate); // billed, usage unknown: the estimate stands
      };
      const watch = new TransformStream<LanguageModelV3StreamPart, LanguageModelV3StreamPart>({
        transform(part, controller) {
          started = true;
          if (part.type === 'finish') usage = part.usage as AnyUsage;
          controller.enqueue(part);
        },
        flush: () => settle(),
      });
      return { ...result, stream: result.stream.pipeThrough(watch) };
    },
  };
}
