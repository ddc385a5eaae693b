// BudgetExceededError is a SpendGuardError: one `catch` with isSpendGuardError handles every refusal.
import { isSpendGuardError, type Refusal, SpendGuardError } from '@spendguard/core';
import { describe, expect, it } from 'vitest';
import { BudgetExceededError } from './budget-exceeded-error.js';

const refusal: Refusal = { allowed: false, reason: 'limit_exceeded', budget: 'monthly', remaining: 0.5, requested: 2 };

describe('BudgetExceededError', () => {
  it('is a SpendGuardError with the code BUDGET_EXCEEDED, its own name and the refusal', () => {
    const err = new BudgetExceededError(refusal);
    expect(err).toBeInstanceOf(SpendGuardError);
    expect(err).toBeInstanceOf(Error);
    expect(isSpendGuardError(err, 'BUDGET_EXCEEDED')).toBe(true);
    expect(err.code).toBe('BUDGET_EXCEEDED');
    expect(err.name).toBe('BudgetExceededError');
    expect(err.refusal).toBe(refusal);
    expect(err.message).toMatch(/budget 'monthly' has 0.5 left/);
    expect(String(err)).toMatch(/^BudgetExceededError: /);
  });
});
