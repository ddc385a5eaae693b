// The one error class of spendguard: every thrown failure carries a code a caller can switch on.

export type SpendGuardErrorCode =
  | 'INVALID_AMOUNT'
  | 'INVALID_ATTRIBUTES'
  | 'INVALID_CONFIG'
  | 'UNKNOWN_BUDGET'
  | 'OVER_ALLOCATED'
  | 'UNKNOWN_RESERVATION'
  | 'STORE_UNAVAILABLE'
  | 'BUDGET_EXCEEDED';

export class SpendGuardError extends Error {
  /** 'SpendGuardError', or a subclass's own name (e.g. 'BudgetExceededError'); switch on `code`. */
  override readonly name: string = 'SpendGuardError';
  readonly code: SpendGuardErrorCode;

  constructor(code: SpendGuardErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isSpendGuardError(err: unknown, code?: SpendGuardErrorCode): err is SpendGuardError {
  return err instanceof SpendGuardError && (code === undefined || err.code === code);
}
