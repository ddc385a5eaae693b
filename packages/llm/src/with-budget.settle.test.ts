// withBudget after the provider billed a call: a response without usage commits the estimate, and a
// failed commit never loses the paid answer (retried in the background, then reported).
import Anthropic from '@anthropic-ai/sdk';
import { memoryAdapter } from '@spendguard/adapter-memory';
import { createSpendGuard, isSpendGuardError, type SpendGuard } from '@spendguard/core';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { estimateCost } from './cost.js';
import type { SettleErrorInfo } from './settle.js';
import { spyGuard } from './test-support/guard-spy.js';
import { FAKE_HEADERS, type FakeLlmServer, startFakeLlmServer } from './testing/fake-llm-server.js';
import { withBudget } from './with-budget.js';

let server: FakeLlmServer;
beforeAll(async () => {
  server = await startFakeLlmServer();
});
afterAll(() => server.close());
afterEach(() => vi.restoreAllMocks());

const guardWith = (limit = 10): SpendGuard => createSpendGuard({ store: memoryAdapter(), budgets: [{ id: 'monthly', limit }] });
const openaiClient = () => new OpenAI({ apiKey: 'sk-test', baseURL: server.openaiBaseURL, maxRetries: 0 });
const anthropicClient = () => new Anthropic({ apiKey: 'sk-ant-test', baseURL: server.anthropicBaseURL, maxRetries: 0 });
const used = async (guard: SpendGuard) => {
  const s = await guard.status('monthly');
  return [s.used, s.reserved];
};
const hi = [{ role: 'user' as const, content: 'hi' }];
const noUsage = { headers: { [FAKE_HEADERS.usage]: 'omit' } };
const fast = [5, 5, 5];

describe('withBudget: a response without usage', () => {
  it('commits the reserved estimate and returns the answer (chat, responses, Anthropic messages)', async () => {
    const guard = guardWith();
    const openai = withBudget(openaiClient(), { guard, attrs: {} });
    const chat = await openai.chat.completions.create({ model: 'gpt-4.1', messages: hi, max_tokens: 500 }, noUsage);
    expect(chat.choices[0]?.message.content).toBe('Budgets keep spend in check.');
    expect(chat.usage).toBeUndefined();
    const chatEstimate = estimateCost({ model: 'gpt-4.1', messages: hi, maxOutputTokens: 500 });
    expect(await used(guard)).toEqual([chatEstimate, 0]);

    const res = await openai.responses.create({ model: 'gpt-4.1', input: 'hi', max_output_tokens: 500 }, noUsage);
    expect(res.output_text).toBe('Budgets keep spend in check.');
    expect(await used(guard)).toEqual([2 * chatEstimate, 0]);

    const anthropic = withBudget(anthropicClient(), { guard, attrs: {} });
    const msg = await anthropic.messages.create({ model: 'claude-sonnet-4', max_tokens: 1000, messages: hi }, noUsage);
    expect(msg.content[0]).toEqual({ type: 'text', text: 'Budgets keep spend in check.' });
    const msgEstimate = estimateCost({ model: 'claude-sonnet-4', messages: hi, maxOutputTokens: 1000 });
    expect((await used(guard))[0]).toBeCloseTo(2 * chatEstimate + msgEstimate, 9);
    expect((await used(guard))[1]).toBe(0);
  });

  it('an Anthropic stream without usage commits the estimate, not a cost of 0', async () => {
    const guard = guardWith();
    const client = withBudget(anthropicClient(), { guard, attrs: {} });
    const stream = await client.messages.create({ model: 'claude-sonnet-4', max_tokens: 1000, messages: hi, stream: true }, noUsage);
    for await (const _ of stream);
    expect(await used(guard)).toEqual([estimateCost({ model: 'claude-sonnet-4', messages: hi, maxOutputTokens: 1000 }), 0]);
  });
});

describe('withBudget: a commit that fails', () => {
  it('returns the answer, and a retry in the background records the cost once the store is back', async () => {
    const spy = spyGuard(guardWith(), 2);
    const onSettleError = vi.fn();
    const client = withBudget(openaiClient(), { guard: spy.guard, attrs: {}, onSettleError, settleRetryDelaysMs: fast });
    const res = await client.chat.completions.create({ model: 'gpt-4.1', messages: hi, max_tokens: 500 });
    expect(res.choices[0]?.message.content).toBe('Budgets keep spend in check.');
    await vi.waitFor(async () => expect(await used(spy.guard)).toEqual([0.0045, 0]), { timeout: 1000, interval: 5 });
    expect(spy.calls).toEqual(['commit 0.0045', 'commit 0.0045', 'commit 0.0045']);
    expect(onSettleError).not.toHaveBeenCalled();
  });

  it('reports a commit that never succeeds once, after its retries, without failing the call', async () => {
    const spy = spyGuard(guardWith(), Number.POSITIVE_INFINITY);
    const reports: Array<[unknown, SettleErrorInfo]> = [];
    const client = withBudget(openaiClient(), {
      guard: spy.guard,
      attrs: {},
      onSettleError: (err, info) => reports.push([err, info]),
      settleRetryDelaysMs: fast,
    });
    const res = await client.chat.completions.create({ model: 'gpt-4.1', messages: hi, max_tokens: 500 });
    expect(res.choices[0]?.message.content).toBe('Budgets keep spend in check.');
    await vi.waitFor(() => expect(reports).toHaveLength(1), { timeout: 1000, interval: 5 });
    const [err, info] = reports[0] as [unknown, SettleErrorInfo];
    expect(isSpendGuardError(err, 'STORE_UNAVAILABLE')).toBe(true);
    expect(info).toMatchObject({ action: 'commit', amount: 0.0045, attempts: 4 });
    expect(info.reservationId).toMatch(/\S/);
    expect(spy.calls).toHaveLength(4);
  });

  it('does not retry what a retry cannot fix, and warns through process.emitWarning by default', async () => {
    const guard = guardWith();
    const real = guard.commit.bind(guard);
    // The reservation is gone by the time the call ends (someone else settled it): UNKNOWN_RESERVATION.
    vi.spyOn(guard, 'commit').mockImplementation(async (id, amount) => {
      await guard.release(id);
      return real(id, amount);
    });
    const warning = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const client = withBudget(openaiClient(), { guard, attrs: {}, settleRetryDelaysMs: fast });
    const res = await client.chat.completions.create({ model: 'gpt-4.1', messages: hi, max_tokens: 500 });
    expect(res.choices[0]?.message.content).toBe('Budgets keep spend in check.');
    expect(guard.commit).toHaveBeenCalledTimes(1);
    expect(warning).toHaveBeenCalledTimes(1);
    expect(String(warning.mock.calls[0]?.[0])).toMatch(/could not commit 0.0045 .* record it with guard.spend\(\)/);
  });
});
