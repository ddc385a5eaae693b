// Taking SQLite's write lock fairly between processes. SQLite's own busy handler sleeps 1, 2, 5 … up
// to 100 ms between tries, so a process in a tight loop keeps winning the lock and the other starves
// for seconds. The gap between two transactions of a busy process is only microseconds, and a sleep
// here lasts at least ~0.1 ms, so a waiter first retries without sleeping (each try costs a few µs)
// and lands in one of those gaps; only after a while does it back off to short sleeps.
import { SpendGuardError } from '@spendguard/core';

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread for `ms`: the transaction it guards is synchronous anyway. */
export function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

export function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

export interface WriteLockOptions {
  /** How long one call may wait for the lock before it fails with STORE_UNAVAILABLE (ms). */
  timeoutMs: number;
  /** How long a waiter retries without sleeping before it backs off (ms). */
  spinMs: number;
}

/** Runs `step` (an IMMEDIATE transaction) until it gets the lock or the time-out passes. */
export function withWriteLock<T>(options: WriteLockOptions, step: () => T): T {
  let started = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      return step();
    } catch (err) {
      if (!isBusy(err)) throw err;
      const now = performance.now();
      if (attempt === 0) started = now;
      const elapsed = now - started;
      if (elapsed >= options.timeoutMs) {
        throw new SpendGuardError(
          'STORE_UNAVAILABLE',
          `the SQLite file stayed locked by another connection for ${Math.round(elapsed)} ms; nothing was recorded. Retry, or raise the adapter's busyTimeoutMs.`,
          { cause: err },
        );
      }
      if (elapsed > options.spinMs) sleepSync(Math.min(2, 0.05 * 2 ** Math.min(6, attempt / 64)));
    }
  }
}
