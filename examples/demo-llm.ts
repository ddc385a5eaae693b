// The LLM demo: the official OpenAI SDK, wrapped with withBudget and pointed at a fake
// OpenAI-compatible server on loopback, spends until a budget refuses and the fallback answers.
import { memoryAdapter } from '@spendguard/adapter-memory';
import { createSpendGuard, type Refusal } from '@spendguard/core';
import { costOf, withBudget } from '@spendguard/llm';
import { startFakeLlmServer } from '@spendguard/llm/testing';
import OpenAI from 'openai';

// The fake server counts each prompt with the model's tokenizer and answers with 1 500 output tokens.
const server = await startFakeLlmServer({ promptTokens: 'counted', completionTokens: 1_500 });
const ticketHistory = 'Customer wrote: the login page says my password expired, and the reset e-mail never arrives. '.repeat(1_500);
const guard = createSpendGuard({
  store: memoryAdapter(),
  budgets: [
    { id: 'monthly', limit: 1 },
    { id: 'model', per: 'model', limit: { 'gpt-4.1': 0.55, '*': 0.25 } },
  ],
});
guard.on('alert', (a) => console.log(`  ALERT   ${a.message}`));
guard.on('denied', (d) => console.log(`  DENIED  ${d.budget}: ${d.remaining} left, the call could cost ${d.requested}`));

const openai = withBudget(new OpenAI({ apiKey: 'sk-demo', baseURL: server.openaiBaseURL, maxRetries: 0 }), {
  guard,
  attrs: { project: 'support-bot' },
  // When the worst case no longer fits, send the call with the largest max_tokens the budget can pay (at least 256).
  fitMaxTokens: true,
  // When a budget refuses, answer from a cheaper path instead of failing the user.
  fallback: (refusal: Refusal) => ({
    choices: [{ message: { role: 'assistant', content: `(fallback: ${refusal.budget} is spent — here is a canned answer)` } }],
  }),
});

console.log(`spendguard LLM demo — OpenAI SDK against a fake server at ${server.openaiBaseURL}`);
console.log(
  'each call: a ~28k-token ticket history and a question; the worst case (2k output) is reserved first, the actual cost committed after;\nnear the limit max_tokens is fitted to what is left (fitMaxTokens), and past that a fallback answers\n',
);
for (let i = 1; i <= 12; i++) {
  const model = i % 3 === 0 ? 'gpt-4.1-mini' : 'gpt-4.1-2025-04-14';
  const res = (await openai.chat.completions.create({
    model,
    max_tokens: 2_000,
    messages: [
      { role: 'system', content: ticketHistory },
      { role: 'user', content: `Question ${i}: how do I reset my password?` },
    ],
  })) as { choices: Array<{ message: { content: string | null } }>; usage?: { prompt_tokens: number; completion_tokens: number } };
  const cost = res.usage ? costOf({ model, usage: res.usage }) : 0;
  console.log(
    `call ${String(i).padStart(2)} ${model.padEnd(20)} ${res.usage ? `cost $${cost.toFixed(6)}, ${String(res.usage.completion_tokens).padStart(4)} output tokens` : 'not made'} → ${res.choices[0]?.message.content}`,
  );
}
const s = await guard.status('monthly');
console.log(`\nmonthly: $${s.used} of $${s.limit} used, ${s.reserved} reserved, level ${s.level}`);
await guard.close();
await server.close();
