// What spend, reserve and commit return: a refusal is a result, not an exception.
import { fromMicros } from './money.js';

export type Refusal = {
  allowed: false;
  reason: 'limit_exceeded' | 'no_budget';
  budget: string;
  remaining: number;
  requested: number;
};

export type SpendResult = { allowed: true; spendId: string; remaining: Record<string, number> } | Refusal;
export type ReserveResult = { allowed: true; reservationId: string; expiresAt: number; remaining: Record<string, number> } | Refusal;
export interface CommitResult {
  spendId: string;
  actual: number;
  reserved: number;
  overage: number;
  expired: boolean;
}

/** A commit's result from its micro-unit amounts. */
export function commitResult(spendId: string, actual: number, reserved: number, expired: boolean): CommitResult {
  return {
    spendId,
    actual: fromMicros(actual),
    reserved: fromMicros(reserved),
    overage: fromMicros(Math.max(0, actual - reserved)),
    expired,
  };
}
