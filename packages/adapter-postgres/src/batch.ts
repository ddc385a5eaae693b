// The batch function's wire format (sql/functions/batch.sql): calls tagged by kind ('c' charge, 's'
// settle, 'l' lease, 'r' read, 'o' observe) over one ref table per batch, answered with one JSON result
// each in the SPI's own shapes. Expiry and retention run on the server's clock (see the batch function);
// each call carries its caller's `now` only for the grants, which count by the caller's clock as periods
// do. A charge's `overage` is its note for the feed (fact_for, sql/functions/feed.sql). A new kind of
// call adds a tag here and a branch in the function.
import type {
  ChargeOutcome,
  ChargeRequest,
  InstanceRef,
  InstanceTotals,
  LeaseItem,
  SettleOutcome,
  SettleRequest,
} from '@spendguard/core/adapter';
import { storedJson } from './stored-text.js';

export type Op =
  | { kind: 'charge'; req: ChargeRequest }
  | { kind: 'settle'; req: SettleRequest }
  | { kind: 'lease'; item: LeaseItem; expireMs: number; now: number }
  | { kind: 'read' | 'observe'; refs: readonly InstanceRef[]; now: number };

/** The caller's clock of an op. */
export const nowOf = (op: Op): number => ('req' in op ? op.req.now : op.now);

/** One slice's part of a lease step. */
export interface LeaseItemOutcome {
  slice: number;
  totals: InstanceTotals | null;
}

export type Outcome = ChargeOutcome | SettleOutcome | LeaseItemOutcome | Array<InstanceTotals | null>;

/**
 * The ops and their refs as two JSON arguments. A ref object shared by several calls is sent once: the
 * core reuses an instance's ref while its period and day last.
 */
export function encodeOps(ops: readonly Op[]): { ops: string; refs: string } {
  const index = new Map<InstanceRef, number>();
  const table: string[] = [];
  const refAt = (ref: InstanceRef): number => {
    let at = index.get(ref);
    if (at === undefined) {
      at = table.push(refJson(ref)) - 1;
      index.set(ref, at);
    }
    return at;
  };
  const encoded = ops.map((op) => {
    switch (op.kind) {
      case 'charge': {
        const r = op.req;
        return {
          t: 'c',
          now: r.now,
          reserve: r.kind === 'reserve',
          id: r.callId,
          amount: r.amount,
          // A forecast claim is checked against no limit, and its note reaches the fact as `forecast` (fact_for).
          force: r.force === true || r.forecast === true, // a forecast claim: checked on entry (a reservation of 0)
          ttl: r.ttlMs ?? 0,
          key: r.idempotencyKey ?? null,
          overage: r.force && r.overage ? r.overage : r.forecast ? { forecast: { at: r.now } } : null,
          refs: r.instances.map(refAt),
        };
      }
      case 'settle': {
        const r = op.req;
        return r.action === 'commit'
          ? { t: 's', now: r.now, commit: true, rid: r.reservationId, amount: r.amount, spend: r.spendId }
          : { t: 's', now: r.now, commit: false, rid: r.reservationId, amount: 0, spend: null };
      }
      case 'lease': {
        const { item } = op;
        return {
          t: 'l',
          now: op.now,
          id: item.id,
          spent: item.spent,
          want: item.want,
          min: item.min,
          expire: op.expireMs,
          ref: refAt(item.ref),
        };
      }
      default:
        return { t: op.kind === 'read' ? 'r' : 'o', now: op.now, refs: op.refs.map(refAt) };
    }
  });
  return { ops: storedJson(encoded), refs: `[${table.join(',')}]` };
}

/**
 * Refs are immutable and reused while their period and day last: each is encoded once (stored-text.ts),
 * whole, so `rollover` (max, previous) goes with it.
 */
const encodedRefs = new WeakMap<InstanceRef, string>();
function refJson(ref: InstanceRef): string {
  let json = encodedRefs.get(ref);
  if (json === undefined) {
    json = storedJson(ref);
    encodedRefs.set(ref, json);
  }
  return json;
}
