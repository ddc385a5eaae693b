// withBudget's fitted calls (fitMaxTokens) and its refusal of models without a price (unknownModel).
import Anthropic from '@anthropic-ai/sdk';
import { memoryAdapter } from '@spendguard/adapter-memory';
import { createSpendGuard, isSpendGuardError, type SpendGuard } from '@spendguard/core';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BudgetExceededError } from './budget-exceeded-error.js';
import { estimateCost } from './cost.js';
import { extendPrices } from './prices.js';
import { type FakeLlmServer, startFakeLlmServer } from './testing/fake-llm-server.js';
import { withBudget } from './with-budget.js';

let server: FakeLlmServer;
beforeAll(async () => {
  server = await startFakeLlmServer();
});
afterAll(() => server.close());

const openaiClient = () => new OpenAI({ apiKey: 'sk-test', baseURL: server.openaiBaseURL, maxRetries: 0 });
const anthropicClient = () => new Anthropic({ apiKey: 'sk-ant-test', baseURL: server.anthropicBaseURL, maxRetries: 0 });
const guardWith = (monthly: number, model = 1): SpendGuard =>
  createSpendGuard({
    store: memoryAdapter(),
    budgets: [
      { id: 'monthly', limit: monthly },
      { id: 'model', per: 'model', limit: { '*': model } },
    ],
  });
const messages = [{ role: 'user' as const, content: 'Summarise the budget report in three lines.' }];

describe('withBudget fitMaxTokens', () => {
  it('sends the largest max_tokens the budget can pay instead of refusing', async () => {
    // 4096 output tokens of gpt-4.1 cost ~0.033; the monthly budget has 0.004 left.
    const guard = guardWith(0.004);
    const client = withBudget(openaiClient(), { guard, attrs: {}, fitMaxTokens: true });
    await client.chat.completions.create({ model: 'gpt-4.1', messages, max_tokens: 4096 });
    const sent = server.requests.at(-1)?.body.max_tokens as number;
    expect(sent).toBeGreaterThanOrEqual(256);
    expect(sent).toBeLessThan(4096);
    // The largest that fits: one token more would not.
    expect(estimateCost({ model: 'gpt-4.1', messages, maxOutputTokens: sent })).toBeLessThanOrEqual(0.004);
    expect(estimateCost({ model: 'gpt-4.1', messages, maxOutputTokens: sent + 1 })).toBeGreaterThan(0.004);
  });

  it('fits the tightest budget of the call, whichever refuses first', async () => {
    const guard = guardWith(0.01, 0.003); // the model budget is the tighter one
    const client = withBudget(openaiClient(), { guard, attrs: {}, fitMaxTokens: true });
    await client.responses.create({ model: 'gpt-4.1', input: 'Summarise the budget report in three lines.', max_output_tokens: 4096 });
    const sent = server.requests.at(-1)?.body.max_output_tokens as number;
    const input = [{ role: 'user' as const, content: 'Summarise the budget report in three lines.' }];
    expect(estimateCost({ model: 'gpt-4.1', messages: input, maxOutputTokens: sent })).toBeLessThanOrEqual(0.003);
    expect(estimateCost({ model: 'gpt-4.1', messages: input, maxOutputTokens: sent + 1 })).toBeGreaterThan(0.003);
  });

  it("lowers Anthropic's max_tokens the same way", async () => {
    const guard = guardWith(0.01);
    const client = withBudget(anthropicClient(), { guard, attrs: {}, fitMaxTokens: true });
    await client.messages.create({ model: 'claude-sonnet-4', messages, max_tokens: 8192 });
    const sent = server.requests.at(-1)?.body.max_tokens as number;
    expect(sent).toBeGreaterThanOrEqual(256);
    expect(sent).toBeLessThan(8192);
  });

  it('refuses, sending nothing, when not even minOutputTokens fit; and without fitMaxTokens as before', async () => {
    const guard = guardWith(0.004);
    const before = server.requests.length;
    const tight = withBudget(openaiClient(), { guard, attrs: {}, fitMaxTokens: true, minOutputTokens: 1000 });
    await expect(tight.chat.completions.create({ model: 'gpt-4.1', messages, max_tokens: 4096 })).rejects.toBeInstanceOf(
      BudgetExceededError,
    );
    const plain = withBudget(openaiClient(), { guard, attrs: {} });
    await expect(plain.chat.completions.create({ model: 'gpt-4.1', messages, max_tokens: 4096 })).rejects.toBeInstanceOf(
      BudgetExceededError,
    );
    expect(server.requests.length).toBe(before);
    expect((await guard.status('monthly')).reserved).toBe(0);
  });

  it('refuses bad options with INVALID_CONFIG', () => {
    const guard = guardWith(1);
    expect(() => withBudget(openaiClient(), { guard, attrs: {}, minOutputTokens: 0 })).toThrow(/minOutputTokens/);
    expect(() => withBudget(openaiClient(), { guard, attrs: {}, unknownModel: 'guess' as never })).toThrow(/unknownModel/);
    expect(() => withBudget(openaiClient(), { guard, attrs: {}, fitMaxTokens: 'yes' as never })).toThrow(
      /fitMaxTokens must be true or false/,
    );
  });
});

describe('withBudget unknownModel', () => {
  it('refuses a model without a price by default, naming it and how to add its price; nothing is sent or reserved', async () => {
    const guard = guardWith(10, 10);
    const before = server.requests.length;
    const table = extendPrices({ defaultPrice: { provider: 'openai', input: 2, cachedInput: 0.5, output: 8 } });
    const client = withBudget(openaiClient(), { guard, attrs: {}, prices: table });
    const err = await client.chat.completions.create({ model: 'gpt-9-preview', messages, max_tokens: 10 }).catch((e: unknown) => e);
    expect(isSpendGuardError(err, 'INVALID_CONFIG')).toBe(true);
    expect(String((err as Error).message)).toMatch(/gpt-9-preview.*extendPrices/);
    expect(server.requests.length).toBe(before);
    expect((await guard.status('monthly')).reserved).toBe(0);
  });

  it("prices it at the table's defaultPrice with unknownModel: 'default'", async () => {
    const guard = guardWith(10, 10);
    const table = extendPrices({ defaultPrice: { provider: 'openai', input: 2, cachedInput: 0.5, output: 8 } });
    const client = withBudget(openaiClient(), { guard, attrs: {}, prices: table, unknownModel: 'default' });
    await client.chat.completions.create({ model: 'gpt-9-preview', messages, max_tokens: 10 });
    expect((await guard.status('model:gpt-9-preview')).used).toBeGreaterThan(0);
  });
});
