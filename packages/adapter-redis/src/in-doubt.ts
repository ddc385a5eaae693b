// Calls in doubt: sent to Redis, but the adapter gave up on them (or lost the connection) before their
// answer came. Each is cancelled (undone if it ran, fenced off if it could still arrive) before any
// other script call, so that a call that threw never stays recorded.
import type { InstanceRef } from '@spendguard/core/adapter';
import type { KeyName } from './keys.js';
import { encodeRef } from './replies.js';

export type Doubt =
  | {
      kind: 'charge';
      callId: string;
      attempt: string;
      /** Server ms after which the call is a no-op. */
      deadline: number;
      amount: number;
      reserve: boolean;
      refs: readonly InstanceRef[];
      reservationKey: KeyName;
      idempotencyKey?: KeyName;
      /** Fenced off by a cancel before its deadline: one more cancel after it clears the fence. */
      fenced?: boolean;
    }
  | { kind: 'settle'; reservationId: string; attempt: string; deadline: number; reservationKey: KeyName; fenced?: boolean };

export type CancelResult = 'undone' | 'absent' | 'fenced' | 'lost';

/** The cancel script's KEYS and doubts argument for a batch. */
export function cancelRequest(session: KeyName, holds: KeyName, batch: readonly Doubt[]): { keys: KeyName[]; doubts: string } {
  const keys: KeyName[] = [session, holds];
  const slot = (key: KeyName) => keys.push(key);
  const doubts = batch.map((d) =>
    d.kind === 'charge'
      ? {
          t: 'c',
          id: d.callId,
          at: d.attempt,
          dl: d.deadline,
          a: d.amount,
          rv: d.reserve ? 1 : 0,
          refs: d.refs.map(encodeRef),
          rk: d.reserve ? slot(d.reservationKey) : 0,
          ik: d.idempotencyKey === undefined ? 0 : slot(d.idempotencyKey),
        }
      : { t: 's', id: d.reservationId, at: d.attempt, dl: d.deadline, rk: slot(d.reservationKey) },
  );
  return { keys, doubts: JSON.stringify(doubts) };
}

/** Whom a doubt concerns, for messages. */
export function describeDoubt(d: Doubt): string {
  return d.kind === 'charge' ? `${d.reserve ? 'reserve' : 'spend'} ${d.callId}` : `settle of ${d.reservationId}`;
}
