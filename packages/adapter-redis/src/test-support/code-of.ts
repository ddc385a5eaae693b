// Test support: what a call ended with — its SpendGuardError code, another error's text, or undefined
// when it resolved.
import { isSpendGuardError } from '@spendguard/core';

export async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return isSpendGuardError(err) ? err.code : String(err);
  }
  return undefined;
}
