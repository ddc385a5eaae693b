// Group commit: charges and settles that arrive while a batch is in flight wait, and go together as one
// batch script call (lua/batch.lua) that applies each in order, all or nothing each, with its own result.
// With nothing in flight a call goes out at once, so one caller at a time waits no longer than before.
import type { SpendGuardError } from '@spendguard/core';
import { decodeResults, doubtOf, encodeOps, keysAt, type Op, type Outcome } from './batch.js';
import type { Keys } from './keys.js';
import type { Reply, ScriptCaller } from './script-caller.js';

/** Operations in one batch at most: bounds the script's run time (Redis runs nothing else meanwhile). */
export const MAX_BATCH = 128;
/** Batches in flight at once: one more overlaps the client's encoding and decoding with the server's run. */
const MAX_IN_FLIGHT = 2;

interface Pending {
  op: Op;
  resolve(outcome: Outcome): void;
  reject(err: unknown): void;
}

export interface GroupCommitOptions {
  retention(): number;
  eventRetention(): number;
  historyRetentionMs: number;
}

export class GroupCommit {
  private queue: Pending[] = [];
  private inFlight = 0;
  /** A batch of many was just answered: its callers' next calls, made in this turn, wait to go as one. */
  private gathering = false;

  constructor(
    private readonly caller: ScriptCaller,
    private readonly keys: Keys,
    private readonly options: GroupCommitOptions,
  ) {}

  submit(op: Op): Promise<Outcome> {
    return new Promise<Outcome>((resolve, reject) => {
      this.queue.push({ op, resolve, reject });
      if (this.gathering) return;
      if (this.inFlight === 0) this.pump();
      else if (this.inFlight < MAX_IN_FLIGHT) this.gather();
    });
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

  /**
   * Sends what waits, spread over the free in-flight slots: while Redis runs one batch, the client
   * answers the other's callers and gathers their next calls, so neither side waits for the other.
   */
  private pump(): void {
    while (this.queue.length > 0 && this.inFlight < MAX_IN_FLIGHT) {
      const size = Math.min(MAX_BATCH, Math.ceil(this.queue.length / (MAX_IN_FLIGHT - this.inFlight)));
      const batch = size === this.queue.length ? this.queue : this.queue.slice(0, size);
      this.queue = size === this.queue.length ? [] : this.queue.slice(size);
      this.inFlight++;
      this.send(batch);
    }
  }

  private send(batch: Pending[]): void {
    const ops = batch.map((p) => p.op);
    const { limits, holds, leases, feed, prefix } = this.keys;
    const done = () => {
      this.inFlight--;
      if (batch.length > 1) this.gather();
      else if (!this.gathering) this.pump();
    };
    this.caller
      .record({
        script: 'batch',
        keys: [limits, holds, this.caller.session, leases, feed],
        args: (attempt, deadline, session) => {
          const acks = session?.acks ?? [];
          const encoded = encodeOps(ops, keysAt(acks.length));
          return [
            prefix,
            attempt,
            deadline,
            session?.refresh ?? 0,
            this.options.retention(),
            this.options.historyRetentionMs,
            encoded.refs,
            encoded.ops,
            this.options.eventRetention(),
            acks.length,
            ...acks,
            ...encoded.keys,
          ];
        },
        doubt: (attempt, deadline) => ({ attempt, deadline, ops: ops.map(doubtOf) }),
        late: lateness,
        session: true,
      })
      .then(
        (reply) => {
          let results: Array<Outcome | SpendGuardError> | undefined;
          try {
            results = decodeResults(reply, ops);
          } catch (err) {
            done();
            for (const p of batch) p.reject(err);
            return;
          }
          done();
          for (let i = 0; i < batch.length; i++) {
            const r = results[i] as Outcome | SpendGuardError;
            const p = batch[i] as Pending;
            if (r instanceof Error) p.reject(r);
            else p.resolve(r);
          }
        },
        (err: unknown) => {
          done();
          for (const p of batch) p.reject(err);
        },
      );
  }
}

function lateness(reply: Reply): 'known' | 'unknown' | 'ran' | false {
  const status = reply[1];
  if (status === 1) return false;
  if (status === 3) return 'ran';
  return reply[2] === 1 ? 'known' : 'unknown';
}
