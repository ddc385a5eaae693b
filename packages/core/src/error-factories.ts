// The errors the guard throws, each with a message that says what was wrong and what to do.
import { SpendGuardError } from './errors.js';

/** A store failure. A SpendGuardError from the store (bad input it noticed) keeps its own code. */
export function storeUnavailable(err: unknown): SpendGuardError {
  if (err instanceof SpendGuardError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new SpendGuardError(
    'STORE_UNAVAILABLE',
    `the budget store did not answer (${detail}); nothing was recorded. Retry later, or create the guard with onStoreError: 'allow' and an offlineAllowance to admit and journal spends while the store is down.`,
    { cause: err },
  );
}

export function isStoreFailure(err: unknown): boolean {
  return !(err instanceof SpendGuardError) || err.code === 'STORE_UNAVAILABLE';
}

export function unknownReservation(id: string): SpendGuardError {
  return new SpendGuardError(
    'UNKNOWN_RESERVATION',
    `no reservation '${id}' is known: it was never made by a guard on this store, or it was settled longer ago than the retention window. Use the reservationId that reserve() returned.`,
  );
}

export function releasedReservation(id: string): SpendGuardError {
  return new SpendGuardError(
    'UNKNOWN_RESERVATION',
    `reservation '${id}' was released and cannot be committed. Record the cost with spend() instead.`,
  );
}

export function committedReservation(id: string): SpendGuardError {
  return new SpendGuardError('UNKNOWN_RESERVATION', `reservation '${id}' was already committed; there is nothing left to release.`);
}

export function closedGuard(): SpendGuardError {
  return new SpendGuardError('INVALID_CONFIG', 'this guard was closed; create a new one with createSpendGuard().');
}

export function configError(message: string): SpendGuardError {
  return new SpendGuardError('INVALID_CONFIG', message);
}
