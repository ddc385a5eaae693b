// withBudget around the real OpenAI and Anthropic SDKs, pointed at a fake server on loopback.
import Anthropic from '@anthropic-ai/sdk';
import { memoryAdapter } from '@spendguard/adapter-memory';
import { createSpendGuard, type SpendGuard } from '@spendguard/core';
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

function guardWith(limit = 10): SpendGuard {
  return createSpendGuard({
    store: memoryAdapter(),
    budgets: [
      { id: 'monthly', limit },
      { id: 'model', per: 'model', limit: { '*': limit } },
    ],
  });
}
const openaiClient = () => new OpenAI({ apiKey: 'sk-test', baseURL: server.openaiBaseURL, maxRetries: 0 });
const anthropicClient = () => new Anthropic({ apiKey: 'sk-ant-test', baseURL: server.anthropicBaseURL, maxRetries: 0 });
const used = async (guard: SpendGuard, budget = 'monthly') => {
  const s = await guard.status(budget);
  return [s.used, s.reserved];
};

// Fake usage: 1200 prompt (200 cached), 300 output. gpt-4.1 → 0.0045; claude-sonnet-4 (+100 cache writes) → 0.008535.
describe('withBudget (OpenAI SDK)', () => {
  it('chat.completions.create: reserves, calls, commits the actual cost under the model budget', async () => {
    const guard = guardWith();
    const client = withBudget(openaiClient(), { guard, attrs: { project: 'api' } });
    const res = await client.chat.completions.create({
      model: 'gpt-4.1-2025-04-14',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 500,
    });
    expect(res.choices[0]?.message.content).toBe('Budgets keep spend in check.');
    expect(await used(guard)).toEqual([0.0045, 0]);
    expect(await used(guard, 'model:gpt-4.1')).toEqual([0.0045, 0]);
    expect(client.models).toBeDefined(); // the rest of the client is untouched
  });

  it('streams: asks for usage in the final chunk and commits when the stream ends', async () => {
    const guard = guardWith();
    const client = withBudget(openaiClient(), { guard, attrs: {} });
    const stream = await client.chat.completions.create({
      model: 'gpt-4.1',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 500,
      stream: true,
    });
    expect(server.requests.at(-1)?.body.stream_options).toEqual({ include_usage: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('Budgets keep spend in check.');
    expect(await used(guard)).toEqual([0.0045, 0]);
  });

  it('responses.create, plain and streamed', async () => {
    const guard = guardWith();
    const client = withBudget(openaiClient(), { guard, attrs: {} });
    const res = await client.responses.create({ model: 'gpt-4.1', input: 'hi', max_output_tokens: 500 });
    expect(res.output_text).toBe('Budgets keep spend in check.');
    const stream = await client.responses.create({
      model: 'gpt-4.1',
      input: [{ role: 'user', content: 'hi' }],
      max_output_tokens: 500,
      stream: true,
    });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    expect(types.at(-1)).toBe('response.completed');
    expect(await used(guard)).toEqual([0.009, 0]);
  });

  it('releases the reservation when the provider fails', async () => {
    const guard = guardWith();
    // The fake server's failing models are not in the table: a default price lets them be estimated.
    const table = extendPrices({ defaultPrice: { provider: 'openai', input: 2, cachedInput: 0.5, output: 8 } });
    const client = withBudget(openaiClient(), { guard, attrs: {}, prices: table, unknownModel: 'default' });
    await expect(client.chat.completions.create({ model: 'fail-500', messages: [], max_tokens: 5 })).rejects.toBeInstanceOf(
      OpenAI.InternalServerError,
    );
    expect(await used(guard)).toEqual([0, 0]);
    expect(await used(guard, 'model:fail-500')).toEqual([0, 0]);
  });

  it('when a budget refuses: the fallback value, a fallback function, or BudgetExceededError; no call is made', async () => {
    const guard = guardWith(0.001);
    const before = server.requests.length;
    const params = { model: 'gpt-4.1', messages: [{ role: 'user' as const, content: 'hi' }], max_tokens: 500 };
    const plain = withBudget(openaiClient(), { guard, attrs: {} });
    const err = await plain.chat.completions.create(params).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BudgetExceededError);
    expect((err as BudgetExceededError).refusal).toMatchObject({ allowed: false, reason: 'limit_exceeded', budget: 'monthly' });
    const value = withBudget(openaiClient(), { guard, attrs: {}, fallback: { cached: true } });
    expect(await value.chat.completions.create(params)).toEqual({ cached: true });
    const fn = withBudget(openaiClient(), {
      guard,
      attrs: {},
      fallback: (r: { budget: string }, p: { model: string }) => `over ${r.budget} for ${p.model}`,
    });
    expect(await fn.chat.completions.create(params)).toBe('over monthly for gpt-4.1');
    expect(server.requests.length).toBe(before);
  });
});

describe('withBudget (Anthropic SDK)', () => {
  it('messages.create: reserves against max_tokens and commits input, cache reads, cache writes and output', async () => {
    const guard = guardWith();
    const client = withBudget(anthropicClient(), { guard, attrs: { project: 'api' } });
    const msg = await client.messages.create({
      model: 'claude-sonnet-4-20250514',
      max_tokens: 1000,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(msg.content[0]).toEqual({ type: 'text', text: 'Budgets keep spend in check.' });
    expect(await used(guard)).toEqual([0.008535, 0]);
    expect(await used(guard, 'model:claude-sonnet-4')).toEqual([0.008535, 0]);
  });

  it('streams: usage from message_start and the last message_delta', async () => {
    const guard = guardWith();
    const client = withBudget(anthropicClient(), { guard, attrs: {} });
    const stream = await client.messages.create({
      model: 'claude-sonnet-4',
      max_tokens: 1000,
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    let text = '';
    for await (const event of stream)
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
    expect(text).toBe('Budgets keep spend in check.');
    expect(await used(guard)).toEqual([0.008535, 0]);
  });

  it('a stream abandoned after its first event commits the estimate (the call was billed)', async () => {
    const guard = guardWith();
    const client = withBudget(anthropicClient(), { guard, attrs: {} });
    const stream = await client.messages.create({
      model: 'claude-3-5-haiku',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    for await (const _ of stream) break;
    // message_start's usage counts 1 output token so far: not final, so the reserved estimate stands.
    const estimate = estimateCost({ model: 'claude-3-5-haiku', messages: [{ role: 'user', content: 'hi' }], maxOutputTokens: 100 });
    expect(await used(guard)).toEqual([estimate, 0]);
  });
});
