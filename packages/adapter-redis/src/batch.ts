// The batch script's wire format (lua/batch.lua): operations tagged by kind ('c' charge, 's' settle, 'l' lease) over
// one ref table per batch, and the flat reply read back into one outcome per operation. A new kind of
// operation adds a tag here and a branch in the script; the batch around it stays as it is.
import { SpendGuardError } from '@spendguard/core';
import type {
  ChargeOutcome,
  ChargeRequest,
  InstanceRef,
  InstanceTotals,
  LeaseItem,
  SettleOutcome,
  SettleRequest,
} from '@spendguard/core/adapter';
import type { DoubtOp } from './in-doubt.js';
import type { KeyName } from './keys.js';
import { decodeStoredRef, encodeRef } from './replies.js';

export type Op =
  | { kind: 'charge'; req: ChargeRequest; reservationKey?: KeyName; idempotencyKey?: KeyName }
  | { kind: 'settle'; req: SettleRequest; reservationKey: KeyName }
  | { kind: 'lease'; item: LeaseItem; now: number; expireMs: number };

/** One slice's part of a lease step. */
export interface LeaseItemOutcome {
  slice: number;
  totals: InstanceTotals | null;
}

export type Outcome = ChargeOutcome | SettleOutcome | LeaseItemOutcome;

/** Where the operations' keys start among the arguments (ARGV index, 1-based), after `acks` acks. */
export const keysAt = (acks: number): number => 11 + acks;

/**
 * The refs table and operations as two JSON arguments, and the keys they name (appended to the
 * arguments from `firstKey` on). A ref object shared by several operations is sent once: the core
 * reuses an instance's ref while its period and day last.
 */
export function encodeOps(ops: readonly Op[], firstKey: number): { refs: string; ops: string; keys: KeyName[] } {
  const index = new Map<InstanceRef, number>();
  const table: string[] = [];
  const keys: KeyName[] = [];
  const key = (k: KeyName | undefined): number => (k === undefined ? 0 : firstKey + keys.push(k) - 1);
  const refAt = (ref: InstanceRef): number => {
    let at = index.get(ref);
    if (at === undefined) {
      at = table.push(refJson(ref));
      index.set(ref, at);
    }
    return at;
  };
  const encoded = ops.map((op) => {
    if (op.kind === 'lease') {
      const { item } = op;
      return ['l', item.id, item.spent, item.want, item.min, op.expireMs, refAt(item.ref), op.now];
    }
    if (op.kind === 'settle') {
      const r = op.req;
      return r.action === 'commit'
        ? ['s', 1, r.reservationId, r.amount, r.spendId, key(op.reservationKey), r.now]
        : ['s', 0, r.reservationId, 0, '', key(op.reservationKey), r.now];
    }
    const r = op.req;
    const out: Array<string | number | [string, number, number]> = [
      'c',
      r.kind === 'reserve' ? 1 : 0,
      r.callId,
      r.amount,
      r.force || r.forecast ? 1 : 0, // a forecast claim (checked on entry: a reservation of 0) against no limit
      r.ttlMs ?? 0,
      key(op.idempotencyKey),
      r.kind === 'reserve' ? key(op.reservationKey) : 0,
      r.force && r.overage ? [r.overage.reservationId, r.overage.reserved, r.overage.actual] : r.forecast ? 'forecast' : 0,
      r.now,
    ];
    for (const ref of r.instances) out.push(refAt(ref));
    return out;
  });
  return { refs: `[${table.join(',')}]`, ops: JSON.stringify(encoded), keys };
}

/** Refs are immutable and reused while their period and day last: each is encoded once. */
const encodedRefs = new WeakMap<InstanceRef, string>();
function refJson(ref: InstanceRef): string {
  let json = encodedRefs.get(ref);
  if (json === undefined) {
    json = JSON.stringify(encodeRef(ref));
    encodedRefs.set(ref, json);
  }
  return json;
}

/** What the cancel needs to know of an operation, should its batch's answer be lost. */
export function doubtOf(op: Op): DoubtOp {
  // A lease step sends what its slice spent in total: sent again, it counts once; nothing to undo.
  if (op.kind === 'lease') return { kind: 'lease', id: op.item.id };
  if (op.kind === 'settle') return { kind: 'settle', reservationId: op.req.reservationId, reservationKey: op.reservationKey };
  if (op.req.forecast) return { kind: 'claim', callId: op.req.callId };
  const d: DoubtOp = {
    kind: 'charge',
    callId: op.req.callId,
    amount: op.req.amount,
    reserve: op.req.kind === 'reserve',
    refs: op.req.instances,
  };
  if (op.reservationKey !== undefined) d.reservationKey = op.reservationKey;
  if (op.idempotencyKey !== undefined) d.idempotencyKey = op.idempotencyKey;
  return d;
}

/**
 * The outcomes of an in-time batch reply (`{ now, 1, result… }`), one per operation in order; an
 * operation that a cancel fenced off before it arrived gets an error (it recorded nothing).
 */
export function decodeResults(reply: unknown[], ops: readonly Op[]): Array<Outcome | SpendGuardError> {
  const out: Array<Outcome | SpendGuardError> = new Array(ops.length);
  let i = 2;
  for (let n = 0; n < ops.length; n++) {
    const op = ops[n] as Op;
    if (op.kind === 'lease') {
      const slice = reply[i++] as number;
      const totals: Array<InstanceTotals | null> = [null];
      i = readTotals(reply, i, [op.item.ref], totals);
      const t = totals[0] ?? null;
      if (t) {
        const leased = reply[i++] as number;
        if (leased !== 0) t.leased = leased;
      }
      out[n] = { slice, totals: t };
      continue;
    }
    const status = reply[i++] as number;
    if (op.kind === 'charge') {
      const count = op.req.instances.length;
      if (status === 0) {
        const refusedAt = reply[i] as number;
        const reason = reply[i + 1] === 1 ? 'no_budget' : 'limit_exceeded';
        const totals: Array<InstanceTotals | null> = new Array(count);
        i = readTotals(reply, i + 2, op.req.instances, totals);
        out[n] = { ok: false, refusedAt, reason, totals };
        continue;
      }
      let callId = op.req.callId;
      let replayed = false;
      let expiresAt = 0;
      if (status === 3) {
        callId = String(reply[i]);
        expiresAt = reply[i + 1] as number;
        replayed = true;
        i += 2;
      } else if (op.req.kind === 'reserve') {
        expiresAt = reply[i++] as number;
      }
      const totals: Array<InstanceTotals | null> = new Array(count);
      i = readTotals(reply, i, op.req.instances, totals);
      const o: ChargeOutcome = { ok: true, callId, replayed, totals };
      if (op.req.kind === 'reserve') o.expiresAt = expiresAt;
      out[n] = o;
      continue;
    }
    if (status === 1) {
      const reserved = reply[i] as number;
      const expired = reply[i + 1] === 1;
      const stored = JSON.parse(String(reply[i + 2])) as Array<Parameters<typeof decodeStoredRef>[0]> | Record<string, never>;
      const instances = Array.isArray(stored) ? stored.map(decodeStoredRef) : []; // cjson writes [] as {}
      const totals: Array<InstanceTotals | null> = new Array(instances.length);
      i = readTotals(reply, i + 3, instances, totals);
      out[n] = { status: 'applied', reserved, expired, instances, totals };
    } else if (status === 5) {
      out[n] = { status: 'unknown' };
    } else if (status === 6) {
      out[n] = { status: 'released_before' };
    } else if (status === 7) {
      out[n] = {
        status: 'committed_before',
        spendId: String(reply[i]),
        actual: reply[i + 1] as number,
        reserved: reply[i + 2] as number,
        expired: reply[i + 3] === 1,
      };
      i += 4;
    } else {
      out[n] = new SpendGuardError(
        'STORE_UNAVAILABLE',
        `Redis ran the settle of ${op.req.reservationId} after it was cancelled; nothing was recorded. Retry.`,
      );
    }
  }
  return out;
}

/** The totals of `refs` from `reply` at `i` into `into`; returns the next position. */
function readTotals(reply: unknown[], i: number, refs: readonly InstanceRef[], into: Array<InstanceTotals | null>): number {
  for (let n = 0; n < refs.length; n++) {
    const flag = reply[i++];
    if (flag === 0) {
      into[n] = null;
      continue;
    }
    const t: InstanceTotals = {
      limit: reply[i] as number,
      limitBefore: reply[i + 1] as number,
      used: reply[i + 2] as number,
      usedBefore: reply[i + 3] as number,
      reserved: reply[i + 4] as number,
      dayUsed: reply[i + 5] as number,
    };
    i += 6;
    if (flag === 2) {
      t.previous = { period: String(reply[i]), used: reply[i + 1] as number };
      const limit = reply[i + 2] as number; // -1: the previous record never had a level derived
      if (limit >= 0) t.previous.limit = limit;
      i += 3;
    }
    if ((refs[n] as InstanceRef).rollover) t.carried = reply[i++] as number;
    into[n] = t;
  }
  return i;
}
