// Group commit: atomic steps asked for in the same tick run together in one store transaction, in
// order, each with its own result, so a store whose cost is per transaction pays it once per group.

/** Runs `body` as one atomic step and returns its value; throwing rolls back everything `body` did. */
export type Atomic = <T>(body: () => T) => T;

interface QueuedStep {
  body: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export interface GroupCommit {
  /** Queues `body` for the next group; the promise settles when that group's transaction has ended. */
  run<T>(body: () => T): Promise<T>;
  /** Runs every queued step now (before the store closes, so that calls already made still land). */
  flush(): void;
}

/**
 * Steps queued while a group is pending run in one `atomic` call at the next microtask, not after a
 * timer: a lone step waits for nothing, and steps arriving in the same tick share the transaction.
 * `maxSteps` bounds how long one transaction holds the store's write lock.
 */
export function groupCommit(atomic: Atomic, maxSteps: number): GroupCommit {
  // A bound below 1 would never take a step off the queue.
  if (!Number.isInteger(maxSteps) || maxSteps < 1) throw new RangeError(`groupCommit needs an integer maxSteps ≥ 1; got ${maxSteps}.`);
  let queue: QueuedStep[] = [];
  let scheduled = false;

  function flush(): void {
    scheduled = false;
    const steps = queue;
    queue = [];
    for (let from = 0; from < steps.length; from += maxSteps) commit(steps.slice(from, from + maxSteps));
  }

  /**
   * One transaction for `steps`. A body that throws (a bug, or a store error inside a statement) is
   * a failure of that step alone, but the transaction has already run the steps before it and may
   * hold half of its own writes: the whole transaction is rolled back, that step fails with the
   * error `atomic` reports for it, and the others run again without it. Nothing of a rolled-back
   * attempt stays, so each step is recorded once or not at all. When the transaction itself fails
   * (the lock not taken in time, the commit refused), every step fails and nothing is recorded.
   */
  function commit(steps: QueuedStep[]): void {
    let pending = steps;
    while (pending.length > 0) {
      let thrower = -1;
      let results: unknown[];
      try {
        results = atomic(() => {
          thrower = -1; // a retried attempt (the lock was busy) starts clean
          const out = new Array<unknown>(pending.length);
          for (let i = 0; i < pending.length; i++) {
            thrower = i;
            out[i] = (pending[i] as QueuedStep).body();
          }
          thrower = -1;
          return out;
        });
      } catch (error) {
        if (thrower < 0) {
          for (const step of pending) step.reject(error);
          return;
        }
        (pending[thrower] as QueuedStep).reject(error);
        pending = pending.filter((_, i) => i !== thrower);
        continue;
      }
      for (let i = 0; i < pending.length; i++) (pending[i] as QueuedStep).resolve(results[i]);
      return;
    }
  }

  return {
    run<T>(body: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ body, resolve: resolve as (value: unknown) => void, reject });
        if (!scheduled) {
          scheduled = true;
          queueMicrotask(flush);
        }
      });
    },
    flush() {
      if (queue.length > 0) flush();
    },
  };
}
