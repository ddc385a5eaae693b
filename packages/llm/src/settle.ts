// Settling a reservation after the provider answered: the call's answer is never lost to a failed
// commit. A store that is briefly away is retried in the background; what cannot be settled is reported.
import { isSpendGuardError, type SpendGuard } from '@spendguard/core';

/** What a failed settlement was about, passed to `onSettleError`. */
export interface SettleErrorInfo {
  reservationId: string;
  /** 'commit': a paid call whose cost is not recorded; 'release': a hold that stays until it expires. */
  action: 'commit' | 'release';
  /** The amount that was to be committed (currency units); 0 for a release. */
  amount: number;
  /** How many times it was tried. */
  attempts: number;
}

export interface SettleOptions {
  /**
   * Called once when a reservation could not be settled: a commit or release that still failed
   * after its retries, or failed for a reason a retry cannot fix. Default: `process.emitWarning`.
   * The guarded call itself never fails for it: the provider's answer is returned.
   */
  onSettleError?: (error: unknown, info: SettleErrorInfo) => void;
  /**
   * The waits (ms) before each background retry of a settlement that failed with STORE_UNAVAILABLE.
   * Default [200, 1000, 5000]: a store back within about six seconds records the call.
   */
  settleRetryDelaysMs?: readonly number[];
}

const DEFAULT_DELAYS = [200, 1000, 5000] as const;

function warn(error: unknown, info: SettleErrorInfo): void {
  const what =
    info.action === 'commit'
      ? `commit ${info.amount} to reservation '${info.reservationId}': a paid call is not recorded; record it with guard.spend()`
      : `release reservation '${info.reservationId}': its amount stays held until the reservation expires`;
  const message = `spendguard could not ${what} (${info.attempts} attempt(s)): ${error instanceof Error ? error.message : String(error)}`;
  const proc = (globalThis as { process?: { emitWarning?: (m: string, o: { type: string; code?: string }) => void } }).process;
  if (typeof proc?.emitWarning === 'function') proc.emitWarning(message, { type: 'SpendGuardWarning', code: 'SPENDGUARD_SETTLE_FAILED' });
  else console.warn(message);
}

function report(options: SettleOptions, error: unknown, info: SettleErrorInfo): void {
  try {
    (options.onSettleError ?? warn)(error, info);
  } catch (err) {
    // A throwing reporter must not turn into an unhandled rejection nor fail the call.
    warn(err, info);
  }
}

/**
 * Commits `amount` (or releases, when amount is undefined) and resolves once the first attempt is
 * done, never rejecting: a STORE_UNAVAILABLE failure is retried in the background, anything else or
 * the last failure goes to `onSettleError`.
 */
export async function settle(guard: SpendGuard, reservationId: string, amount: number | undefined, options: SettleOptions): Promise<void> {
  const info: SettleErrorInfo = { reservationId, action: amount === undefined ? 'release' : 'commit', amount: amount ?? 0, attempts: 0 };
  const attempt = async (): Promise<unknown> => {
    info.attempts++;
    try {
      if (amount === undefined) await guard.release(reservationId);
      else await guard.commit(reservationId, amount);
      return undefined;
    } catch (err) {
      return err ?? new Error('settlement failed');
    }
  };
  const delays = options.settleRetryDelaysMs ?? DEFAULT_DELAYS;
  const retry = (error: unknown, i: number): void => {
    const delay = delays[i];
    if (!isSpendGuardError(error, 'STORE_UNAVAILABLE') || delay === undefined) {
      report(options, error, { ...info });
      return;
    }
    setTimeout(() => {
      void attempt().then((err) => {
        if (err !== undefined) retry(err, i + 1);
      });
    }, delay);
  };
  const error = await attempt();
  if (error !== undefined) retry(error, 0);
}
