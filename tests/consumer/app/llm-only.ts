// A user of the OpenAI SDK alone: the root entry of @spendguard/llm must type-check without the AI SDK's
// types in the program (../consumer.test.ts asserts none of @ai-sdk/* was read).

import { memoryAdapter } from '@spendguard/adapter-memory';
import { createSpendGuard } from '@spendguard/core';
import { BudgetExceededError, withBudget } from '@spendguard/llm';
import OpenAI from 'openai';

const guard = createSpendGuard({ store: memoryAdapter(), budgets: [{ id: 'monthly', limit: 10 }] });
export const openai = withBudget(new OpenAI({ apiKey: 'test' }), { guard, attrs: {} });
export const isRefusal = (err: unknown) => err instanceof BudgetExceededError;
