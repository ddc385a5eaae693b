// Batches in doubt: sent to Redis, but the adapter gave up on them (or lost the connection) before their
// answer came. Each is cancelled (what it ran undone, fenced off if it could still arrive) before any
// other script call, so that a call that threw never stays recorded.
import type { InstanceRef } from '@spendguard/core/adapter';
import type { KeyName } from './keys.js';
import { encodeRef } from './replies.js';

/** One operation of a batch in doubt, as the cancel must know it to undo it. */
export type DoubtOp =
  | {
      kind: 'charge';
      callId: string;
      amount: number;
      reserve: boolean;
      refs: readonly InstanceRef[];
      reservationKey?: KeyName;
      idempotencyKey?: KeyName;
    }
  | { kind: 'settle'; reservationId: string; reservationKey: KeyName }
  /** A lease step: idempotent (its slice's total spend is sent whole), so a cancel leaves it. */
  | { kind: 'lease'; id: string }
  /**
   * A forecast claim: idempotent by its key (the guard sends it again with the same id), so a cancel
   * leaves it, with the fact it wrote: undone, the next claim would write the alert into the feed again.
   */
  | { kind: 'claim'; callId: string };

export interface Doubt {
  /** The batch's attempt: its entry in the session, and the 'by' of the reservations it settled. */
  attempt: string;
  /** Server ms after which the batch is a no-op. */
  deadline: number;
  /** In the batch's order (the session entry holds one code per operation). */
  ops: readonly DoubtOp[];
  /** Fenced off by a cancel before its deadline: one more cancel after it clears the fence. */
  fenced?: boolean;
}

export type CancelResult = 'undone' | 'absent' | 'fenced' | 'lost';

/** The cancel script's KEYS and doubts argument for some batches. */
export function cancelRequest(session: KeyName, holds: KeyName, batch: readonly Doubt[]): { keys: KeyName[]; doubts: string } {
  const keys: KeyName[] = [session, holds];
  const slot = (key: KeyName | undefined) => (key === undefined ? 0 : keys.push(key));
  const doubts = batch.map((d) => ({
    b: d.attempt,
    dl: d.deadline,
    ops: d.ops.map((op) =>
      op.kind === 'lease' || op.kind === 'claim'
        ? { t: 'l', id: op.kind === 'lease' ? op.id : op.callId }
        : op.kind === 'charge'
          ? {
              t: 'c',
              id: op.callId,
              a: op.amount,
              rv: op.reserve ? 1 : 0,
              refs: op.refs.map(encodeRef),
              rk: op.reserve ? slot(op.reservationKey) : 0,
              ik: slot(op.idempotencyKey),
            }
          : { t: 's', id: op.reservationId, rk: slot(op.reservationKey) },
    ),
  }));
  return { keys, doubts: JSON.stringify(doubts) };
}

/** Whom a batch in doubt concerns, for messages. */
export function describeDoubt(d: Doubt): string {
  return d.ops
    .map((op) =>
      op.kind === 'lease'
        ? `lease step of ${op.id}`
        : op.kind === 'claim'
          ? `forecast claim ${op.callId}`
          : op.kind === 'charge'
            ? `${op.reserve ? 'reserve' : 'spend'} ${op.callId}`
            : `settle of ${op.reservationId}`,
    )
    .join(', ');
}
