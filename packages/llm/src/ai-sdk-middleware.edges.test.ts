// budgetMiddleware at the edges, with the real AI SDK: a failed commit keeps the result, a call
// without usage commits the estimate, and a cancelled streamText is settled at once.
import { createOpenAI } from '@ai-sdk/openai';
import { memoryAdapter } from '@spendguard/adapter-memory';
import { createSpendGuard, isSpendGuardError, type SpendGuard } from '@spendguard/core';
import { generateText, streamText, wrapLanguageModel } from 'ai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type BudgetMiddlewareOptions, budgetMiddleware } from './ai-sdk-middleware.js';
import { estimateCost } from './cost.js';
import type { SettleErrorInfo } from './settle.js';
import { type GuardSpy, spyGuard } from './test-support/guard-spy.js';
import { FAKE_HEADERS, type FakeLlmServer, startFakeLlmServer } from './testing/fake-llm-server.js';

let server: FakeLlmServer;
beforeAll(async () => {
  server = await startFakeLlmServer();
});
afterAll(() => server.close());

function setup(failNext = 0, extra: Partial<BudgetMiddlewareOptions> = {}): GuardSpy & { model: ReturnType<typeof wrapLanguageModel> } {
  const spy = spyGuard(createSpendGuard({ store: memoryAdapter(), budgets: [{ id: 'monthly', limit: 10 }] }), failNext);
  const openai = createOpenAI({ apiKey: 'sk-test', baseURL: server.openaiBaseURL });
  const middleware = budgetMiddleware({ guard: spy.guard, attrs: {}, settleRetryDelaysMs: [5, 5, 5], ...extra });
  return { ...spy, model: wrapLanguageModel({ model: openai.chat('gpt-4.1'), middleware }) };
}
const used = async (guard: SpendGuard) => {
  const s = await guard.status('monthly');
  return [s.used, s.reserved];
};
/** The AI SDK's prompt for 'hi': one user message with one text part. */
const estimate = estimateCost({
  model: 'gpt-4.1',
  messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
  maxOutputTokens: 500,
});
const call = { prompt: 'hi', maxOutputTokens: 500, maxRetries: 0 } as const;
/** The first text at once (after the role chunk), the rest a second apart. */
const slow = { [FAKE_HEADERS.delayMs]: '1000', [FAKE_HEADERS.pauseAfter]: '2' };
const soon = { timeout: 400, interval: 5 };

describe('budgetMiddleware: a commit that fails', () => {
  it('generateText keeps its text; a retry in the background records the cost', async () => {
    const onSettleError = vi.fn();
    const { guard, calls, model } = setup(2, { onSettleError });
    const { text } = await generateText({ model, ...call });
    expect(text).toBe('Budgets keep spend in check.');
    await vi.waitFor(async () => expect(await used(guard)).toEqual([0.0045, 0]), soon);
    expect(calls).toEqual(['commit 0.0045', 'commit 0.0045', 'commit 0.0045']);
    expect(onSettleError).not.toHaveBeenCalled();
  });

  it('streamText keeps its text; a commit that never succeeds is reported once', async () => {
    const reports: Array<[unknown, SettleErrorInfo]> = [];
    const { calls, model } = setup(Number.POSITIVE_INFINITY, { onSettleError: (e, i) => reports.push([e, i]) });
    const result = streamText({ model, ...call });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    expect(text).toBe('Budgets keep spend in check.');
    await vi.waitFor(() => expect(reports).toHaveLength(1), soon);
    expect(isSpendGuardError(reports[0]?.[0], 'STORE_UNAVAILABLE')).toBe(true);
    expect(reports[0]?.[1]).toMatchObject({ action: 'commit', amount: 0.0045, attempts: 4 });
    expect(calls).toHaveLength(4);
  });
});

describe('budgetMiddleware: no usage', () => {
  it('generateText and streamText without usage commit the estimate, not 0', async () => {
    const { guard, model } = setup();
    const headers = { [FAKE_HEADERS.usage]: 'omit' };
    expect((await generateText({ model, ...call, headers })).text).toBe('Budgets keep spend in check.');
    expect(await used(guard)).toEqual([estimate, 0]);
    const result = streamText({ model, ...call, headers });
    for await (const _ of result.textStream);
    expect(await used(guard)).toEqual([2 * estimate, 0]);
  });
});

describe('budgetMiddleware: a cancelled streamText', () => {
  it('aborted through abortSignal after the first text: the estimate is committed at once', async () => {
    const { guard, calls, model } = setup();
    const ac = new AbortController();
    const result = streamText({ model, ...call, headers: slow, abortSignal: ac.signal, onError: () => {} });
    const reader = result.textStream.getReader();
    await reader.read();
    ac.abort();
    await vi.waitFor(async () => expect(await used(guard)).toEqual([estimate, 0]), soon);
    expect(calls).toHaveLength(1);
  });

  it('the model stream cancelled by its reader: settled at once (released before any answer, else the estimate)', async () => {
    // streamText does not pass a cancel of result.textStream on to the model (it tees the stream and
    // reads the call to its end, committed then): abortSignal stops a streamText. Whatever reads the
    // model's stream itself can cancel it.
    const prompt = [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'hi' }] }];
    for (const [reads, expected] of [
      [1, 'release'],
      [3, `commit ${estimate}`],
    ] as const) {
      const { guard, calls, model } = setup();
      const { stream } = await model.doStream({ prompt, maxOutputTokens: 500, headers: slow });
      const reader = stream.getReader();
      const parts: string[] = [];
      for (let i = 0; i < reads; i++) parts.push(((await reader.read()).value as { type: string }).type);
      expect(parts[0]).toBe('stream-start');
      await reader.cancel();
      expect(calls).toEqual([expected]);
      expect((await used(guard))[1]).toBe(0);
    }
  });
});
