// Taking SQLite's write lock fairly between processes. SQLite's own busy handler sleeps 1, 2, 5 … up
// to 100 ms between tries, so a process in a tight loop keeps winning the lock and the other starves
// for seconds. Here a waiter polls every few tens of microseconds, and once any process has waited,
// every process leaves a short gap after its commit so that waiters get their turn.
import { SpendGuardError } from '@spendguard/core';

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread for `ms` (fractions allowed): the transaction it guards is synchronous anyway. */
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
  /** The gap each process leaves after a commit while processes contend (ms). */
  courtesyMs: number;
}

export class WriteLock {
  private lastCommit = 0;
  /** Until when (wall clock, ms) processes are known to contend; read by each step from the file. */
  contendedUntil = 0;

  constructor(private readonly options: WriteLockOptions) {}

  /**
   * Runs `step` (an IMMEDIATE transaction) until it gets the lock. The step is told whether this
   * call had to wait long enough to ask every process for the courtesy gap.
   */
  run<T>(step: (markContention: boolean) => T): T {
    const started = performance.now();
    const sinceCommit = started - this.lastCommit;
    if (sinceCommit < this.options.courtesyMs && Date.now() < this.contendedUntil) sleepSync(this.options.courtesyMs - sinceCommit);
    for (let attempt = 0; ; attempt++) {
      try {
        const result = step(performance.now() - started > this.options.courtesyMs);
        this.lastCommit = performance.now();
        return result;
      } catch (err) {
        if (!isBusy(err)) throw err;
        const elapsed = performance.now() - started;
        if (elapsed >= this.options.timeoutMs) {
          throw new SpendGuardError(
            'STORE_UNAVAILABLE',
            `the SQLite file stayed locked by another connection for ${Math.round(elapsed)} ms; nothing was recorded. Retry, or raise the adapter's busyTimeoutMs.`,
            { cause: err },
          );
        }
        sleepSync(0.02 + Math.random() * Math.min(0.2, 0.02 * (attempt + 1)));
      }
    }
  }
}
