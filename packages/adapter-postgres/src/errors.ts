// What a failed query means for the calls in it: nothing was recorded, or it may have committed.
import { SpendGuardError } from '@spendguard/core';

/** The server aborted the transaction for a conflict with another (deadlock, serialisation): send it again. */
export function isConflict(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === '40P01' || code === '40001';
}

/** The batch's fence row was already there: a client gave up on this batch, so it recorded nothing. */
export function isFenced(err: unknown): boolean {
  const e = err as { code?: unknown; constraint?: unknown };
  return e?.code === '23505' && e.constraint === 'calls_pkey';
}

/**
 * The query never reached a server that could run it (no connection could be opened): nothing ran. Any
 * other failure without an SQL error (the connection dropped, the server shut down or terminated the
 * backend) may have come after the commit: the batch is in doubt.
 */
export function neverSent(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  if (e?.code === 'ECONNREFUSED' || e?.code === 'ENOTFOUND' || e?.code === 'EAI_AGAIN') return true;
  // 57P03: the server is starting up or shutting down and refused the connection.
  if (e?.code === '57P03') return true;
  if (typeof e?.message !== 'string') return false;
  return e.message.includes('timeout exceeded when trying to connect') || e.message.includes('Cannot use a pool after calling end');
}

/** An SQL error the server reported for a statement that then rolled back (not a lost connection). */
export function isStatementError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return false;
  // Class 08 (connection) and 57P (operator intervention: shutdown, terminated backend) lose the answer.
  return !code.startsWith('08') && !code.startsWith('57P');
}

const TAILS = {
  nothing: 'nothing was recorded; retry once PostgreSQL answers.',
  unknown: 'its answer was lost, so whether it was recorded is not known; retrying it is safe.',
  checking:
    'its answer was lost and PostgreSQL did not answer since, so whether it was recorded is not known yet; the adapter keeps asking and emits a SPENDGUARD_IN_DOUBT warning if it was.',
} as const;

export function unavailable(what: string, err: unknown, recorded: keyof typeof TAILS = 'nothing'): SpendGuardError {
  const message = err instanceof Error ? err.message : String(err);
  return new SpendGuardError('STORE_UNAVAILABLE', `PostgreSQL failed on ${what} (${message}): ${TAILS[recorded]}`, { cause: err });
}
