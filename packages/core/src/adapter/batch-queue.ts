// Group commit for a store that answers asynchronously (a Redis script call, a PostgreSQL function call):
// calls that arrive while a batch is in flight wait, and go together as the next batch — one round trip
// (and one transaction) for all of them. With nothing in flight a call goes out at once, so one caller at
// a time waits no longer than without it. (group-commit.ts does the same for a synchronous store.)

/** Calls in one batch at most: bounds how long one batch holds the store (its row locks, Redis's one thread). */
export const MAX_BATCH = 128;
/** Batches in flight at once: the next one is gathered and sent while the server commits the last. */
const MAX_IN_FLIGHT = 2;

interface Pending<Op, Out> {
  op: Op;
  resolve(outcome: Out): void;
  reject(err: unknown): void;
}

export class BatchQueue<Op, Out> {
  private queue: Array<Pending<Op, Out>> = [];
  private inFlight = 0;
  private gathering = false;
  private idle: Array<() => void> = [];

  /** `send` answers one outcome per op, in order (an Error rejects that op alone), or rejects the whole batch. */
  constructor(private readonly send: (ops: Op[]) => Promise<Array<Out | Error>>) {}

  submit(op: Op): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.queue.push({ op, resolve, reject });
      if (this.gathering) return;
      if (this.inFlight === 0) this.pump();
      else if (this.inFlight < MAX_IN_FLIGHT) this.gather();
    });
  }

  /** Resolves once nothing waits and nothing is in flight. */
  drained(): Promise<void> {
    if (this.inFlight === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Sends what waits at the end of this turn, once the callers answered in it have made their next calls. */
  private gather(): void {
    if (this.gathering) return;
    this.gathering = true;
    setImmediate(() => {
      this.gathering = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0 && this.inFlight < MAX_IN_FLIGHT) {
      const size = Math.min(MAX_BATCH, Math.ceil(this.queue.length / (MAX_IN_FLIGHT - this.inFlight)));
      const batch = this.queue.slice(0, size);
      this.queue = this.queue.slice(size);
      this.inFlight++;
      void this.run(batch);
    }
    if (this.inFlight === 0 && this.queue.length === 0) {
      for (const resolve of this.idle.splice(0)) resolve();
    }
  }

  private async run(batch: Array<Pending<Op, Out>>): Promise<void> {
    let outcomes: Array<Out | Error> | undefined;
    let failure: unknown;
    try {
      outcomes = await this.send(batch.map((p) => p.op));
    } catch (err) {
      failure = err;
    }
    this.inFlight--;
    if (batch.length > 1) this.gather();
    else if (!this.gathering) this.pump();
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i] as Pending<Op, Out>;
      const out = outcomes?.[i];
      if (outcomes === undefined) p.reject(failure);
      else if (out instanceof Error) p.reject(out);
      else p.resolve(out as Out);
    }
  }
}
