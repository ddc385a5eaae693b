// @spendguard/llm/ai-sdk: the Vercel AI SDK middleware, apart from the root entry so that a user of the
// OpenAI or Anthropic SDK alone needs no AI SDK types (its declarations import @ai-sdk/provider).
export { type BudgetMiddlewareOptions, budgetMiddleware, countsFromAiSdkUsage } from './ai-sdk-middleware.js';
