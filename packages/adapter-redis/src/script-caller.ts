// Calling the scripts: one round trip each, failing with STORE_UNAVAILABLE after commandTimeoutMs.
// A recording call carries a deadline in the server's clock, past which the script changes nothing;
// a recording call whose answer the caller did not get is in doubt, and is cancelled before any other
// script call (in-doubt.ts, lua/cancel.lua).
import { randomBytes } from 'node:crypto';
import { SpendGuardError } from '@spendguard/core';
import type { Cluster, Redis } from 'ioredis';
import { type CancelResult, cancelRequest, type Doubt, describeDoubt } from './in-doubt.js';
import type { KeyName, Keys } from './keys.js';
import type { ScriptName } from './scripts.js';
import { monotonic, ServerClock } from './server-clock.js';

export type Reply = unknown[];
type Arg = string | number | Buffer;

const DOWN = new Set(['end', 'close', 'reconnecting']);
/** Answered batches whose session entries are deleted together, by the batch that carries them. */
const ACK_BATCH = 16;

/** What a recording call's session part carries: the session's time to live when due, and answered batches. */
export interface SessionArgs {
  /** Session ttl ms to set, or 0 (no refresh due). */
  refresh: number;
  /** Attempts of answered batches whose session entries can go. */
  acks: string[];
}

/**
 * How a reply says the server ran the call after its deadline (so this copy changed nothing): 'known'
 * when it also says that no earlier copy ran, 'unknown' when it cannot tell, 'ran' when an earlier copy
 * of this very request ran (its answer was lost: it must be cancelled); false when the call was in time.
 */
export type Late = 'known' | 'unknown' | 'ran' | false;

export interface RecordingCall {
  script: ScriptName;
  keys: KeyName[];
  /** The arguments, given this try's attempt token, deadline (server ms) and, for a session call, its session part. */
  args(attempt: string, deadline: number, session: SessionArgs | undefined): Arg[];
  /** What must be cancelled if the answer is not seen; undefined: nothing to cancel (a limit write). */
  doubt?(attempt: string, deadline: number): Doubt;
  late(reply: Reply): Late;
  /** A batch: it claims an entry in the session (acknowledged once its answer is seen) and keeps the session alive. */
  session?: boolean;
}

export interface ScriptCallerOptions {
  timeoutMs: number;
  /** How long feed facts are kept: a cancel writes the fact of a crossing it undoes. */
  eventRetentionMs(): number;
  /** How long the session (this adapter's entries for calls whose answer it has not seen) lives without a refresh. */
  sessionTtlMs: number;
}

export class ScriptCaller {
  readonly clock = new ServerClock();
  readonly session: KeyName;
  /** Between a call's deadline and the moment the caller gives up on it: covers timer and clock jitter. */
  private readonly margin: number;
  private readonly doubts = new Set<Doubt>();
  private resolving: Promise<void> | undefined;
  private opening: Promise<void> | undefined;
  private attempts = 0;
  private acks: string[] = [];
  private nextRefresh = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly client: Redis | Cluster,
    private readonly scripts: Record<ScriptName, string>,
    private readonly keys: Keys,
    private readonly options: ScriptCallerOptions,
  ) {
    this.session = keys.session(randomBytes(9).toString('base64url'));
    this.margin = Math.min(250, Math.max(5, Math.floor(options.timeoutMs / 10)));
  }

  /** How many failed calls wait for a cancel. */
  get inDoubt(): number {
    let n = 0;
    for (const d of this.doubts) n += d.ops.length;
    return n;
  }

  /** A script that records nothing, after every call in doubt was cancelled. */
  async read(script: ScriptName, keys: KeyName[], args: Arg[]): Promise<Reply> {
    if (!this.clock.known || this.doubts.size > 0) await this.ready(script);
    return await this.raw(script, keys, args).reply;
  }

  /** A recording script with a deadline; if its answer is not seen, it is in doubt until cancelled. */
  async record(call: RecordingCall): Promise<Reply> {
    if (!this.clock.known || this.doubts.size > 0) await this.ready(call.script);
    const attempt = (++this.attempts).toString(36);
    const sentAt = monotonic();
    const deadline = this.clock.serverAt(sentAt) + this.options.timeoutMs - this.margin;
    const refresh = call.session && sentAt >= this.nextRefresh ? this.options.sessionTtlMs : 0;
    const acks = call.session && this.acks.length >= ACK_BATCH ? this.acks.splice(0) : [];
    const args = call.args(attempt, deadline, call.session ? { refresh, acks } : undefined);
    let sent: { reply: Promise<Reply>; sent: Promise<Reply> };
    try {
      sent = this.raw(call.script, call.keys, args);
    } catch (err) {
      this.acks.push(...acks); // nothing was sent
      throw err;
    }
    let answered = false;
    // Built only when the answer is not seen (or says the request ran before): most calls never need it.
    let doubt: Doubt | undefined;
    sent.sent.then(
      (r) => {
        // The answer came after the caller gave up. Ran too late, and no earlier copy ran: nothing to cancel.
        if (!answered && doubt && call.late(r) === 'known') this.doubts.delete(doubt);
      },
      () => {},
    );
    let reply: Reply;
    try {
      reply = await sent.reply;
    } catch (err) {
      doubt = call.doubt?.(attempt, deadline);
      if (doubt) this.doubts.add(doubt);
      this.acks.push(...acks);
      throw err;
    }
    answered = true;
    if (refresh > 0) this.nextRefresh = sentAt + this.options.sessionTtlMs / 4;
    const late = call.late(reply);
    if (late === 'ran') {
      // A resend of this very request after its first answer was lost: what the first copy did is cancelled.
      doubt = call.doubt?.(attempt, deadline);
      if (doubt) this.doubts.add(doubt);
      throw unavailable(
        `Redis had already run this ${call.script} (its first answer was lost); it will be cancelled before the next call, so nothing stays recorded. Retry.`,
      );
    }
    if (late) {
      throw unavailable(
        `Redis ran ${call.script} after its deadline (${this.options.timeoutMs} ms after it was sent); nothing was recorded. Retry.`,
      );
    }
    if (call.session) this.acks.push(attempt); // its session entry can go: the answer was seen
    return reply;
  }

  /**
   * Cancels every call in doubt (close()): waits for fenced ones' deadlines to clear their fences, and
   * throws, naming them, if Redis does not answer. A call still fenced after that cannot run any more.
   */
  async settleDoubts(): Promise<void> {
    for (let i = 0; i < 3 && this.doubts.size > 0; i++) {
      const wait = Math.max(0, ...[...this.doubts].map((d) => this.clock.localAt(d.deadline) + this.margin - monotonic()));
      if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, this.options.timeoutMs)));
      try {
        await this.resolve([...this.doubts]);
      } catch (err) {
        const which = [...this.doubts].map(describeDoubt).join(', ');
        throw unavailable(
          `Redis did not answer, so these failed calls may stay recorded: ${which}. Retry close() when Redis is back.`,
          err,
        );
      }
    }
  }

  /** Before any script call: the clock offset is known, and every call in doubt was cancelled. */
  private async ready(what: ScriptName): Promise<void> {
    if (!this.clock.known) {
      this.opening ??= this.openSession(what).finally(() => {
        this.opening = undefined;
      });
      await this.opening;
    }
    for (;;) {
      // A fenced call cannot run any more; its fence is cleared once its deadline has passed.
      const due = [...this.doubts].filter((d) => !d.fenced || monotonic() > this.clock.localAt(d.deadline) + this.margin);
      if (due.length === 0) return;
      this.resolving ??= this.resolve(due).finally(() => {
        this.resolving = undefined;
      });
      await this.resolving;
    }
  }

  private async openSession(what: ScriptName): Promise<void> {
    const sentAt = monotonic();
    await this.raw('clock', [this.session], [this.options.sessionTtlMs], what).reply;
    this.nextRefresh = sentAt + this.options.sessionTtlMs / 4;
  }

  private async resolve(batch: Doubt[]): Promise<void> {
    const { keys, doubts } = cancelRequest(this.session, this.keys.holds, batch);
    const reply = await this.raw('cancel', keys, [this.keys.prefix, doubts, this.options.eventRetentionMs()]).reply;
    batch.forEach((d, i) => {
      const result = reply[i + 1] as CancelResult;
      if (result === 'fenced') d.fenced = true;
      else this.doubts.delete(d);
      if (result === 'lost') {
        this.nextRefresh = Number.NEGATIVE_INFINITY;
        process.emitWarning(
          `spendguard: Redis could not be reached for longer than resendWindowMs, so whether the failed ${describeDoubt(d)} ran cannot be told; if it ran, it stays recorded.`,
          { code: 'SPENDGUARD_IN_DOUBT' },
        );
      }
    });
  }

  /**
   * Sends one script; throws at once while the client is known to be down (nothing is sent then). `reply`
   * fails after `timeoutMs` without an answer; `sent` is the client's own promise, settled whenever
   * Redis answers. Replies of every script but `limits` start with the server's time.
   */
  private raw(script: ScriptName, keys: KeyName[], args: Arg[], what: string = script): { reply: Promise<Reply>; sent: Promise<Reply> } {
    if (DOWN.has(this.client.status)) {
      throw unavailable(`Redis is not connected (${this.client.status}); nothing was recorded for ${what}. Retry when it is back.`);
    }
    const command = (this.client as unknown as Record<string, (...a: unknown[]) => Promise<Reply>>)[this.scripts[script]];
    const sent = (command as (...a: unknown[]) => Promise<Reply>).call(this.client, keys.length, ...keys, ...args);
    if (script !== 'limits') {
      sent.then(
        (r) => this.clock.sample(Number(r[0]), monotonic()),
        () => {},
      );
    }
    return { reply: this.timed(what, sent), sent };
  }

  /** A plain command (a read), failing fast while the client is down and after `timeoutMs`. */
  command<T>(what: string, call: () => Promise<T>): Promise<T> {
    if (DOWN.has(this.client.status)) {
      return Promise.reject(unavailable(`Redis is not connected (${this.client.status}); ${what} failed. Retry when it is back.`));
    }
    return this.timed(what, call());
  }

  private timed<T>(what: string, sent: Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    return Promise.race([
      sent,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(unavailable(`Redis did not answer ${what} within ${this.options.timeoutMs} ms; retry when it is back.`)),
          this.options.timeoutMs,
        );
      }),
    ])
      .catch((err: unknown) => {
        if (err instanceof SpendGuardError) throw err;
        throw unavailable(`Redis failed on ${what}: ${(err as Error).message}`, err);
      })
      .finally(() => clearTimeout(timer));
  }
}

function unavailable(message: string, cause?: unknown): SpendGuardError {
  return new SpendGuardError('STORE_UNAVAILABLE', message, cause === undefined ? undefined : { cause });
}
