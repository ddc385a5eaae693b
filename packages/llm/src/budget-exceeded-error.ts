// The error a guarded client throws when a budget refuses a call and no fallback was given: a
// SpendGuardError with the code BUDGET_EXCEEDED that carries the refusal.
import { type Refusal, SpendGuardError } from '@spendguard/core';

export class BudgetExceededError extends SpendGuardError {
  override readonly name: string = 'BudgetExceededError';
  readonly refusal: Refusal;

  constructor(refusal: Refusal) {
    super(
      'BUDGET_EXCEEDED',
      `spendguard refused the call: budget '${refusal.budget}' has ${refusal.remaining} left and the call may cost up to ${refusal.requested} (${refusal.reason}). Wait for the next period, raise the limit, or pass a fallback to withBudget.`,
    );
    this.refusal = refusal;
  }
}
