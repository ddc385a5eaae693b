// budgetMiddleware with the real Vercel AI SDK (generateText, streamText) and its OpenAI provider,
// pointed at the fake server on loopback.
import { createOpenAI } from '@ai-sdk/openai';
import { memoryAdapter } from '@spendguard/adapter-memory';
import { createSpendGuard } from '@spendguard/core';
import { generateText, streamText, wrapLanguageModel } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { budgetMiddleware, countsFromAiSdkUsage } from './ai-sdk-middleware.js';
import { BudgetExceededError } from './budget-exceeded-error.js';
import { type FakeLlmServer, startFakeLlmServer } from './testing/fake-llm-server.js';

let server: FakeLlmServer;
beforeAll(async () => {
  server = await startFakeLlmServer();
});
afterAll(() => server.close());

function setup(limit = 10) {
  const guard = createSpendGuard({
    store: memoryAdapter(),
    budgets: [
      { id: 'monthly', limit },
      { id: 'model', per: 'model', limit: { '*': limit } },
    ],
  });
  const openai = createOpenAI({ apiKey: 'sk-test', baseURL: server.openaiBaseURL });
  const model = wrapLanguageModel({ model: openai.chat('gpt-4.1'), middleware: budgetMiddleware({ guard, attrs: { project: 'api' } }) });
  return { guard, model };
}

describe('budgetMiddleware (Vercel AI SDK)', () => {
  it('generateText: reserves, calls, commits the actual cost', async () => {
    const { guard, model } = setup();
    const { text } = await generateText({ model, prompt: 'hi', maxOutputTokens: 500, maxRetries: 0 });
    expect(text).toBe('Budgets keep spend in check.');
    const s = await guard.status('model:gpt-4.1');
    expect([s.used, s.reserved]).toEqual([0.0045, 0]);
  });

  it('streamText: commits from the finish part when the stream ends', async () => {
    const { guard, model } = setup();
    const result = streamText({ model, prompt: 'hi', maxOutputTokens: 500, maxRetries: 0 });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    expect(text).toBe('Budgets keep spend in check.');
    const s = await guard.status('monthly');
    expect([s.used, s.reserved]).toEqual([0.0045, 0]);
  });

  it('refuses before the call when a budget would be passed', async () => {
    const { guard, model } = setup(0.001);
    const before = server.requests.length;
    const err = await generateText({ model, prompt: 'hi', maxOutputTokens: 500, maxRetries: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BudgetExceededError);
    expect(server.requests.length).toBe(before);
    expect((await guard.status('monthly')).used).toBe(0);
  });

  it('reads v2 and v3 usage', () => {
    expect(
      countsFromAiSdkUsage({ inputTokens: { total: 1200, noCache: 1000, cacheRead: 200, cacheWrite: 0 }, outputTokens: { total: 300 } }),
    ).toEqual({ input: 1000, cachedInput: 200, cacheWrite: 0, output: 300 });
    expect(countsFromAiSdkUsage({ inputTokens: 1200, cachedInputTokens: 200, outputTokens: 300 })).toEqual({
      input: 1000,
      cachedInput: 200,
      cacheWrite: 0,
      output: 300,
    });
  });
});
