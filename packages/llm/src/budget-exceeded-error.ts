// The error a guarded client throws when a budget refuses a call and no fallback was given.
import type { Refusal } from '@spendguard/core';

export class BudgetExceededError extends Error {
  override readonly name = 'BudgetExceededError';
  readonly refusal: Refusal;

  constructor(refusal: Refusal) {
    super(
      `spendguard refused the call: budget '${refusal.budget}' has ${refusal.remaining} left and the call may cost up to ${refusal.requested} (${refusal.reason}). Wait for the next period, raise the limit, or pass a fallback to withBudget.`,
    );
    this.refusal = refusal;
  }
}
