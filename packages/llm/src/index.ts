// @spendguard/llm: prices, estimates, provider errors and budget-guarded clients for LLM APIs
// (the Vercel AI SDK middleware is the subpath @spendguard/llm/ai-sdk).
export { BudgetExceededError } from './budget-exceeded-error.js';
export type { Budgeted, OrFallback } from './budgeted-client.js';
export { costMicros, costOf, type EstimateInput, estimateCost, type TokenCounts, tokenCounts, type Usage } from './cost.js';
export { type IncreaseRequest, increaseRequest } from './increase-request.js';
export {
  canonicalModel,
  extendPrices,
  type ModelPrice,
  type PriceTable,
  type PriceTier,
  type Provider,
  priceOf,
  prices,
} from './prices.js';
export { classifyProviderError, type ProviderErrorClass, parseDuration, retryAfterMs } from './provider-errors.js';
export type { SettleErrorInfo, SettleOptions } from './settle.js';
export { type ChatMessage, countPromptTokens } from './tokens.js';
export { type CallParams, type WithBudgetOptions, withBudget } from './with-budget.js';
