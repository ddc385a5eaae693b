// withBudget's streams, read every way the SDKs allow (for await, toReadableStream, tee), left early,
// aborted or failing: each is settled exactly once, and at once.
import Anthropic from '@anthropic-ai/sdk';
import { memoryAdapter } from '@spendguard/adapter-memory';
import { createSpendGuard, type SpendGuard } from '@spendguard/core';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { estimateCost } from './cost.js';
import { type GuardSpy, spyGuard } from './test-support/guard-spy.js';
import { FAKE_HEADERS, type FakeLlmServer, startFakeLlmServer } from './testing/fake-llm-server.js';
import { withBudget } from './with-budget.js';

let server: FakeLlmServer;
beforeAll(async () => {
  server = await startFakeLlmServer();
});
afterAll(() => server.close());

const openaiClient = () => new OpenAI({ apiKey: 'sk-test', baseURL: server.openaiBaseURL, maxRetries: 0 });
const anthropicClient = () => new Anthropic({ apiKey: 'sk-ant-test', baseURL: server.anthropicBaseURL, maxRetries: 0 });
const spied = (): GuardSpy => spyGuard(createSpendGuard({ store: memoryAdapter(), budgets: [{ id: 'monthly', limit: 10 }] }));
const used = async (guard: SpendGuard) => {
  const s = await guard.status('monthly');
  return [s.used, s.reserved];
};
const hi = [{ role: 'user' as const, content: 'hi' }];
const chatParams = { model: 'gpt-4.1', messages: hi, max_tokens: 500, stream: true } as const;
const chatEstimate = estimateCost({ model: 'gpt-4.1', messages: hi, maxOutputTokens: 500 });
/** One event now, the next ones a second apart: whatever settles before then was not read to the end. */
const slow = { headers: { [FAKE_HEADERS.delayMs]: '1000' } };
/** Settled without anyone reading further: well before the next event arrives. */
const soon = { timeout: 400, interval: 5 };

async function readAll(readable: ReadableStream<Uint8Array>): Promise<unknown[]> {
  const text = await new Response(readable).text();
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

describe('withBudget streams: toReadableStream', () => {
  it('OpenAI: read to the end, commits the usage from the last chunk', async () => {
    const spy = spied();
    const client = withBudget(openaiClient(), { guard: spy.guard, attrs: {} });
    const stream = await client.chat.completions.create(chatParams);
    const chunks = (await readAll(stream.toReadableStream())) as Array<{ usage?: unknown }>;
    expect(chunks.at(-1)?.usage).toBeDefined();
    expect(await used(spy.guard)).toEqual([0.0045, 0]);
    expect(spy.calls).toEqual(['commit 0.0045']);
  });

  it('Anthropic: read to the end, commits the usage', async () => {
    const spy = spied();
    const client = withBudget(anthropicClient(), { guard: spy.guard, attrs: {} });
    const stream = await client.messages.create({ model: 'claude-sonnet-4', max_tokens: 1000, messages: hi, stream: true });
    await readAll(stream.toReadableStream());
    expect(await used(spy.guard)).toEqual([0.008535, 0]);
    expect(spy.calls).toHaveLength(1);
  });

  it('cancelled by its reader after the first event: the estimate is committed at once', async () => {
    const spy = spied();
    const client = withBudget(openaiClient(), { guard: spy.guard, attrs: {} });
    const stream = await client.chat.completions.create(chatParams, slow);
    const reader = stream.toReadableStream().getReader();
    await reader.read();
    await reader.cancel();
    await vi.waitFor(async () => expect(await used(spy.guard)).toEqual([chatEstimate, 0]), soon);
    expect(spy.calls).toEqual([`commit ${chatEstimate}`]);
  });
});

describe('withBudget streams: left, aborted, failing', () => {
  it('a for-await left early is settled when the loop exits', async () => {
    const spy = spied();
    const client = withBudget(openaiClient(), { guard: spy.guard, attrs: {} });
    const stream = await client.chat.completions.create(chatParams, slow);
    for await (const _ of stream) break;
    expect(await used(spy.guard)).toEqual([chatEstimate, 0]);
    expect(spy.calls).toHaveLength(1);
  });

  it('stream.controller.abort() mid-stream, with nobody reading: the estimate is committed at once', async () => {
    const spy = spied();
    const client = withBudget(openaiClient(), { guard: spy.guard, attrs: {} });
    const stream = await client.chat.completions.create(chatParams, slow);
    const it = stream[Symbol.asyncIterator]();
    await it.next();
    stream.controller.abort();
    await vi.waitFor(async () => expect(await used(spy.guard)).toEqual([chatEstimate, 0]), soon);
    expect(await it.next()).toMatchObject({ done: true });
    expect(spy.calls).toHaveLength(1);
  });

  it('the caller’s AbortSignal before any event is read: released at once', async () => {
    const spy = spied();
    const client = withBudget(anthropicClient(), { guard: spy.guard, attrs: {} });
    const ac = new AbortController();
    const stream = await client.messages.create(
      { model: 'claude-sonnet-4', max_tokens: 1000, messages: hi, stream: true },
      { ...slow, signal: ac.signal },
    );
    ac.abort();
    await vi.waitFor(async () => expect(spy.calls).toEqual(['release']), soon);
    expect(await used(spy.guard)).toEqual([0, 0]);
    for await (const _ of stream); // reading after the abort ends quietly and settles nothing more
    expect(spy.calls).toEqual(['release']);
  });

  it('a stream that fails mid-way commits the estimate (the call was billed) and the reader sees the error', async () => {
    const spy = spied();
    const client = withBudget(openaiClient(), { guard: spy.guard, attrs: {} });
    const stream = await client.chat.completions.create(chatParams, { headers: { [FAKE_HEADERS.dropAfter]: '2' } });
    let n = 0;
    await expect(
      (async () => {
        for await (const _ of stream) n++;
      })(),
    ).rejects.toThrow();
    expect(n).toBe(2);
    expect(await used(spy.guard)).toEqual([chatEstimate, 0]);
    expect(spy.calls).toHaveLength(1);
  });

  it('read to the end and aborted afterwards: settled once', async () => {
    const spy = spied();
    const client = withBudget(openaiClient(), { guard: spy.guard, attrs: {} });
    const stream = await client.chat.completions.create(chatParams);
    for await (const _ of stream);
    stream.controller.abort();
    expect(spy.calls).toEqual(['commit 0.0045']);
  });
});

describe('withBudget streams: tee', () => {
  it('both branches read: one commit of the usage', async () => {
    const spy = spied();
    const client = withBudget(openaiClient(), { guard: spy.guard, attrs: {} });
    const [a, b] = (await client.chat.completions.create(chatParams)).tee();
    let left = 0;
    let right = 0;
    for await (const _ of a) left++;
    for await (const _ of b.toReadableStream()) right++;
    expect(left).toBeGreaterThan(0);
    expect(right).toBeGreaterThan(0);
    expect(await used(spy.guard)).toEqual([0.0045, 0]);
    expect(spy.calls).toEqual(['commit 0.0045']);
  });

  it('both branches left early: settled at once, once', async () => {
    const spy = spied();
    const client = withBudget(anthropicClient(), { guard: spy.guard, attrs: {} });
    const stream = await client.messages.create({ model: 'claude-sonnet-4', max_tokens: 1000, messages: hi, stream: true }, slow);
    const [a, b] = stream.tee();
    for await (const _ of a) break;
    expect(spy.calls).toEqual([]); // the other branch may still read on
    for await (const _ of b) break;
    const estimate = estimateCost({ model: 'claude-sonnet-4', messages: hi, maxOutputTokens: 1000 });
    expect(await used(spy.guard)).toEqual([estimate, 0]);
    expect(spy.calls).toHaveLength(1);
  });
});
