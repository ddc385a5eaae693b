// The types withBudget gives the caller: a fallback's type joins each guarded method's result (checked
// by `pnpm typecheck`); without one the client keeps its own type. No call is made here.
import Anthropic from '@anthropic-ai/sdk';
import { memoryAdapter } from '@spendguard/adapter-memory';
import { createSpendGuard, type Refusal } from '@spendguard/core';
import OpenAI from 'openai';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { type CallParams, withBudget } from './with-budget.js';

const guard = createSpendGuard({ store: memoryAdapter(), budgets: [{ id: 'monthly', limit: 1 }] });
const openai = new OpenAI({ apiKey: 'sk-test', baseURL: 'http://127.0.0.1:9/v1' });
const anthropic = new Anthropic({ apiKey: 'sk-ant-test', baseURL: 'http://127.0.0.1:9' });
const chat = { model: 'gpt-4.1', messages: [{ role: 'user' as const, content: 'hi' }], max_tokens: 10 };
const message = { model: 'claude-sonnet-4', max_tokens: 10, messages: [{ role: 'user' as const, content: 'hi' }] };
/** What a call resolves to: the unguarded SDK's call gives the expected part, overload by overload. */
type Resolved<T extends () => Promise<unknown>> = Awaited<ReturnType<T>>;

describe('withBudget types', () => {
  it('without a fallback, the client keeps its type', () => {
    const client = withBudget(openai, { guard, attrs: {} });
    expectTypeOf(client).toEqualTypeOf<OpenAI>();
    expect(client.chat.completions.create).toBeTypeOf('function');
  });

  it('a fallback value joins every overload of a guarded method, the rest of the client is unchanged', () => {
    const client = withBudget(openai, { guard, attrs: {}, fallback: { cached: true } as const });
    const plain = () => client.chat.completions.create(chat);
    const rawPlain = () => openai.chat.completions.create(chat);
    expectTypeOf<Resolved<typeof plain>>().toEqualTypeOf<Resolved<typeof rawPlain> | { readonly cached: true }>();
    const streamed = () => client.chat.completions.create({ ...chat, stream: true });
    const rawStreamed = () => openai.chat.completions.create({ ...chat, stream: true });
    expectTypeOf<Resolved<typeof streamed>>().toEqualTypeOf<Resolved<typeof rawStreamed> | { readonly cached: true }>();
    const responses = () => client.responses.create({ model: 'gpt-4.1', input: 'hi' });
    const rawResponses = () => openai.responses.create({ model: 'gpt-4.1', input: 'hi' });
    expectTypeOf<Resolved<typeof responses>>().toEqualTypeOf<Resolved<typeof rawResponses> | { readonly cached: true }>();
    expectTypeOf(client.models).toEqualTypeOf<OpenAI['models']>();
    expectTypeOf(client.chat.completions.list).toEqualTypeOf<OpenAI['chat']['completions']['list']>();
    // @ts-expect-error a guarded client with a fallback is no longer an OpenAI: its answers may not be
    const asOpenAI: OpenAI = client;
    expect(asOpenAI).toBeDefined();
  });

  it('a fallback function: its (awaited) result joins, and it sees the refusal and the params', () => {
    const client = withBudget(anthropic, {
      guard,
      attrs: {},
      fallback: async (refusal, params) => {
        expectTypeOf(refusal).toEqualTypeOf<Refusal>();
        expectTypeOf(params).toEqualTypeOf<CallParams>();
        return `over ${refusal.budget}`;
      },
    });
    const call = () => client.messages.create(message);
    const raw = () => anthropic.messages.create(message);
    expectTypeOf<Resolved<typeof call>>().toEqualTypeOf<Resolved<typeof raw> | string>();
  });

  it('a fallback shaped like the answer leaves the result type as it was', () => {
    const canned = {} as ChatCompletion;
    const client = withBudget(openai, { guard, attrs: {}, fallback: () => canned });
    const call = () => client.chat.completions.create(chat);
    expectTypeOf<Resolved<typeof call>>().toExtend<ChatCompletion>();
  });
});
