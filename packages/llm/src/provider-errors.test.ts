// The classifier on the error objects that the real SDKs throw, from a fake server on loopback.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyProviderError, parseDuration, retryAfterMs } from './provider-errors.js';
import { type FakeLlmServer, startFakeLlmServer } from './testing/fake-llm-server.js';

let server: FakeLlmServer;
let openai: OpenAI;
let anthropic: Anthropic;
beforeAll(async () => {
  server = await startFakeLlmServer();
  openai = new OpenAI({ apiKey: 'sk-test', baseURL: server.openaiBaseURL, maxRetries: 0 });
  anthropic = new Anthropic({ apiKey: 'sk-ant-test', baseURL: server.anthropicBaseURL, maxRetries: 0 });
});
afterAll(() => server.close());

async function thrown(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

const chat = (model: string) => openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
const message = (model: string) => anthropic.messages.create({ model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });

describe('classifyProviderError', () => {
  it('OpenAI insufficient_quota is quota exhausted, not retryable', async () => {
    const err = await thrown(chat('fail-quota'));
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(classifyProviderError(err)).toEqual({ kind: 'quota_exhausted', retryable: false });
  });

  it('OpenAI 429 rate limit is retryable after the longest x-ratelimit-reset', async () => {
    expect(classifyProviderError(await thrown(chat('fail-rate')))).toEqual({
      kind: 'rate_limited',
      retryable: true,
      retryAfterMs: 360_000,
    });
  });

  it('OpenAI 5xx is retryable', async () => {
    expect(classifyProviderError(await thrown(chat('fail-500')))).toEqual({ kind: 'other', retryable: true });
  });

  it('Anthropic 529 is overloaded; 429 waits retry-after; a low credit balance is quota exhausted', async () => {
    expect(classifyProviderError(await thrown(message('fail-overloaded')))).toEqual({ kind: 'overloaded', retryable: true });
    expect(classifyProviderError(await thrown(message('fail-rate')))).toEqual({
      kind: 'rate_limited',
      retryable: true,
      retryAfterMs: 7000,
    });
    const credit = await thrown(message('fail-credit'));
    expect(credit).toBeInstanceOf(Anthropic.BadRequestError);
    expect(classifyProviderError(credit)).toEqual({ kind: 'quota_exhausted', retryable: false });
  });

  it('a refused connection is retryable; anything else is not', async () => {
    const offline = new OpenAI({ apiKey: 'sk-test', baseURL: 'http://127.0.0.1:9/v1', maxRetries: 0 });
    expect(classifyProviderError(await thrown(offline.chat.completions.create({ model: 'gpt-4.1', messages: [] })))).toEqual({
      kind: 'other',
      retryable: true,
    });
    expect(classifyProviderError(new Error('boom'))).toEqual({ kind: 'other', retryable: false });
  });

  it('reads the wait from every header form', () => {
    expect(parseDuration('6m0s')).toBe(360_000);
    expect(parseDuration('20ms')).toBe(20);
    expect(parseDuration('1h2m3.5s')).toBe(3_723_500);
    expect(retryAfterMs({ 'retry-after-ms': '150' })).toBe(150);
    expect(retryAfterMs({ 'retry-after': 'Wed, 25 Nov 2026 00:00:10 GMT' }, Date.parse('2026-11-25T00:00:00Z'))).toBe(10_000);
  });
});
